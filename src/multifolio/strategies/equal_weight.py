"""Equal weight: every asset with a price gets 1/N of the portfolio at each rebalance."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

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

    def on_bar(self, ctx: Any) -> None:
        live = ctx.tradable
        n = int(live.sum())
        if n == 0:
            return
        ctx.target_weights(np.where(live, 1.0 / n, 0.0))
