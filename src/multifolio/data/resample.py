"""Resample MarketData to a coarser timeframe, vectorised over all assets at once.

Bars are grouped into buckets of the new timeframe starting at ``BUCKET_ORIGIN`` (Monday
2000-01-03 UTC, as DuckDB's ``time_bucket``), each labelled by its start. Per asset and bucket:
open = first present open, high = max, low = min, close = last present close, volume = sum, extra
fields = last present value. A bucket where an asset has no bar stays NaN (not tradable); buckets
with no bar at all are not created, and a partial last bucket is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from multifolio.data.errors import MarketDataError
from multifolio.data.timeframes import BUCKET_ORIGIN, format_timeframe, parse_timeframe

if TYPE_CHECKING:
    from multifolio.data.market_data import MarketData


def _first_last(a: np.ndarray, starts: np.ndarray, last: bool) -> np.ndarray:
    """First (or last) non-NaN value per bucket and column."""
    t = a.shape[0]
    rows = np.arange(t)[:, None]
    valid = ~np.isnan(a)
    if last:
        pick = np.maximum.reduceat(np.where(valid, rows, -1), starts, axis=0)
        found = pick >= 0
    else:
        pick = np.minimum.reduceat(np.where(valid, rows, t), starts, axis=0)
        found = pick < t
    out = np.take_along_axis(a, np.where(found, pick, 0), axis=0)
    out[~found] = np.nan
    return out


def _reduce(ufunc: np.ufunc, a: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """max/min/sum per bucket and column ignoring NaN; NaN where the bucket has no value."""
    fill = {np.fmax: -np.inf, np.fmin: np.inf, np.add: 0.0}[ufunc]
    missing = np.isnan(a)
    out = ufunc.reduceat(np.where(missing, fill, a), starts, axis=0)
    out[np.logical_and.reduceat(missing, starts, axis=0)] = np.nan
    return out


def resample(md: MarketData, timeframe: str | pd.Timedelta) -> MarketData:
    """``md`` on buckets of ``timeframe`` (e.g. ``"4h"``, ``"1d"``); see the module docstring.

    >>> from multifolio.data.synthetic import synthetic
    >>> h = synthetic(2, 48, freq="1h", seed=1)
    >>> d = resample(h, "1d")
    >>> d.n_bars, bool(d.high[0, 0] == h.high[:24, 0].max()), bool(d.close[1, 1] == h.close[-1, 1])
    (2, True, True)
    """
    from multifolio.data.market_data import MarketData

    step = parse_timeframe(timeframe)
    if md.freq is not None and step < md.freq:
        raise MarketDataError(f"cannot resample {format_timeframe(md.freq)} bars to the finer "
                              f"{format_timeframe(step)}")
    if md.n_bars == 0:
        return md
    origin, size = BUCKET_ORIGIN.value, step.value
    bucket = (md.index.asi8 - origin) // size
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    labels = pd.DatetimeIndex((bucket[starts] * size + origin).view("datetime64[ns]")).tz_localize("UTC")
    return MarketData(
        labels, md.symbols,
        open=_first_last(md.open, starts, last=False),
        high=_reduce(np.fmax, md.high, starts),
        low=_reduce(np.fmin, md.low, starts),
        close=_first_last(md.close, starts, last=True),
        volume=_reduce(np.add, md.volume, starts),
        fields={k: _first_last(v, starts, last=True) for k, v in md.fields.items()},
    )
