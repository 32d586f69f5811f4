"""Timeframe strings ("1m", "4h", "1d", "1w") and their conversion to durations.

The short ccxt-style spelling is canonical (it is what the candle store records and what exchanges
use); pandas spellings such as ``"4H"``, ``"15min"`` or ``"D"`` are accepted as well.

>>> parse_timeframe("4h")
Timedelta('0 days 04:00:00')
>>> format_timeframe(parse_timeframe("15min"))
'15m'
"""

from __future__ import annotations

import re

import pandas as pd

from multifolio.data.errors import MarketDataError

_UNITS = {
    "s": "s", "sec": "s", "second": "s", "seconds": "s",
    "m": "min", "min": "min", "t": "min", "minute": "min", "minutes": "min",
    "h": "h", "hour": "h", "hours": "h",
    "d": "D", "day": "D", "days": "D",
    "w": "W", "week": "W", "weeks": "W",
}
_PATTERN = re.compile(r"^\s*(\d+)?\s*([a-zA-Z]+)\s*$")

# Buckets start at this instant (a Monday), like DuckDB's time_bucket default, so that in-memory and
# SQL resampling give the same bars, including weekly ones.
BUCKET_ORIGIN = pd.Timestamp("2000-01-03", tz="UTC")


def parse_timeframe(timeframe: str | pd.Timedelta) -> pd.Timedelta:
    """A timeframe as a positive fixed duration; raises MarketDataError for an unknown spelling.

    Months ("1M") are refused: they are not a fixed duration and cannot be bucketed by arithmetic.
    """
    if isinstance(timeframe, pd.Timedelta):
        if timeframe <= pd.Timedelta(0):
            raise MarketDataError(f"timeframe must be positive, got {timeframe}")
        return timeframe
    match = _PATTERN.match(str(timeframe))
    if match is None:
        raise MarketDataError(f"unknown timeframe {timeframe!r}; use e.g. 1m, 5m, 15m, 1h, 4h, 1d, 1w")
    count = int(match.group(1) or 1)
    unit_text = match.group(2)
    unit = _UNITS.get(unit_text) or _UNITS.get(unit_text.lower())
    if unit_text == "M" or unit is None:
        raise MarketDataError(f"unknown timeframe {timeframe!r}; use e.g. 1m, 5m, 15m, 1h, 4h, 1d, 1w "
                              "(months are not a fixed duration)")
    if count <= 0:
        raise MarketDataError(f"timeframe must be positive, got {timeframe!r}")
    return pd.Timedelta(count, unit=unit) if unit != "W" else pd.Timedelta(weeks=count)


def format_timeframe(delta: pd.Timedelta) -> str:
    """The canonical short spelling of a duration ("1h", "4h", "1d", "90s")."""
    seconds = int(delta.total_seconds())
    if seconds <= 0 or pd.Timedelta(seconds=seconds) != delta:
        raise MarketDataError(f"timeframe must be a positive whole number of seconds, got {delta}")
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def canonical_timeframe(timeframe: str | pd.Timedelta) -> str:
    """Normalise any accepted spelling: ``canonical_timeframe("60min") == "1h"``."""
    return format_timeframe(parse_timeframe(timeframe))
