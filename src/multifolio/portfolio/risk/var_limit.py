"""Value-at-risk limit on the portfolio as it would be after the batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from multifolio.portfolio.risk.base import RiskRule
from multifolio.portfolio.risk.fast import var_screen
from multifolio.portfolio.risk.tools import (
    check_fraction,
    check_percent,
    check_positive_int,
    cut_opening_many,
    kept_opening,
)

MEASURES = ("var", "cvar")


class VarLimit(RiskRule):
    """Keep the historical 1-day VaR (or CVaR) of the post-trade portfolio within ``limit`` % of equity.

    Scenarios: the last ``window`` overlapping 1-day returns (``view.bars_per(24)`` bars; one bar on
    daily data) of every asset, applied to the portfolio after the batch (positions held plus every
    kept order's change, valued at the decision bar's close): P&L_s = sum_j q_j p_j r_sj. VaR at
    ``confidence`` % is minus the (100 - confidence) % quantile of those P&Ls (``measure="cvar"``: the
    mean of the scenarios at or below it). When the requested portfolio is above the limit, the opening
    parts of all the batch's orders are scaled by one factor k (the largest k in [0, 1], to 1e-9, whose
    portfolio holds the limit; reducing parts always pass). When no k holds the limit (the book
    without the orders is already above it), k is the one of least risk on a grid of 17 (never more
    than asked), and a ``var_limit_breach`` event says so (``var_before``, ``var_after``, ``limit``,
    ``factor``).

    Each cut order is logged with ``var_before`` (requested portfolio), ``var_after``, ``limit``
    (currency), ``limit_pct``, ``confidence``, ``measure`` and ``factor``.

    >>> VarLimit(limit=2.5).confidence
    95.0
    """

    name = "var_limit"
    PARAMS = ("limit", "confidence", "window", "measure")

    def __init__(self, limit: float = 5.0, confidence: float = 95.0, window: int = 250,
                 measure: str = "var") -> None:
        self.limit = check_percent(limit, "limit", self.name)
        self.confidence = check_fraction(confidence, "confidence", self.name, low=50.0, high=99.99)
        self.window = check_positive_int(window, "window", self.name, minimum=5)
        if measure not in MEASURES:
            raise ValueError(f"{self.name} measure must be one of {list(MEASURES)}, got {measure!r}")
        self.measure = measure

    def init(self, ctx: Any) -> None:
        self._kept = None               # the scenario returns of the last run (see _ring)
        self._h_view = self._h = None

    def pre_trade(self, view: Any, batch: Any) -> None:
        self._screen(view, batch, batch.price, batch.equity)

    def pre_limits(self, view: Any, batch: Any) -> None:
        """Resting orders as potential new exposure at their levels: the portfolio as it would be
        with every kept resting order of the call filled, each valued at its level (the positions
        held at the decision bar's close), their opening parts scaled together as for a market batch."""
        self._screen(view, batch, batch.price.astype(np.float64), view.equity)

    def _ring(self, view: Any, rows: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Where the scenario returns are kept between decisions of one run: (first bar of the close
        window, ring of ``window`` x N returns, the bar each row holds); an empty ring (no returns
        kept) for a view without a bar clock."""
        bar = getattr(view, "bar", None)
        if bar is None:
            return 0, np.empty((0, 0)), np.empty(0, dtype=np.int64)
        kept = getattr(self, "_kept", None)
        if kept is None or kept[0] is not view:
            n = len(view.symbols)
            kept = self._kept = (view, np.empty((self.window, n)), np.full(self.window, -1, dtype=np.int64))
        return int(bar) - rows + 1, kept[1], kept[2]

    def _horizon(self, view: Any) -> int:
        h = getattr(self, "_h", None)
        if h is None or getattr(self, "_h_view", None) is not view:
            h, self._h_view = view.bars_per(24), view
            self._h = h
        return h

    def _screen(self, view: Any, batch: Any, px: np.ndarray, equity: float) -> None:
        """``px``: the price each order's change is valued at."""
        opening = kept_opening(batch)
        if not opening.any():
            return
        want = batch.requested()
        h = self._horizon(view)
        close = view.history("close", self.window + h)
        if len(close) - h < 2:
            return
        change = np.where(batch.keep, want, 0.0)
        limit = self.limit / 100.0 * equity
        q = 1.0 - self.confidence / 100.0
        # one compiled pass: book, scenarios, search (VaR or expected shortfall)
        t0, ring, ring_bar = self._ring(view, len(close))
        before, k, after = var_screen(close, h, view.positions, view.price, batch.asset, change, opening, px,
                                      limit, q, t0, ring, ring_bar, self.measure == "cvar")
        if before <= limit:
            return
        if after > limit:
            view.log_event("var_limit_breach", var_before=before, var_after=after, limit=limit,
                           limit_pct=self.limit, factor=k, measure=self.measure)
        cut_opening_many(batch, np.flatnonzero(opening != 0.0), k, rule=self.name,
                         reason=f"{self.measure}_above_limit", want=want, opening=opening,
                         var_before=before, var_after=after, limit=limit, limit_pct=self.limit,
                         confidence=self.confidence, measure=self.measure)
