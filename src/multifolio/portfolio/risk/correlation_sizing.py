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
        rets = trailing_returns(view, self.window)
        if len(rets) < 3:
            return
        cand_assets = batch.asset[cand]
        assets = np.unique(np.concatenate([held, cand_assets]))
        pos = np.searchsorted(assets, cand_assets)
        corr = np.abs(correlations(rets, assets, assets))[pos]          # cand x assets
        # what each order is compared with: the assets held, and those opened earlier in the batch
        ref = np.zeros((len(cand), len(assets)), dtype=bool)
        ref[:, np.searchsorted(assets, held)] = True
        first = {}
        for r, p in enumerate(pos.tolist()):
            first.setdefault(p, r)
        for p, r in first.items():
            ref[r + 1:, p] = True
        ref[np.arange(len(cand)), pos] = False                        # never the asset itself
        masked = np.where(ref & np.isfinite(corr), corr, -1.0)
        best = masked.argmax(axis=1)
        c = masked[np.arange(len(cand)), best]
        want = batch.requested()
        for r in np.flatnonzero(c > self.threshold):
            i = int(cand[r])
            f = correlation_factor(float(c[r]), self.threshold, self.max_reduction)
            cut_opening(batch, i, f, rule=self.name, reason="correlated_with_book", want=want[i],
                        opening=opening[i], correlation=float(c[r]),
                        correlated_with=view.symbols[int(assets[best[r]])], threshold=self.threshold,
                        max_reduction=self.max_reduction, window=self.window)
