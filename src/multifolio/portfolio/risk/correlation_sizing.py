"""Correlation-aware sizing: orders in assets that move with the book are opened smaller."""

from __future__ import annotations

from typing import Any

import numpy as np

from multifolio.portfolio.risk.base import RiskRule
from multifolio.portfolio.risk.fast import max_abs_correlation
from multifolio.portfolio.risk.tools import (
    check_fraction,
    check_positive_int,
    cut_opening_many,
    kept_opening,
    symbol_array,
)


class CorrelationSizing(RiskRule):
    """Scale the opening part of an order by ``1 - r (c - t) / (1 - t)`` when ``c > t``.

    ``c`` is the largest |correlation| of the order's asset with the assets currently held, or opened
    by an earlier order of the same batch (the strategy's rank order), over the last ``window`` bars of
    close-to-close returns; ``t`` = ``threshold``, ``r`` = ``max_reduction``. The part of an order that
    reduces a position always passes. Each cut is logged with ``correlation``, ``correlated_with``,
    ``threshold``, ``max_reduction``, ``window`` and the ``factor``.

    >>> CorrelationSizing(threshold=0.8).max_reduction
    0.5
    """

    name = "correlation_sizing"
    PARAMS = ("window", "threshold", "max_reduction")

    def __init__(self, window: int = 30, threshold: float = 0.7, max_reduction: float = 0.5) -> None:
        self.window = check_positive_int(window, "window", self.name, minimum=3)
        self.threshold = check_fraction(threshold, "threshold", self.name, high=0.999999)
        self.max_reduction = check_fraction(max_reduction, "max_reduction", self.name)

    def factors(self, view: Any, asset: np.ndarray, opening: np.ndarray, held: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For orders on ``asset`` with ``opening`` parts (an order with none is left alone) and the
        assets ``held`` (a bool per asset): (orders to cut, their factors, correlations c, the asset
        each is most correlated with), in one compiled pass over the window's returns."""
        cand = np.flatnonzero(opening != 0.0)
        close = view.history("close", self.window + 1)
        if len(cand) == 0 or len(close) < 4:                 # fewer than 3 returns
            none = np.empty(0, dtype=np.intp)
            return none, np.empty(0), np.empty(0), none
        c, best = max_abs_correlation(close, held, asset[cand])
        hit = c > self.threshold
        c = c[hit]
        f = 1.0 - self.max_reduction * (c - self.threshold) / (1.0 - self.threshold)
        return cand[hit], f, c, best[hit]

    def pre_trade(self, view: Any, batch: Any) -> None:
        self._screen(view, batch)

    def pre_limits(self, view: Any, batch: Any) -> None:
        """Resting orders: the opening part of each (potential new exposure at its level) is sized
        like a market order's."""
        self._screen(view, batch)

    def _screen(self, view: Any, batch: Any) -> None:
        opening = kept_opening(batch)
        idx, f, c, other = self.factors(view, batch.asset, opening, view.positions != 0.0)
        if len(idx) == 0:
            return
        cut_opening_many(batch, idx, f, rule=self.name, reason="correlated_with_book", opening=opening,
                         correlation=c, correlated_with=symbol_array(view)[other],
                         threshold=self.threshold, max_reduction=self.max_reduction, window=self.window)
