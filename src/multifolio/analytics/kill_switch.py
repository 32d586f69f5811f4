"""Kill-switch episodes, computed independently from an equity curve, and the run's kill-switch events.

Definition (the same as the ``kill_switch`` risk rule's, so one can cross-check the other): at bar t the
window covers the end-of-bar equities of the bars that lie within ``window`` hours before t, t included
(``window / freq + 1`` values, i.e. ``window / freq`` bar-to-bar moves). The depth at t is
``1 - equity_t / max(window)``, in %. A *breach* is depth >= ``threshold_pct``. Consecutive breach bars
form one *episode*, which fires once, at its first bar.

In ``record`` mode the rule leaves the equity alone, so the rule's events and these episodes must agree
bar for bar. In ``flatten``/``halt`` modes the rule changes the path after firing; the episodes of the
resulting curve then show what remained.

>>> import pandas as pd
>>> idx = pd.date_range("2024-01-01", periods=6, freq="h", tz="UTC")
>>> eq = pd.Series([100.0, 90, 60, 62, 100, 100], index=idx)
>>> ep = kill_switch_episodes(eq, window=2, threshold_pct=30)
>>> ep[["trigger_time", "depth_pct"]].values.tolist()[0][1]
40.0
>>> len(ep)
1
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from multifolio.analytics.returns import check_equity, infer_freq, rolling_max

DEFAULT_WINDOW_HOURS = 24.0
DEFAULT_THRESHOLD_PCT = 30.0
KILL_SWITCH = "kill_switch"       # the rule's registry name and the kind of its events
_EPISODE_COLUMNS = ["trigger_time", "peak_time", "trough_time", "end_time", "peak_equity",
                    "trough_equity", "depth_at_trigger_pct", "depth_pct", "n_bars"]


def _window_bars(window: float | str | pd.Timedelta, freq: pd.Timedelta | None) -> int:
    """Window in bars: a number is hours; a Timedelta or a string like "24h" is a duration."""
    if isinstance(window, bool):
        raise TypeError("kill_switch_episodes: window must be hours or a duration, got a bool")
    if isinstance(window, (int, float, np.integer, np.floating)):
        if not window > 0:
            raise ValueError(f"kill_switch_episodes: window must be > 0 hours, got {window}")
        span = pd.Timedelta(hours=float(window))
    else:
        try:
            span = pd.Timedelta(window)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"kill_switch_episodes: window {window!r} is not hours or a duration") from exc
        if span <= pd.Timedelta(0):
            raise ValueError(f"kill_switch_episodes: window must be positive, got {window!r}")
    if freq is None:
        # a single bar or unknown spacing: the window holds every bar seen so far
        return 1
    return max(1, int(round(span / freq)))


def kill_switch_episodes(equity: pd.Series, window: float | str | pd.Timedelta = DEFAULT_WINDOW_HOURS,
                         threshold_pct: float = DEFAULT_THRESHOLD_PCT,
                         freq: pd.Timedelta | None = None) -> pd.DataFrame:
    """Breach episodes of a rolling-window loss rule on ``equity`` (see the module docstring).

    Returns one row per episode: ``trigger_time`` (first breach bar), ``peak_time`` / ``peak_equity``
    (the window's high at the trigger), ``trough_time`` / ``trough_equity`` (lowest equity from the
    trigger to the episode's last breach bar), ``end_time`` (last breach bar), ``depth_at_trigger_pct``,
    ``depth_pct`` (deepest rolling depth during the episode) and ``n_bars``.
    """
    rows = _episode_rows(equity, window, threshold_pct, freq)
    if not rows:
        return pd.DataFrame(columns=_EPISODE_COLUMNS)
    return pd.DataFrame(rows, columns=_EPISODE_COLUMNS)


def _episode_rows(equity: pd.Series, window: float | str | pd.Timedelta, threshold_pct: float,
                  freq: pd.Timedelta | None) -> list[dict[str, Any]]:
    """The rows of ``kill_switch_episodes`` (an equity curve that never breaches makes none)."""
    check_equity(equity, "kill_switch_episodes")
    if not 0 < threshold_pct <= 100:
        raise ValueError(f"kill_switch_episodes: threshold_pct must be in (0, 100], got {threshold_pct}")
    n = len(equity)
    if n == 0:
        return []
    w = _window_bars(window, infer_freq(pd.DatetimeIndex(equity.index), freq))
    values = equity.to_numpy(dtype=float)
    peak = rolling_max(values, w + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(peak > 0, (1.0 - values / peak) * 100.0, 0.0)
    breach = depth >= threshold_pct - 1e-9
    rows: list[dict[str, Any]] = []
    if breach.any():
        padded = np.concatenate([[False], breach, [False]])
        edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
        idx = equity.index
        for a, b in zip(edges[::2], edges[1::2] - 1, strict=True):
            lo = max(0, a - w)
            # the last bar at the window's high: where the fall that breached started
            p = a - int(np.argmax(values[lo:a + 1][::-1]))
            t = a + int(np.argmin(values[a:b + 1]))
            rows.append({
                "trigger_time": idx[a], "peak_time": idx[p], "trough_time": idx[t], "end_time": idx[b],
                "peak_equity": float(values[p]), "trough_equity": float(values[t]),
                "depth_at_trigger_pct": float(depth[a]), "depth_pct": float(depth[a:b + 1].max()),
                "n_bars": int(b - a + 1),
            })
    return rows


def kill_switch_events(events: pd.DataFrame | None) -> pd.DataFrame:
    """The ``kill_switch`` rows of ``Result.events``, with their details as columns.

    Columns: ``timestamp`` (the trigger bar), ``start`` (time of the window's peak), ``peak`` (equity
    there), ``trigger_equity`` and ``trigger_depth_pct`` (at the trigger), ``trough`` / ``trough_time``
    (the episode's lowest equity), ``depth_pct`` (the trough below the peak, %), ``end`` (re-arm time),
    ``window_hours, threshold_pct, action`` (details missing from an event are None).
    """
    cols = ["timestamp", "start", "peak", "trigger_equity", "trigger_depth_pct", "trough", "trough_time",
            "depth_pct", "end", "window_hours", "threshold_pct", "action"]
    if events is None or len(events) == 0 or "kind" not in events.columns:
        return pd.DataFrame(columns=cols)
    ks = events[events["kind"] == KILL_SWITCH]
    rows = []
    for _, ev in ks.iterrows():
        details = ev.get("details")
        details = details if isinstance(details, dict) else {}
        row = {"timestamp": ev.get("timestamp")}
        row.update({k: details.get(k) for k in cols[1:]})
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def kill_switch_config(result: Any) -> dict[str, Any]:
    """The kill switch the run used, if any: ``{"configured", "window_hours", "threshold_pct", "mode"}``.

    Read from the events' details first, then from the run's rules as they described themselves
    (``result.info.rule("kill_switch")``); unconfigured runs get the defaults (24 h, 30 %) with
    ``configured=False``.
    """
    return _config(result, kill_switch_events(getattr(result, "events", None)))


def _fired_events(result: Any) -> pd.DataFrame | None:
    """``kill_switch_events`` of the Result, None when the rule never fired (most runs: no frame to
    build then)."""
    events = getattr(result, "events", None)
    if events is None or len(events) == 0 or "kind" not in events.columns:
        return None
    return kill_switch_events(events) if bool((events["kind"] == KILL_SWITCH).any()) else None


def _config(result: Any, evs: pd.DataFrame | None) -> dict[str, Any]:
    """``kill_switch_config`` with the run's kill-switch events (``kill_switch_events``) at hand."""
    out: dict[str, Any] = {"configured": False, "window_hours": DEFAULT_WINDOW_HOURS,
                           "threshold_pct": DEFAULT_THRESHOLD_PCT, "mode": None}
    info = getattr(result, "info", None)
    rule = info.rule(KILL_SWITCH) if info is not None else None
    if rule is not None:
        p = rule.params
        out["configured"] = True
        out["window_hours"] = float(p.get("window", out["window_hours"]))
        out["threshold_pct"] = float(p.get("threshold", out["threshold_pct"]))
        out["mode"] = p.get("mode", out["mode"])
    if evs is not None and len(evs):
        first = evs.iloc[0]
        out["configured"] = True
        if first["window_hours"] is not None:
            out["window_hours"] = float(first["window_hours"])
        if first["threshold_pct"] is not None:
            out["threshold_pct"] = float(first["threshold_pct"])
        if first["action"] is not None:
            out["mode"] = first["action"]
    return out


def kill_switch_summary(result: Any) -> dict[str, Any]:
    """Kill-switch figures of a Result.

    Keys: ``configured`` (the run had a kill-switch rule), ``window_hours``, ``threshold_pct``, ``mode``,
    ``triggers`` (events fired by the rule; for a run without the rule, the independent episode count
    with the defaults, so the question "how often would it have fired" is still answered),
    ``rule_triggers`` (events, None without the rule), ``independent_triggers`` (episodes of the equity
    curve), ``worst_depth_pct``, ``actions`` (count per action) and ``events`` (list of dicts).
    """
    evs = _fired_events(result)
    cfg = _config(result, evs)
    episodes = _episode_rows(result.equity, cfg["window_hours"], cfg["threshold_pct"],
                             freq=getattr(result, "freq", None))
    if evs is None:
        rule = 0 if cfg["configured"] else None
        depths = [] if cfg["configured"] else [ep["depth_pct"] for ep in episodes]
        actions: dict[str, int] = {}
        records: list[dict[str, Any]] = []
    else:                                   # events make the rule configured
        rule = len(evs)
        depths = [float(d) for d in evs["depth_pct"] if d is not None and not _isnan(d)]
        actions = {str(k): int(v) for k, v in evs["action"].value_counts().items()}
        records = evs.to_dict(orient="records")
    return {
        **cfg,
        "triggers": rule if rule is not None else len(episodes),
        "rule_triggers": rule,
        "independent_triggers": len(episodes),
        "worst_depth_pct": max(depths) if depths else None,
        "actions": actions,
        "events": records,
    }


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)
