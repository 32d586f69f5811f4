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


def drawdown_series(equity: pd.Series, initial: float | None = None) -> pd.Series:
    """Drawdown per bar in % (0 at a new high, -20.0 when 20% below the running peak).

    With ``initial`` the running peak starts at the initial capital.
    """
    check_equity(equity, "drawdown_series")
    values = equity.to_numpy(dtype=float)
    peak = np.maximum.accumulate(values) if len(values) else values
    if initial is not None and len(values):
        peak = np.maximum(peak, float(initial))
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, values / peak - 1.0, 0.0) * 100.0
    return pd.Series(dd, index=equity.index, name="drawdown_pct")


def max_drawdown_pct(equity: pd.Series, initial: float | None = None) -> float:
    """Largest drawdown as a positive percentage (0.0 for a path that never falls)."""
    dd = drawdown_series(equity, initial)
    return float(-dd.min()) if len(dd) else 0.0


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
    if len(values) == 0:
        return pd.DataFrame(columns=_EPISODE_COLUMNS)
    peak = np.maximum.accumulate(values)
    under = values < peak * (1.0 - _REL_TOL)
    rows: list[dict[str, Any]] = []
    if under.any():
        # runs of consecutive underwater bars: [starts[k], ends[k]] inclusive
        padded = np.concatenate([[False], under, [False]])
        edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
        starts, ends = edges[::2], edges[1::2] - 1
        for a, b in zip(starts, ends, strict=True):
            p = a - 1  # the bar before the run is at the running peak (a >= 1: bar 0 is its own peak)
            t = a + int(np.argmin(values[a:b + 1]))
            recovered = b + 1 < len(values)
            end = times[b + 1] if recovered else times[-1]
            rows.append({
                "peak_time": times[p], "trough_time": times[t],
                "recovery_time": times[b + 1] if recovered else pd.NaT, "end_time": end,
                "peak_equity": float(values[p]), "trough_equity": float(values[t]),
                "depth_pct": (1.0 - values[t] / values[p]) * 100.0 if values[p] > 0 else math.nan,
                "duration_hours": (end - times[p]) / pd.Timedelta(hours=1),
                "recovered": bool(recovered),
            })
    return pd.DataFrame(rows, columns=_EPISODE_COLUMNS)


def drawdown_summary(equity: pd.Series, initial: float | None = None,
                     freq: pd.Timedelta | None = None) -> dict[str, Any]:
    """Deepest and longest drawdown: ``max_drawdown_pct``, its peak/trough/recovery times and
    ``deepest_drawdown_duration_hours`` (that episode's peak to recovery or last bar),
    ``max_drawdown_duration_hours`` (the longest episode, deepest or not), ``longest_drawdown_peak_time``
    and ``time_underwater_pct`` (share of bars below the running peak)."""
    ep = drawdown_episodes(equity, initial, freq)
    out: dict[str, Any] = {
        "max_drawdown_pct": 0.0, "max_drawdown_peak_time": None, "max_drawdown_trough_time": None,
        "max_drawdown_recovery_time": None, "max_drawdown_duration_hours": 0.0,
        "deepest_drawdown_duration_hours": 0.0,
        "longest_drawdown_peak_time": None, "time_underwater_pct": 0.0,
    }
    if len(ep) == 0:
        return out
    deep = ep.loc[ep["depth_pct"].idxmax()]
    longest = ep.loc[ep["duration_hours"].idxmax()]
    dd = drawdown_series(equity, initial)
    out.update({
        "max_drawdown_pct": float(deep["depth_pct"]),
        "max_drawdown_peak_time": deep["peak_time"],
        "max_drawdown_trough_time": deep["trough_time"],
        "max_drawdown_recovery_time": None if pd.isna(deep["recovery_time"]) else deep["recovery_time"],
        "max_drawdown_duration_hours": float(longest["duration_hours"]),
        "deepest_drawdown_duration_hours": float(deep["duration_hours"]),
        "longest_drawdown_peak_time": longest["peak_time"],
        "time_underwater_pct": float((dd < -_REL_TOL * 100).mean() * 100.0),
    })
    return out
