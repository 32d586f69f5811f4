"""Vectorised, causal indicators on T x N arrays (one column per asset).

Every function takes T x N float64 arrays (NaN = no bar) and returns a T x N array whose row t uses
rows <= t only, with NaN until the indicator is warm. Strategies compute them once in ``init(ctx)``
from ``ctx.data`` and index row ``ctx.bar`` in ``on_bar`` -- no per-bar recomputation.

>>> import numpy as np
>>> close = np.array([[1.0], [2.0], [3.0], [4.0]])
>>> sma(close, 2)[:, 0].tolist()
[nan, 1.5, 2.5, 3.5]
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pandas as pd

__all__ = ["sma", "true_range", "atr", "rolling_max", "first_valid_row", "forward_filled"]


def _as_2d(a: np.ndarray) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    return arr[:, None] if arr.ndim == 1 else arr


def _check_period(period: int) -> int:
    p = int(period)
    if p < 1:
        raise ValueError(f"period must be >= 1, got {period}")
    return p


def forward_filled(values: np.ndarray) -> np.ndarray:
    """``DataFrame.ffill()`` on a T x N array: each NaN takes the last value above it (none: stays NaN).

    >>> forward_filled(np.array([[np.nan, 1.0], [2.0, np.nan], [np.nan, 3.0]])).tolist()
    [[nan, 1.0], [2.0, 1.0], [2.0, 3.0]]
    """
    rows = np.where(np.isnan(values), 0, np.arange(len(values))[:, None])
    np.maximum.accumulate(rows, axis=0, out=rows)
    return values[rows, np.arange(values.shape[1])]


def sma(values: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average over the last ``period`` bars of each column.

    The value at t is NaN unless the ``period`` rows ending at t are all valid: a gap inside the window
    makes the average undefined rather than silently averaging fewer bars. pandas' rolling mean is used
    (compensated summation, so no drift on long series of large prices).
    """
    p = _check_period(period)
    arr = _as_2d(values)
    out = pd.DataFrame(arr).rolling(p, min_periods=p).mean().to_numpy()
    return out if np.ndim(values) == 2 else out[:, 0]


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """True range: max(high - low, |high - prev close|, |low - prev close|).

    The previous close is the last *known* close (gaps are skipped); on an asset's first bar the true
    range is high - low.
    """
    h, lo, c = _as_2d(high), _as_2d(low), _as_2d(close)
    prev = np.full(c.shape, np.nan)
    prev[1:] = forward_filled(c)[:-1]
    hl = h - lo
    with np.errstate(invalid="ignore"):
        tr = np.fmax(hl, np.fmax(np.abs(h - prev), np.abs(lo - prev)))
    # fmax ignores a NaN prev close (first bar) but must not invent a range on a bar that has none.
    tr[~np.isfinite(hl)] = np.nan
    return tr if np.ndim(close) == 2 else tr[:, 0]


@nb.njit(cache=True)
def _wilder_kernel(tr: np.ndarray, period: int) -> np.ndarray:  # pragma: no cover - numba
    n_bars, n_assets = tr.shape
    out = np.full((n_bars, n_assets), np.nan)
    for j in range(n_assets):
        count = 0
        acc = 0.0
        value = np.nan
        for t in range(n_bars):
            x = tr[t, j]
            if not np.isfinite(x):
                continue  # no bar: the average carries over, the row stays NaN
            if count < period:
                acc += x
                count += 1
                if count == period:
                    value = acc / period  # seeded with the simple mean of the first `period` ranges
                    out[t, j] = value
            else:
                value = (value * (period - 1) + x) / period
                out[t, j] = value
    return out


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int,
        method: str = "wilder") -> np.ndarray:
    """Average true range.

    ``method="wilder"`` (default): Wilder's smoothing, ATR_t = (ATR_{t-1} (n-1) + TR_t) / n, seeded with
    the simple mean of the first n true ranges (warm from an asset's n-th bar). ``method="simple"``: the
    simple moving average of the true range (``sma``). Bars without data are skipped by Wilder's average
    (its value carries to the next bar with data) and yield NaN at that row.

    >>> import numpy as np
    >>> h = np.array([2.0, 3.0, 4.0]); lo = np.array([1.0, 1.0, 1.0]); c = np.array([1.5, 2.5, 3.5])
    >>> atr(h, lo, c, 2).tolist()  # TR = 1, 2, 3 -> seed (1+2)/2 = 1.5 -> (1.5*1 + 3)/2 = 2.25
    [nan, 1.5, 2.25]
    """
    p = _check_period(period)
    tr = true_range(high, low, close)
    tr2 = _as_2d(tr)
    if method == "wilder":
        out = _wilder_kernel(np.ascontiguousarray(tr2), p)
    elif method == "simple":
        out = sma(tr2, p)
    else:
        raise ValueError(f"unknown ATR method {method!r}; use 'wilder' or 'simple'")
    return out if np.ndim(close) == 2 else out[:, 0]


def rolling_max(values: np.ndarray, period: int) -> np.ndarray:
    """Maximum over the last ``period`` rows (fewer at the start; NaNs ignored)."""
    p = _check_period(period)
    arr = _as_2d(values)
    out = pd.DataFrame(arr).rolling(p, min_periods=1).max().to_numpy()
    return out if np.ndim(values) == 2 else out[:, 0]


def first_valid_row(values: np.ndarray) -> np.ndarray:
    """Per column, the first row index holding a finite value (n_rows when there is none)."""
    arr = _as_2d(values)
    ok = np.isfinite(arr)
    first = ok.argmax(axis=0)
    first[~ok.any(axis=0)] = arr.shape[0]
    return first
