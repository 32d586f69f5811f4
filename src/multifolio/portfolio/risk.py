"""Portfolio risk rules: checks the engine runs after marking to market and before the strategy.

A rule has ``init(ctx)`` (once) and ``on_bar(ctx)`` (every bar, even while the strategy is paused). It
reads the account through ``ctx`` and may act with the context verbs (``close_all``, ``pause``, ``halt``)
and ``ctx.log_event``.

* :class:`KillSwitch` -- equity down ``threshold`` % or more from its peak within a rolling ``window``
  of hours; modes ``record`` (count only), ``flatten`` (close everything, pause for the window),
  ``halt`` (close everything, stop trading).
* :class:`MaxDrawdownBreaker` -- the same actions when equity is ``threshold`` % below its all-time peak.

Rules are registered by name in :data:`RISK_RULES` for configuration files::

    risk:
      - {rule: kill_switch, window: 24, threshold: 30, mode: record}
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

__all__ = ["KillSwitch", "MaxDrawdownBreaker", "RISK_RULES", "make_rule"]

MODES = ("record", "flatten", "halt")


def _check_mode(mode: str, rule: str) -> str:
    if mode not in MODES:
        raise ValueError(f"{rule} mode must be one of {list(MODES)}, got {mode!r}")
    return mode


def _check_threshold(threshold: float, rule: str) -> float:
    try:
        x = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"{rule} threshold must be a number of percent, got {threshold!r}") from None
    if isinstance(threshold, bool) or not math.isfinite(x) or not 0.0 < x < 100.0:
        raise ValueError(f"{rule} threshold is a % of equity and must be in (0, 100), got {threshold!r}")
    return x


class KillSwitch:
    """Fires when equity is down ``threshold`` % or more from its peak within the last ``window`` hours.

    The rolling peak is the highest end-of-bar equity over the bars from ``window`` hours ago up to now
    (``ctx.bars_per(window) + 1`` values, so a fall that takes exactly ``window`` hours counts). It is
    kept incrementally with a monotonic deque: O(1) amortised per bar whatever the window length.

    One trigger per breach episode: after firing, the rule re-arms only once the equity is back above
    the threshold level of the current window (it recovered, or the old peak left the window). Each
    trigger logs a ``kill_switch`` event with ``start`` (time of the window peak), ``peak``,
    ``trigger_equity`` and ``trigger_depth_pct`` (at the trigger bar), ``trough`` and ``trough_time``
    (the episode's lowest equity, over its bars in breach), ``depth_pct`` (that trough below ``peak``,
    in %), ``end`` (the re-arm time; None if still in breach at the end), ``window_hours``,
    ``threshold_pct`` and ``action``. ``episodes`` holds the same dicts.

    Modes: ``record`` only logs; ``flatten`` closes every position (reason ``kill_switch``) and pauses
    the strategy for the window; ``halt`` closes every position and stops the strategy for good.

    >>> KillSwitch(window=24, threshold=30).mode
    'record'
    """

    def __init__(self, window: float = 24, threshold: float = 30, mode: str = "record") -> None:
        try:
            w = float(window)
        except (TypeError, ValueError):
            raise ValueError(f"kill_switch window must be a number of hours, got {window!r}") from None
        if isinstance(window, bool) or not math.isfinite(w) or w <= 0:
            raise ValueError(f"kill_switch window must be > 0 hours, got {window!r}")
        self.window = w
        self.threshold = _check_threshold(threshold, "kill_switch")
        self.mode = _check_mode(mode, "kill_switch")
        self.triggers = 0
        self.episodes: list[dict[str, Any]] = []

    def init(self, ctx: Any) -> None:
        self._bars = max(1, int(ctx.bars_per(self.window)))
        self._peaks: deque[tuple[int, float]] = deque()  # (bar, equity), equities strictly decreasing
        self._armed = True
        self._open: dict[str, Any] | None = None
        self._frac = self.threshold / 100.0
        self.triggers = 0
        self.episodes = []

    def on_bar(self, ctx: Any) -> None:
        t = int(ctx.bar)
        eq = float(ctx.equity)
        peaks = self._peaks
        while peaks and peaks[-1][1] <= eq:
            peaks.pop()
        peaks.append((t, eq))
        while peaks[0][0] < t - self._bars:
            peaks.popleft()
        peak_bar, peak = peaks[0]
        breached = peak > 0 and eq <= peak * (1.0 - self._frac)
        episode = self._open
        if not breached:
            if not self._armed:
                self._armed = True
                if episode is not None:
                    episode["end"] = ctx.time
                self._open = None
            return
        if episode is not None and eq < episode["trough"]:
            episode.update(trough=eq, trough_time=ctx.time,
                           depth_pct=(1.0 - eq / episode["peak"]) * 100.0)
        if not self._armed:
            return
        self._armed = False
        self.triggers += 1
        depth = (1.0 - eq / peak) * 100.0
        start = ctx.data.index[peak_bar] if hasattr(ctx, "data") else peak_bar
        # The event's dict is kept and updated until the episode ends (trough, depth, end).
        self._open = ctx.log_event("kill_switch", start=start, peak=peak, trigger_equity=eq,
                                   trigger_depth_pct=depth, trough=eq, trough_time=ctx.time,
                                   depth_pct=depth, end=None, window_hours=self.window,
                                   threshold_pct=self.threshold, action=self.mode)
        self.episodes.append(self._open)
        if self.mode == "flatten":
            ctx.close_all(reason="kill_switch")
            ctx.pause(t + self._bars)
        elif self.mode == "halt":
            ctx.close_all(reason="kill_switch")
            ctx.halt()


class MaxDrawdownBreaker:
    """Fires once when equity falls ``threshold`` % or more below its all-time (run) peak.

    Same modes as :class:`KillSwitch` (``flatten`` pauses for ``pause_hours``, default 24); logs a
    ``max_drawdown`` event with ``start`` (time of the peak), ``peak``, ``trough``, ``depth_pct``,
    ``threshold_pct`` and ``action``. It re-arms once equity is back above the threshold level.

    >>> MaxDrawdownBreaker(threshold=25, mode="halt").threshold
    25.0
    """

    def __init__(self, threshold: float = 30, mode: str = "halt", pause_hours: float = 24) -> None:
        self.threshold = _check_threshold(threshold, "max_drawdown")
        self.mode = _check_mode(mode, "max_drawdown")
        try:
            ph = float(pause_hours)
        except (TypeError, ValueError):
            raise ValueError(f"max_drawdown pause_hours must be a number, got {pause_hours!r}") from None
        if not math.isfinite(ph) or ph <= 0:
            raise ValueError(f"max_drawdown pause_hours must be > 0, got {pause_hours!r}")
        self.pause_hours = ph
        self.triggers = 0

    def init(self, ctx: Any) -> None:
        self._peak = -math.inf
        self._peak_bar = 0
        self._armed = True
        self._pause_bars = max(1, int(ctx.bars_per(self.pause_hours)))
        self.triggers = 0

    def on_bar(self, ctx: Any) -> None:
        t = int(ctx.bar)
        eq = float(ctx.equity)
        if eq > self._peak:
            self._peak, self._peak_bar = eq, t
        breached = self._peak > 0 and eq <= self._peak * (1.0 - self.threshold / 100.0)
        if not breached:
            self._armed = True
            return
        if not self._armed:
            return
        self._armed = False
        self.triggers += 1
        start = ctx.data.index[self._peak_bar] if hasattr(ctx, "data") else self._peak_bar
        ctx.log_event("max_drawdown", start=start, peak=self._peak, trough=eq,
                      depth_pct=(1.0 - eq / self._peak) * 100.0, threshold_pct=self.threshold,
                      action=self.mode)
        if self.mode == "flatten":
            ctx.close_all(reason="kill_switch")
            ctx.pause(t + self._pause_bars)
        elif self.mode == "halt":
            ctx.close_all(reason="kill_switch")
            ctx.halt()


RISK_RULES: dict[str, type] = {"kill_switch": KillSwitch, "max_drawdown": MaxDrawdownBreaker}


def make_rule(spec: str | dict[str, Any] | Any) -> Any:
    """A rule from a name, a ``{"rule": name, **params}`` dict, or an object already built.

    >>> make_rule({"rule": "kill_switch", "threshold": 20}).threshold
    20.0
    """
    if hasattr(spec, "on_bar"):
        return spec
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, dict):
        params = dict(spec)
        name = params.pop("rule", None) or params.pop("name", None)
        if name is None:
            raise ValueError(f"risk rule spec {spec!r} lacks 'rule' (one of {sorted(RISK_RULES)})")
    else:
        raise ValueError(f"risk rule must be a name, a dict or a rule object, got {type(spec).__name__}")
    try:
        cls = RISK_RULES[name]
    except KeyError:
        raise ValueError(f"unknown risk rule {name!r}; known: {sorted(RISK_RULES)}") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"risk rule {name!r}: {exc}") from None
