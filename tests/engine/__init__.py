"""Engine test corpus: the reference ledger, hand-computed cases, properties and look-ahead checks."""
