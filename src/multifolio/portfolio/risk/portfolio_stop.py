"""Portfolio stop: a drawdown from the peak beyond a threshold closes the book (or only lets it shrink)."""

from __future__ import annotations

import math
from typing import Any

from multifolio.portfolio.risk.base import RiskRule, check_threshold

STOP_MODES = ("close", "reduce")


class PortfolioStop(RiskRule):
    """Fires when equity is more than ``threshold`` % below its peak.

    ``mode="close"``: every position is closed (reason ``portfolio_stop``) and trading halts; with a
    ``cooldown`` (hours) the strategy is paused for that long instead and the stop re-arms afterwards.
    ``mode="reduce"``: the account switches to reducing-only (orders keep only the part that shrinks a
    position; rule ``reducing``); with a ``cooldown`` it returns to active afterwards. On re-arm the
    peak restarts from the equity then, so the stop measures the next drawdown from there.

    Each firing logs a ``portfolio_stop`` event (``peak``, ``equity``, ``drawdown_pct``,
    ``threshold_pct``, ``action``, ``rearm_at``: the re-arm time or None) and each re-arm a
    ``portfolio_stop_rearm`` event.

    >>> PortfolioStop(threshold=20, mode="reduce", cooldown=48).mode
    'reduce'
    """

    name = "portfolio_stop"
    PARAMS = ("threshold", "mode", "cooldown")

    def __init__(self, threshold: float = 20.0, mode: str = "close", cooldown: float | None = None) -> None:
        self.threshold = check_threshold(threshold, self.name)
        if mode not in STOP_MODES:
            raise ValueError(f"{self.name} mode must be one of {list(STOP_MODES)}, got {mode!r}")
        self.mode = mode
        if cooldown is not None:
            try:
                cd = float(cooldown)
            except (TypeError, ValueError):
                raise ValueError(f"{self.name} cooldown must be a number of hours, "
                                 f"got {cooldown!r}") from None
            if isinstance(cooldown, bool) or not math.isfinite(cd) or cd <= 0:
                raise ValueError(f"{self.name} cooldown must be > 0 hours, got {cooldown!r}")
            cooldown = cd
        self.cooldown = cooldown
        self.triggers = 0

    def init(self, ctx: Any) -> None:
        self._peak = -math.inf
        self._rearm: int | None = None       # bar of the re-arm while stopped with a cool-down
        self._stopped = False
        self.triggers = 0

    def on_bar(self, ctx: Any) -> None:
        t = int(ctx.bar)
        eq = float(ctx.equity)
        if self._stopped:
            if self._rearm is None or t < self._rearm:
                return
            self._stopped = False
            if self.mode == "reduce":
                ctx.reduce_only(False)
            self._peak = eq
            ctx.log_event("portfolio_stop_rearm", equity=eq)
            return
        self._peak = max(self._peak, eq)
        if not self._peak > 0:
            return
        dd = (1.0 - eq / self._peak) * 100.0
        if dd <= self.threshold:
            return
        self.triggers += 1
        self._stopped = True
        self._rearm = None if self.cooldown is None else t + max(1, int(ctx.bars_per(self.cooldown)))
        action = f"{self.mode}{'' if self.cooldown is None else '_then_rearm'}"
        rearm_at = None
        if self._rearm is not None and hasattr(ctx, "data") and self._rearm < len(ctx.data.index):
            rearm_at = ctx.data.index[self._rearm]
        ctx.log_event("portfolio_stop", peak=self._peak, equity=eq, drawdown_pct=dd,
                      threshold_pct=self.threshold, action=action, rearm_at=rearm_at)
        if self.mode == "reduce":
            ctx.reduce_only(True)
            return
        ctx.close_all(reason="portfolio_stop")
        if self._rearm is None:
            ctx.halt()
        else:
            ctx.pause(self._rearm)
