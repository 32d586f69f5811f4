"""No asset above a share of equity after the batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from multifolio.portfolio.risk.base import RiskRule
from multifolio.portfolio.risk.tools import check_percent, kept_opening


class MaxWeight(RiskRule):
    """Cut an order's opening part so that the asset's position after it is worth at most ``limit`` %
    of equity (|qty| x last close; a position already above it may only shrink). Logged with
    ``weight_pct`` (requested, after the order), ``limit_pct`` and ``max_qty``.

    >>> MaxWeight(limit=20).limit
    20.0
    """

    name = "max_weight"
    PARAMS = ("limit",)

    def __init__(self, limit: float = 20.0) -> None:
        self.limit = check_percent(limit, "limit", self.name, upper=10_000.0)

    def pre_trade(self, view: Any, batch: Any) -> None:
        opening = kept_opening(batch)
        cap_value = self.limit / 100.0 * batch.equity
        want = batch.requested()
        for i in np.flatnonzero(opening != 0.0):
            p = float(batch.price[i])
            if not p > 0 or not batch.equity > 0:
                continue
            post = float(batch.held[i] + want[i])
            if abs(post) * p <= cap_value * (1 + 1e-12):
                continue
            base = float(batch.held[i] + want[i] - opening[i])   # after the reducing part
            max_qty = cap_value / p
            room = max(0.0, max_qty - abs(base))
            allowed = float(want[i] - opening[i] + np.sign(opening[i]) * min(room, abs(opening[i])))
            batch.set_qty(int(i), allowed, rule=self.name, reason="weight_above_limit",
                          weight_pct=abs(post) * p / batch.equity * 100.0, limit_pct=self.limit,
                          max_qty=max_qty)
