"""Drawdown breaker: equity a threshold % below its all-time peak."""

from __future__ import annotations

import math
from typing import Any

from multifolio.portfolio.risk.base import RiskRule, check_mode, check_threshold


class MaxDrawdownBreaker(RiskRule):
    """Fires once when equity falls ``threshold`` % or more below its all-time (run) peak.

    Same modes as :class:`KillSwitch` (``flatten`` pauses for ``pause_hours``, default 24); logs a
    ``max_drawdown`` event with ``start`` (time of the peak), ``peak``, ``trough``, ``depth_pct``,
    ``threshold_pct`` and ``action``. It re-arms once equity is back above the threshold level.

    >>> MaxDrawdownBreaker(threshold=25, mode="halt").threshold
    25.0
    """

    name = "max_drawdown"
    PARAMS = ("threshold", "mode", "pause_hours")
    WATCHES_EQUITY_ONLY = True

    def __init__(self, threshold: float = 30, mode: str = "halt", pause_hours: float = 24) -> None:
        self.threshold = check_threshold(threshold, "max_drawdown")
        self.mode = check_mode(mode, "max_drawdown")
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
        self.act(ctx, self.mode, "max_drawdown", self._pause_bars)
