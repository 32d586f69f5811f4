"""Checks on the arrays handed to the engine; every error names the argument, symbol and timestamp."""

from __future__ import annotations

import numba as nb
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


@nb.njit(cache=True)
def _first_bad_flat(values: np.ndarray) -> int:
    """Flat position of the first value that is not NaN and not a finite positive number, or -1."""
    for i in range(values.shape[0]):
        v = values[i]
        if v != v:
            continue
        if not (v > 0.0) or v == np.inf:
            return i
    return -1


def first_bad_cell(values: np.ndarray, flat_check) -> tuple[int, int]:
    """Run a 1-D check over a 2-D array in its memory order (C or Fortran, no copy) -> (row, col)."""
    order = "F" if values.flags.f_contiguous and not values.flags.c_contiguous else "C"
    i = flat_check(values.ravel(order=order))
    if i < 0:
        return -1, -1
    t, j = np.unravel_index(i, values.shape, order=order)
    return int(t), int(j)


def check_prices(values: np.ndarray, name: str, symbols: list[str], index: pd.DatetimeIndex) -> None:
    """Prices must be finite and positive where present (NaN = no bar is allowed)."""
    t, j = first_bad_cell(values, _first_bad_flat)
    if t >= 0:
        raise ValueError(f"{name}: invalid price {values[t, j]!r} for {symbols[j]!r} at {index[t]} "
                         "(prices must be finite and > 0; use NaN for a missing bar)")


def infer_freq(index: pd.DatetimeIndex) -> pd.Timedelta | None:
    if len(index) < 2:
        return None
    values = (index.tz_convert(None) if index.tz is not None else index).to_numpy()
    steps = np.diff(values).astype("timedelta64[ns]").astype(np.int64)   # any datetime unit
    return pd.Timedelta(int(np.median(steps)), unit="ns")
