"""Value-at-risk limit on the portfolio as it would be after the batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from multifolio.portfolio.risk.base import RiskRule
from multifolio.portfolio.risk.tools import (
    check_fraction,
    check_percent,
    check_positive_int,
    cut_opening,
    historical_cvar,
    historical_var,
    horizon_returns,
    kept_opening,
    linear_quantile,
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
    without the orders is already above it), k is the one of least risk on a grid of 65 (never more
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

    def risk(self, pnl: np.ndarray) -> float:
        """The rule's measure of a vector of P&L scenarios (a positive loss)."""
        if self.measure == "cvar":
            return historical_cvar(pnl, self.confidence)
        return historical_var(pnl, self.confidence)

    def _factor(self, base: np.ndarray, extra: np.ndarray, limit: float) -> float:
        """The largest k in [0, 1] (to 1e-9) with risk(base + k extra) <= limit, found on a grid of 65
        points then by bisection above the largest feasible one; without any feasible point, the k
        of the grid with the least risk."""
        ks = np.linspace(0.0, 1.0, 65)
        pnl = base[None, :] + ks[:, None] * extra[None, :]
        if self.measure == "var":
            risks = -linear_quantile(pnl, 1.0 - self.confidence / 100.0)
        else:
            risks = np.array([self.risk(row) for row in pnl])
        ok = np.flatnonzero(risks <= limit)
        if len(ok) == 0:
            return float(ks[int(np.argmin(risks))])
        j = int(ok[-1])
        if j == len(ks) - 1:
            return 1.0
        lo, hi = float(ks[j]), float(ks[j + 1])
        while hi - lo > 1e-9:
            mid = 0.5 * (lo + hi)
            if self.risk(base + mid * extra) <= limit:
                lo = mid
            else:
                hi = mid
        return lo

    def pre_trade(self, view: Any, batch: Any) -> None:
        opening = kept_opening(batch)
        if not opening.any():
            return
        rets = horizon_returns(view, self.window, view.bars_per(24))
        if len(rets) < 2:
            return
        price = np.nan_to_num(view.price)
        change = np.where(batch.keep, batch.requested(), 0.0)
        base = view.positions.astype(np.float64)
        np.add.at(base, batch.asset, change - opening)        # held + reducing parts
        extra = np.zeros_like(base)
        np.add.at(extra, batch.asset, opening)
        pnl_base = rets @ (base * price)
        pnl_extra = rets @ (extra * price)
        limit = self.limit / 100.0 * batch.equity
        before = self.risk(pnl_base + pnl_extra)
        if before <= limit:
            return
        k = self._factor(pnl_base, pnl_extra, limit)
        after = self.risk(pnl_base + k * pnl_extra)
        if after > limit:
            view.log_event("var_limit_breach", var_before=before, var_after=after, limit=limit,
                           limit_pct=self.limit, factor=k, measure=self.measure)
        want = batch.requested()
        for i in np.flatnonzero(opening != 0.0):
            cut_opening(batch, int(i), k, rule=self.name, reason=f"{self.measure}_above_limit",
                        want=want[i], opening=opening[i],
                        var_before=before, var_after=after, limit=limit, limit_pct=self.limit,
                        confidence=self.confidence, measure=self.measure)
