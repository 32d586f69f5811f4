"""At most n assets held at once."""

from __future__ import annotations

from typing import Any

import numpy as np

from multifolio.portfolio.risk.base import RiskRule
from multifolio.portfolio.risk.tools import check_positive_int, kept_opening


class MaxPositions(RiskRule):
    """Refuse orders that would open a position beyond ``limit`` assets held at once.

    Positions the batch closes in full free their slot first; then new assets are admitted in the
    batch's order while slots remain. Resting orders (``pre_limits``) on assets not held are admitted
    by distinct asset while slots remain. Logged with ``positions`` (held when the order came) and
    ``limit``.

    >>> MaxPositions(limit=5).limit
    5
    """

    name = "max_positions"
    PARAMS = ("limit",)

    def __init__(self, limit: int = 10) -> None:
        self.limit = check_positive_int(limit, "limit", self.name)

    def pre_trade(self, view: Any, batch: Any) -> None:
        held = view.positions.astype(np.float64)
        change = np.where(batch.keep, batch.requested(), 0.0)
        post = held.copy()
        np.add.at(post, batch.asset, change)
        opening = kept_opening(batch)
        new = (opening != 0.0) & (batch.held == 0.0)
        # held after the batch, not counting the assets it opens
        stay = post != 0.0
        stay[batch.asset[new]] = False
        count = int(stay.sum())
        admitted: set[int] = set()
        for i in np.flatnonzero(new):
            a = int(batch.asset[i])
            if a in admitted:
                continue
            if count < self.limit:
                admitted.add(a)
                count += 1
            else:
                batch.drop(int(i), rule=self.name, reason="too_many_positions", positions=count,
                           limit=self.limit)

    def pre_limits(self, view: Any, batch: Any) -> None:
        held = view.positions
        count = int((held != 0.0).sum())
        admitted: set[int] = set()
        for i in range(len(batch)):
            a = int(batch.asset[i])
            if held[a] != 0.0 or a in admitted:
                continue
            if count < self.limit:
                admitted.add(a)
                count += 1
            else:
                batch.drop(i, rule=self.name, reason="too_many_positions", positions=count,
                           limit=self.limit)
