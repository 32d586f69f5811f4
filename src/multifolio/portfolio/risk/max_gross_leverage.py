"""Gross exposure after the batch at most a multiple of equity."""

from __future__ import annotations

from typing import Any

import numpy as np

from multifolio.portfolio.risk.base import RiskRule
from multifolio.portfolio.risk.tools import check_fraction, cut_opening_many, kept_opening


class MaxGrossLeverage(RiskRule):
    """Scale the opening parts of a batch together so that gross exposure after it,
    sum |qty| x last close, is at most ``limit`` x equity.

    Opening parts add to |qty| linearly, so the factor is exact: k = (limit x equity - G0) / O, G0 the
    gross exposure with every reducing part done and no opening part, O the notional of the opening
    parts (k = 0 when G0 is already above). Logged with ``gross_before``, ``gross_after``, ``limit``
    and ``factor``.

    >>> MaxGrossLeverage(limit=1.5).limit
    1.5
    """

    name = "max_gross_leverage"
    PARAMS = ("limit",)

    def __init__(self, limit: float = 1.0) -> None:
        self.limit = check_fraction(limit, "limit", self.name, high=1000.0, open_low=True)

    def pre_trade(self, view: Any, batch: Any) -> None:
        self._screen(view, batch, np.nan_to_num(batch.price), float(batch.equity))

    def pre_limits(self, view: Any, batch: Any) -> None:
        """Resting orders as potential new exposure at their levels: gross exposure with every kept
        order of the call filled (opening parts valued at their levels) at most ``limit`` x equity."""
        self._screen(view, batch, np.nan_to_num(np.asarray(batch.price, dtype=np.float64)),
                     float(view.equity))

    def _screen(self, view: Any, batch: Any, px: np.ndarray, equity: float) -> None:
        opening = kept_opening(batch)
        if not opening.any() or not equity > 0:
            return
        price = np.nan_to_num(view.price)
        change = np.where(batch.keep, batch.requested(), 0.0)
        base = view.positions.astype(np.float64)
        np.add.at(base, batch.asset, change - opening)
        g0 = float(np.abs(base) @ price)
        o = float(np.abs(opening) @ px)
        cap = self.limit * equity
        if g0 + o <= cap * (1 + 1e-12) or o == 0.0:
            return
        k = min(1.0, max(0.0, (cap - g0) / o))
        cut_opening_many(batch, np.flatnonzero(opening != 0.0), k, rule=self.name,
                         reason="gross_above_limit", opening=opening, gross_before=(g0 + o) / equity,
                         gross_after=(g0 + k * o) / equity, limit=self.limit)
