"""Fill concurrency: how many positions and assets are open at once, and in crashes.

* Peak concurrency and the distribution come from the snapshots columns ``n_open_positions`` and
  ``n_assets_with_positions`` (end of bar).
* A *crash bar* is a bar at which the equal-weight index of the assets is down at least ``crash_pct``
  percent from its highest value over the last ``window_bars`` bars (the bar itself included, so the
  comparison spans ``window_bars`` bar-to-bar moves). The index compounds, each bar, the mean simple
  return of the assets that have a close at both that bar and the previous one: late listings and
  missing bars neither jump the index nor drop it.
* The result's prices are not part of ``Result``: pass ``close`` (a wide DataFrame of close prices,
  columns = symbols) or attach it as ``result.close``. Without it the crash figures are None.

>>> import pandas as pd
>>> idx = pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC")
>>> close = pd.DataFrame({"A": [100, 100, 80, 80, 90.0], "B": [50, 50, 40, 40, 45.0]}, index=idx)
>>> crash_bars(close, crash_pct=15, window_bars=2).tolist()
[False, False, True, True, False]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from multifolio.analytics.returns import rolling_max

DEFAULT_CRASH_PCT = 10.0
DEFAULT_CRASH_WINDOW_HOURS = 24.0


def equal_weight_index(close: pd.DataFrame) -> pd.Series:
    """Equal-weight index (starts at 1.0): compounded mean of the available assets' bar returns."""
    if not isinstance(close, pd.DataFrame):
        raise TypeError(f"equal_weight_index: close must be a DataFrame, got {type(close).__name__}")
    values = close.to_numpy(dtype=float)
    if values.size and (values[np.isfinite(values)] <= 0).any():
        bad = np.argwhere(np.isfinite(values) & (values <= 0))[0]
        raise ValueError(f"equal_weight_index: non-positive close for {close.columns[bad[1]]!r} "
                         f"at {close.index[bad[0]]}")
    if len(values) == 0:
        return pd.Series(dtype=float, index=close.index, name="ew_index")
    with np.errstate(invalid="ignore", divide="ignore"):
        rets = values[1:] / values[:-1] - 1.0
    valid = np.isfinite(rets)
    count = valid.sum(axis=1)
    mean = np.where(count > 0, np.where(valid, rets, 0.0).sum(axis=1) / np.maximum(count, 1), 0.0)
    index = np.concatenate([[1.0], np.cumprod(1.0 + mean)])
    return pd.Series(index, index=close.index, name="ew_index")


def crash_bars(close: pd.DataFrame, crash_pct: float = DEFAULT_CRASH_PCT,
               window_bars: int = 24) -> pd.Series:
    """Boolean Series: the equal-weight index is down >= ``crash_pct`` % from its rolling-window peak."""
    if not crash_pct > 0:
        raise ValueError(f"crash_bars: crash_pct must be > 0 (a percentage), got {crash_pct}")
    if int(window_bars) != window_bars or window_bars < 1:
        raise ValueError(f"crash_bars: window_bars must be an integer >= 1, got {window_bars}")
    idx = equal_weight_index(close)
    values = idx.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = (1.0 - values / rolling_max(values, int(window_bars) + 1)) * 100.0
    # a hair of tolerance so that an exact 15% fall counts as "down >= 15%" despite float rounding
    return pd.Series(drop >= crash_pct - 1e-9, index=idx.index, name="crash")


def window_to_bars(hours: float, freq: pd.Timedelta | None) -> int:
    """Number of bars spanning ``hours`` (at least 1); ``hours`` bars when the frequency is unknown."""
    if not hours > 0:
        raise ValueError(f"window must be > 0 hours, got {hours}")
    if freq is None or freq <= pd.Timedelta(0):
        return max(1, int(round(hours)))
    return max(1, int(round(pd.Timedelta(hours=hours) / freq)))


def concurrency_distribution(snapshots: pd.DataFrame,
                             column: str = "n_assets_with_positions") -> dict[int, int]:
    """Number of bars at each value of ``column`` (0..max, zeros included), e.g. ``{0: 10, 1: 4}``."""
    if column not in snapshots.columns:
        raise KeyError(f"concurrency_distribution: snapshots have no column {column!r}")
    values = snapshots[column].fillna(0).astype(int).to_numpy()
    top = int(values.max()) if len(values) else 0
    counts = np.bincount(values[values >= 0], minlength=max(top + 1, 0))
    return {k: int(counts[k]) for k in range(top + 1)}


