"""Drawdowns of an equity path: the underwater series and its episodes.

Definitions (the README quotes them):

* The path starts at the initial capital one bar before the first bar, so a loss on the very first
  bar is a drawdown from the capital the account started with.
* Drawdown at t = ``equity_t / max(initial, equity_0..t) - 1`` (<= 0); ``max_drawdown_pct`` is its
  largest magnitude, reported as a positive percentage (46.0 means the equity fell 46% below its peak,
  unrealised PnL included because the equity is marked to market every bar).
* A drawdown *episode* runs from a peak to the first bar whose equity is back at or above that peak
  (the recovery), or to the last bar when it never recovers. Its duration is recovery (or last bar)
  minus the peak's timestamp. ``max_drawdown_duration_hours`` is the longest episode, which need not be
  the deepest one.

>>> import pandas as pd
>>> idx = pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC")
>>> eq = pd.Series([100.0, 80.0, 90.0, 100.0, 95.0], index=idx)
>>> ep = drawdown_episodes(eq, initial=100.0)
>>> ep[["depth_pct", "duration_hours", "recovered"]].round(9).values.tolist()
[[20.0, 3.0, True], [5.0, 1.0, False]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from multifolio.analytics.returns import check_equity, infer_freq

_REL_TOL = 1e-12  # float noise in the ledger must not open a drawdown episode
_EPISODE_COLUMNS = ["peak_time", "trough_time", "recovery_time", "end_time", "peak_equity",
                    "trough_equity", "depth_pct", "duration_hours", "recovered"]


def _path(equity: pd.Series, initial: float | None,
          freq: pd.Timedelta | None) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Values and times of the path, with the initial capital prepended one bar before the start."""
    values = equity.to_numpy(dtype=float)
    times = pd.DatetimeIndex(equity.index)
    if initial is None or len(values) == 0:
        return values, times
    f = infer_freq(times, freq) or pd.Timedelta(0)
    return np.concatenate([[float(initial)], values]), times.insert(0, times[0] - f)


def _drawdown_pct(values: np.ndarray, initial: float | None) -> np.ndarray:
    """Drawdown per bar in % below the running peak (which starts at ``initial`` when given)."""
    peak = np.maximum.accumulate(values) if len(values) else values
    if initial is not None and len(values):
        peak = np.maximum(peak, float(initial))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak > 0, values / peak - 1.0, 0.0) * 100.0


def drawdown_series(equity: pd.Series, initial: float | None = None) -> pd.Series:
    """Drawdown per bar in % (0 at a new high, -20.0 when 20% below the running peak).

    With ``initial`` the running peak starts at the initial capital.
    """
    check_equity(equity, "drawdown_series")
    return pd.Series(_drawdown_pct(equity.to_numpy(dtype=float), initial), index=equity.index,
                     name="drawdown_pct")


def max_drawdown_pct(equity: pd.Series, initial: float | None = None) -> float:
    """Largest drawdown as a positive percentage (0.0 for a path that never falls)."""
    dd = drawdown_series(equity, initial)
    return float(-dd.min()) if len(dd) else 0.0


@dataclass(frozen=True)
class _Episodes:
    """The drawdown episodes of a path, one entry per episode in time order: positions into the path of
    the ``peak`` (the bar before the fall), the ``trough`` (first lowest bar) and the ``end`` (the
    recovery bar, or the last bar when not ``recovered``), and the figures derived from them."""

    peak: np.ndarray
    trough: np.ndarray
    end: np.ndarray
    recovered: np.ndarray
    depth_pct: np.ndarray
    duration_hours: np.ndarray


