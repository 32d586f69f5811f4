"""Checks on the arrays handed to the engine; every error names the argument, symbol and timestamp."""

from __future__ import annotations

import numpy as np
import pandas as pd


def as_utc_index(index: pd.Index, name: str) -> pd.DatetimeIndex:
    """A sorted, unique DatetimeIndex in UTC (timezone-naive timestamps are taken as UTC)."""
    if not isinstance(index, pd.DatetimeIndex):
        try:
            index = pd.DatetimeIndex(pd.to_datetime(index))
        except (TypeError, ValueError):
            raise ValueError(f"{name} must have a DatetimeIndex, got {type(index).__name__}") from None
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise ValueError(f"{name} has a duplicate timestamp {dup}")
    if not index.is_monotonic_increasing:
        pos = int(np.argmax(np.diff(index.asi8) < 0)) + 1
        raise ValueError(f"{name} index is not sorted: {index[pos]} comes after {index[pos - 1]}")
    return index


def check_prices(values: np.ndarray, name: str, symbols: list[str], index: pd.DatetimeIndex) -> None:
    """Prices must be finite and positive where present (NaN = no bar is allowed)."""
    bad = ~np.isnan(values) & ~(np.isfinite(values) & (values > 0))
    if bad.any():
        t, j = np.argwhere(bad)[0]
        raise ValueError(f"{name}: invalid price {values[t, j]!r} for {symbols[j]!r} at {index[t]} "
                         "(prices must be finite and > 0; use NaN for a missing bar)")


def infer_freq(index: pd.DatetimeIndex) -> pd.Timedelta | None:
    if len(index) < 2:
        return None
    return pd.Timedelta(int(np.median(np.diff(index.asi8))), unit="ns")
