"""New exposure shrinks linearly as the portfolio's drawdown deepens."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from multifolio.portfolio.risk.base import RiskRule
from multifolio.portfolio.risk.tools import check_fraction, check_percent, cut_opening_many, kept_opening


def drawdown_factor(dd: float, start: float, end: float, min_factor: float) -> float:
    """1 up to a drawdown of ``start`` %, ``min_factor`` from ``end`` %, linear in between.

    >>> drawdown_factor(15.0, 10.0, 20.0, 0.2)
    0.6
    >>> drawdown_factor(5.0, 10.0, 20.0, 0.2), drawdown_factor(30.0, 10.0, 20.0, 0.2)
    (1.0, 0.2)
    """
    if dd <= start:
        return 1.0
    if dd >= end:
        return min_factor
    return 1.0 - (1.0 - min_factor) * (dd - start) / (end - start)


class DrawdownScaling(RiskRule):
    """Scale the opening part of every order by :func:`drawdown_factor` of the current drawdown.

    Drawdown = (1 - equity / peak) x 100, the peak being the highest end-of-bar equity since the run
    started (tracked in ``on_bar``). Logged with ``drawdown_pct``, ``peak``, ``equity``, ``start_pct``,
    ``end_pct``, ``min_factor`` and ``factor``.

    >>> DrawdownScaling(start=5, end=20, min_factor=0.25).min_factor
    0.25
    """

    name = "drawdown_scaling"
    PARAMS = ("start", "end", "min_factor")

    def __init__(self, start: float = 10.0, end: float = 30.0, min_factor: float = 0.25) -> None:
        self.start = check_fraction(start, "start", self.name, high=100.0)
        self.end = check_percent(end, "end", self.name)
        if not self.end > self.start:
            raise ValueError(f"{self.name} end ({end!r}) must be above start ({start!r})")
        self.min_factor = check_fraction(min_factor, "min_factor", self.name)
        self._peak = -math.inf

    def init(self, ctx: Any) -> None:
        self._peak = -math.inf

    def on_bar(self, ctx: Any) -> None:
        self._peak = max(self._peak, float(ctx.equity))

    def pre_trade(self, view: Any, batch: Any) -> None:
        self._screen(batch, float(batch.equity))

    def pre_limits(self, view: Any, batch: Any) -> None:
        """Resting orders: the opening part of each (what would open or extend a position if it
        filled) is scaled by the same factor."""
        self._screen(batch, float(view.equity))

    def _screen(self, batch: Any, eq: float) -> None:
        peak = max(self._peak, eq)
        if not peak > 0:
            return
        dd = (1.0 - eq / peak) * 100.0
        f = drawdown_factor(dd, self.start, self.end, self.min_factor)
        if f >= 1.0:
            return
        opening = kept_opening(batch)
        cut_opening_many(batch, np.flatnonzero(opening != 0.0), f, rule=self.name, reason="in_drawdown",
                         opening=opening, drawdown_pct=dd, peak=peak, equity=eq, start_pct=self.start,
                         end_pct=self.end, min_factor=self.min_factor)
