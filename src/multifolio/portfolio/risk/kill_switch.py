"""Kill switch: equity down a threshold % from its peak within a rolling window of hours."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from multifolio.portfolio.risk.base import RiskRule, check_mode, check_threshold


class KillSwitch(RiskRule):
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

    name = "kill_switch"
    PARAMS = ("window", "threshold", "mode")
    WATCHES_EQUITY_ONLY = True

    def __init__(self, window: float = 24, threshold: float = 30, mode: str = "record") -> None:
        try:
            w = float(window)
        except (TypeError, ValueError):
            raise ValueError(f"kill_switch window must be a number of hours, got {window!r}") from None
        if isinstance(window, bool) or not math.isfinite(w) or w <= 0:
            raise ValueError(f"kill_switch window must be > 0 hours, got {window!r}")
        self.window = w
        self.threshold = check_threshold(threshold, "kill_switch")
        self.mode = check_mode(mode, "kill_switch")
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
        self.act(ctx, self.mode, "kill_switch", self._bars)