def _episodes(values: np.ndarray, times: pd.DatetimeIndex) -> _Episodes:
    """The episodes of the path (``values`` at ``times``), found without a loop over them: a choppy
    equity curve has hundreds, and the metrics of every optimiser evaluation need them."""
    running_peak = np.maximum.accumulate(values) if len(values) else values
    under = values < running_peak * (1.0 - _REL_TOL)
    # runs of consecutive underwater bars: [starts[k], stops[k]) (starts >= 1: bar 0 is its own peak)
    padded = np.concatenate([[False], under, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, stops = edges[::2], edges[1::2]
    # each run's first lowest bar, looked up on the underwater bars laid end to end
    lengths = stops - starts
    below = values[under]
    run = np.repeat(np.arange(len(starts)), lengths)
    lowest = np.minimum.reduceat(below, np.cumsum(lengths) - lengths) if len(below) else below
    at_low = np.flatnonzero(below == lowest[run])
    _, first_low = np.unique(run[at_low], return_index=True)
    trough = np.flatnonzero(under)[at_low[first_low]]
    peak = starts - 1
    recovered = stops < len(values)
    end = np.where(recovered, stops, len(values) - 1)
    peak_value = values[peak]
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(peak_value > 0, (1.0 - values[trough] / peak_value) * 100.0, math.nan)
    duration = np.asarray((times[end] - times[peak]) / pd.Timedelta(hours=1), dtype=float)
    return _Episodes(peak=peak, trough=trough, end=end, recovered=recovered, depth_pct=depth,
                     duration_hours=duration)


def drawdown_episodes(equity: pd.Series, initial: float | None = None,
                      freq: pd.Timedelta | None = None) -> pd.DataFrame:
    """One row per drawdown episode, in time order.

    Columns: ``peak_time, trough_time, recovery_time`` (NaT when not recovered), ``end_time``
    (recovery or last bar), ``peak_equity, trough_equity, depth_pct`` (positive), ``duration_hours``
    (peak to end_time), ``recovered``. With ``initial``, a fall below the initial capital starts at
    one bar before the first bar (``freq`` or the index's median spacing).
    """
    check_equity(equity, "drawdown_episodes")
    values, times = _path(equity, initial, freq)
    ep = _episodes(values, times)
    if len(ep.peak) == 0:
        return pd.DataFrame(columns=_EPISODE_COLUMNS)
    # recovery times as objects: a column of NaT only (nothing recovered) infers its dtype as before
    recovery = [t if ok else pd.NaT for t, ok in zip(times[ep.end], ep.recovered, strict=True)]
    return pd.DataFrame({
        "peak_time": times[ep.peak], "trough_time": times[ep.trough],
        "recovery_time": recovery, "end_time": times[ep.end],
        "peak_equity": values[ep.peak], "trough_equity": values[ep.trough],
        "depth_pct": ep.depth_pct, "duration_hours": ep.duration_hours, "recovered": ep.recovered,
    }, columns=_EPISODE_COLUMNS)


def drawdown_summary(equity: pd.Series, initial: float | None = None,
                     freq: pd.Timedelta | None = None) -> dict[str, Any]:
    """Deepest and longest drawdown: ``max_drawdown_pct``, its peak/trough/recovery times and
    ``deepest_drawdown_duration_hours`` (that episode's peak to recovery or last bar),
    ``max_drawdown_duration_hours`` (the longest episode, deepest or not), ``longest_drawdown_peak_time``
    and ``time_underwater_pct`` (share of bars below the running peak)."""
    check_equity(equity, "drawdown_summary")
    values, times = _path(equity, initial, freq)
    ep = _episodes(values, times)
    out: dict[str, Any] = {
        "max_drawdown_pct": 0.0, "max_drawdown_peak_time": None, "max_drawdown_trough_time": None,
        "max_drawdown_recovery_time": None, "max_drawdown_duration_hours": 0.0,
        "deepest_drawdown_duration_hours": 0.0,
        "longest_drawdown_peak_time": None, "time_underwater_pct": 0.0,
    }
    if len(ep.peak) == 0:
        return out
    deep = int(np.nanargmax(ep.depth_pct))            # the first of equally deep ones
    longest = int(np.argmax(ep.duration_hours))
    dd = _drawdown_pct(equity.to_numpy(dtype=float), initial)
    out.update({
        "max_drawdown_pct": float(ep.depth_pct[deep]),
        "max_drawdown_peak_time": times[ep.peak[deep]],
        "max_drawdown_trough_time": times[ep.trough[deep]],
        "max_drawdown_recovery_time": times[ep.end[deep]] if ep.recovered[deep] else None,
        "max_drawdown_duration_hours": float(ep.duration_hours[longest]),
        "deepest_drawdown_duration_hours": float(ep.duration_hours[deep]),
        "longest_drawdown_peak_time": times[ep.peak[longest]],
        "time_underwater_pct": float(np.mean(dd < -_REL_TOL * 100) * 100.0),
    })
    return out
