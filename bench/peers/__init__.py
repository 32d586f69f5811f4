"""Peer engines (vectorbt, bt, backtrader) driven by the same close and target-weight frames.

Every runner has the signature ``run(close, weights, *, cash, fees) -> pd.Series`` (total equity per bar,
on ``close.index``) so that the agreement check in ``bench/run.py`` compares equal inputs.
"""