def fill_concurrency(result: Any, close: pd.DataFrame | None = None, *,
                     crash_pct: float | None = None, window_hours: float | None = None) -> dict[str, Any]:
    """Concurrency figures of a Result.

    ``crash_pct`` and ``window_hours`` default to the run's ``info.crash_pct`` /
    ``info.crash_window_hours``, then to 10% and 24 h. ``close`` defaults
    to ``result.close`` when the Result carries it.

    Keys: ``peak_concurrent_positions``, ``peak_concurrent_assets``, ``n_assets``,
    ``peak_concurrent_assets_time``, ``mean_concurrent_assets``, ``peak_filled_levels`` (max of the
    snapshots' ``n_filled_levels`` column when the strategy records it, else None), ``distribution``
    (bars per number of assets with positions), ``crash_pct``, ``crash_window_hours``, ``crash_bars``
    (count, None without prices), ``crash_mean_assets`` / ``normal_mean_assets`` (mean
    n_assets_with_positions on crash / other bars), ``crash_peak_assets``, ``crash_mean_positions`` /
    ``normal_mean_positions``.
    """
    snaps: pd.DataFrame = result.snapshots
    info = getattr(result, "info", None)
    if crash_pct is None:
        given = getattr(info, "crash_pct", None)
        crash_pct = float(given if given is not None else DEFAULT_CRASH_PCT)
    if window_hours is None:
        given = getattr(info, "crash_window_hours", None)
        window_hours = float(given if given is not None else DEFAULT_CRASH_WINDOW_HOURS)
    if close is None:
        close = getattr(result, "close", None)

    def col(name: str) -> np.ndarray:
        if name in snaps.columns:
            return snaps[name].to_numpy(dtype=float, na_value=0.0)
        return np.zeros(len(snaps))

    n_pos, n_assets = col("n_open_positions"), col("n_assets_with_positions")
    out: dict[str, Any] = {
        "n_assets": len(getattr(result, "symbols", []) or []),
        "peak_concurrent_positions": int(n_pos.max()) if len(n_pos) else 0,
        "peak_concurrent_assets": int(n_assets.max()) if len(n_assets) else 0,
        "peak_concurrent_assets_time": snaps.index[int(np.argmax(n_assets))]
        if len(n_assets) and n_assets.max() > 0 else None,
        "mean_concurrent_assets": float(n_assets.mean()) if len(n_assets) else 0.0,
        # strategies that record filled grid levels (ctx.record(n_filled_levels=...)) get their peak
        "peak_filled_levels": int(col("n_filled_levels").max())
        if "n_filled_levels" in snaps.columns and len(snaps) else None,
        "distribution": concurrency_distribution(snaps) if "n_assets_with_positions" in snaps else {},
        "crash_pct": float(crash_pct), "crash_window_hours": float(window_hours),
        "crash_bars": None, "crash_mean_assets": None, "normal_mean_assets": None,
        "crash_peak_assets": None, "crash_mean_positions": None, "normal_mean_positions": None,
    }
    if close is None or len(snaps) == 0:
        return out
    if not isinstance(close, pd.DataFrame):
        raise TypeError(f"fill_concurrency: close must be a DataFrame, got {type(close).__name__}")
    freq = getattr(result, "freq", None)
    window_bars = window_to_bars(window_hours, freq)
    # the crash flag uses the whole price history handed in (warm-up included), then is read on the
    # result's bars; a bar missing from close counts as a normal bar
    crash = crash_bars(close, crash_pct, window_bars).reindex(snaps.index, fill_value=False)
    crash = crash.astype(bool).to_numpy()
    normal = ~crash

    def mean(s: np.ndarray, mask: np.ndarray) -> float | None:
        return float(s[mask].mean()) if mask.any() else None

    out.update({
        "crash_bars": int(crash.sum()),
        "crash_mean_assets": mean(n_assets, crash), "normal_mean_assets": mean(n_assets, normal),
        "crash_peak_assets": int(n_assets[crash].max()) if crash.any() else None,
        "crash_mean_positions": mean(n_pos, crash), "normal_mean_positions": mean(n_pos, normal),
    })
    return out

