"""Refuse a new asset that moves with one already held."""

from __future__ import annotations

from typing import Any

import numpy as np

from multifolio.portfolio.risk.base import RiskRule
from multifolio.portfolio.risk.tools import (
    check_fraction,
    check_positive_int,
    correlations,
    kept_opening,
    trailing_returns,
)


class MaxCorrelation(RiskRule):
    """Drop an order that opens a new position (the asset is not held) when its |correlation| with an
    asset held is above ``threshold``, over the last ``window`` bars of close-to-close returns.

    Orders in assets already held pass (adding to or trimming a position is not a new asset). Market-type
    orders and resting ones alike. Logged with ``correlation``, ``correlated_with``, ``threshold`` and
    ``window``.

    >>> MaxCorrelation(threshold=0.9).window
    30
    """

    name = "max_correlation"
    PARAMS = ("threshold", "window")

    def __init__(self, threshold: float = 0.8, window: int = 30) -> None:
        self.threshold = check_fraction(threshold, "threshold", self.name)
        self.window = check_positive_int(window, "window", self.name, minimum=3)

    def pre_trade(self, view: Any, batch: Any) -> None:
        self._drop_correlated(view, batch)

    def pre_limits(self, view: Any, batch: Any) -> None:
        """Resting orders too: one that would open a position in an asset not held is dropped when that
        asset moves with one held (a grid is not laid in a second asset that moves with the first)."""
        self._drop_correlated(view, batch)

    def _drop_correlated(self, view: Any, batch: Any) -> None:
        opening = kept_opening(batch)
        new = np.flatnonzero((opening != 0.0) & (batch.held == 0.0))
        if len(new) == 0:
            return
        held = np.flatnonzero(view.positions != 0.0)
        if len(held) == 0:
            return
        rets = trailing_returns(view, self.window)
        if len(rets) < 3:
            return
        corr = np.abs(correlations(rets, batch.asset[new], held))
        for row, i in zip(corr, new, strict=True):
            if not np.isfinite(row).any():
                continue
            k = int(np.nanargmax(row))
            c = float(row[k])
            if c > self.threshold:
                batch.drop(int(i), rule=self.name, reason="correlated_with_held", correlation=c,
                           correlated_with=view.symbols[int(held[k])], threshold=self.threshold,
                           window=self.window)
