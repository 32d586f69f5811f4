"""Equal weight: every asset with a price gets 1/N of the portfolio at each rebalance.

Its decisions are known from the data alone (which assets are tradable at each bar), so where nothing
else needs Python the simulator runs the bars compiled (``run_bars``), with the result ``on_bar`` gives.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from multifolio.engine.compiled import BarRun
from multifolio.engine.strategy import Strategy
from multifolio.strategies._params import schedule as check_schedule


class EqualWeight(Strategy):
    """Hold all tradable assets at equal weight, rebalanced on ``schedule``.

    Assets without a bar at the decision time are skipped (weight 0) and the rest share the book.

    >>> EqualWeight(schedule="monthly").schedule
    'monthly'
    """

    name: ClassVar[str] = "equal_weight"
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {
        "schedule": (str, "monthly", "every_bar | daily | weekly | monthly | N (every N bars)"),
    }

    def __init__(self, schedule: str | int = "monthly") -> None:
        self.schedule = check_schedule(schedule)

    def init(self, ctx: Any) -> None:
        live = ctx.data.tradable
        n = live.sum(axis=1, keepdims=True)
        # a bar without any tradable asset places no order: its row is all NaN
        self._weights = np.where(n > 0, np.where(live, 1.0 / np.maximum(n, 1), 0.0), np.nan)

    def on_bar(self, ctx: Any) -> None:
        live = ctx.tradable
        n = int(live.sum())
        if n == 0:
            return
        ctx.target_weights(np.where(live, 1.0 / n, 0.0))

    def run_bars(self, run: BarRun, t0: int, t1: int) -> None:
        """Bars t0..t1-1 without Python: the weights of each bar, made in ``init``."""
        run.target_rows(self._weights, t0, t1)
