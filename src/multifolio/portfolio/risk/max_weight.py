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
        want = batch.requested()
        post = batch.held + want
        self._screen(batch, opening, want, post, np.asarray(batch.price, dtype=np.float64),
                     float(batch.equity))

    def pre_limits(self, view: Any, batch: Any) -> None:
        """Resting orders as potential new exposure at their levels: the position an order would
        leave if it and the kept orders of the call before it on the same side of that asset filled
        (a grid's buys below add up), valued at the order's level, at most ``limit`` % of equity."""
        opening = kept_opening(batch)
        want = batch.requested()
        q = np.where(batch.keep, want, 0.0)
        # cumulative same-side quantity per asset, in the order of the call
        post = batch.held.astype(np.float64).copy()
        for side in (q > 0, q < 0):
            for a in np.unique(batch.asset[side]):
                rows = np.flatnonzero(side & (batch.asset == a))
                post[rows] += np.cumsum(q[rows])
        self._screen(batch, opening, want, post, np.asarray(batch.price, dtype=np.float64),
                     float(view.equity))

    def _screen(self, batch: Any, opening: np.ndarray, want: np.ndarray, post: np.ndarray,
                px: np.ndarray, equity: float) -> None:
        """``post``: the position after each order; ``px`` the price it is valued at."""
        cap_value = self.limit / 100.0 * equity
        if not equity > 0:
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            over = (opening != 0.0) & (px > 0) & (np.abs(post) * px > cap_value * (1 + 1e-12))
            idx = np.flatnonzero(over)
            if len(idx) == 0:
                return
            o, w, p = opening[idx], want[idx], px[idx]
            base = np.abs(post[idx] - o)                       # after the reducing part (and earlier ones)
            max_qty = cap_value / p
            room = np.maximum(0.0, max_qty - base)
            allowed = w - o + np.sign(o) * np.minimum(room, np.abs(o))
        batch.set_qty_many(idx, allowed, rule=self.name, reason="weight_above_limit",
                           weight_pct=np.abs(post[idx]) * p / equity * 100.0, limit_pct=self.limit,
                           max_qty=max_qty)
