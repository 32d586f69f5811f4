"""Timeframe spellings."""

from __future__ import annotations

import pandas as pd
import pytest

from multifolio.data import MarketDataError, canonical_timeframe, parse_timeframe


@pytest.mark.parametrize("text, hours", [("1h", 1), ("4H", 4), ("60min", 1), ("1d", 24), ("D", 24),
                                         ("1w", 168), ("90m", 1.5), ("2 hours", 2)])
def test_parse(text: str, hours: float) -> None:
    assert parse_timeframe(text) == pd.Timedelta(hours=hours)


@pytest.mark.parametrize("text, canonical", [("60min", "1h"), ("240m", "4h"), ("24h", "1d"), ("7d", "1w"),
                                             ("90m", "90m"), ("30s", "30s")])
def test_canonical(text: str, canonical: str) -> None:
    assert canonical_timeframe(text) == canonical


@pytest.mark.parametrize("bad", ["1M", "7x", "", "h1", "0h", "-1h"])
def test_unknown(bad: str) -> None:
    with pytest.raises(MarketDataError, match="timeframe"):
        parse_timeframe(bad)
