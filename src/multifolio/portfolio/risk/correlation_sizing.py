"""Correlation-aware sizing: orders in assets that move with the book are opened smaller."""

from __future__ import annotations

from typing import Any

import numpy as np

from multifolio.portfolio.risk.base import RiskRule
from multifolio.portfolio.risk.tools import (
    check_fraction,
    check_positive_int,
    correlations,
    cut_opening,
    kept_opening,
    trailing_returns,
)


def correlation_factor(c: float, threshold: float, max_reduction: float) -> float:
    """1 - r (c - t) / (1 - t) when c > t, else 1.

    >>> correlation_factor(0.9, 0.7, 0.5)
    0.6666666666666666
    >>> correlation_factor(0.5, 0.7, 0.5)
    1.0
    """
    if not c > threshold:
        return 1.0
    return 1.0 - max_reduction * (c - threshold) / (1.0 - threshold)


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

    def pre_trade(self, view: Any, batch: Any) -> None:
        opening = kept_opening(batch)
        if not opening.any():
            return
        held = np.flatnonzero(view.positions != 0.0)
        cand = np.flatnonzero(opening != 0.0)
        assets = np.unique(np.concatenate([held, batch.asset[cand]]))
        rets = trailing_returns(view, self.window)
        if len(rets) < 3:
            return
        corr = np.abs(correlations(rets, assets, assets))
        where = {int(a): k for k, a in enumerate(assets)}
        ref = {int(a) for a in held}
        for i in cand:
            a = int(batch.asset[i])
            others = [b for b in ref if b != a]
            if others:
                row = corr[where[a], [where[b] for b in others]]
                if np.isfinite(row).any():
                    k = int(np.nanargmax(row))
                    c = float(row[k])
                    f = correlation_factor(c, self.threshold, self.max_reduction)
                    if f < 1.0:
                        cut_opening(batch, int(i), f, rule=self.name, reason="correlated_with_book",
                                    correlation=c, correlated_with=view.symbols[others[k]],
                                    threshold=self.threshold, max_reduction=self.max_reduction,
                                    window=self.window)
            ref.add(a)
