"""Each new position at most a fixed risk budget: x % of portfolio value, optionally per unit of risk."""

from __future__ import annotations

from typing import Any

import numpy as np

from multifolio.portfolio.risk.base import RiskRule
from multifolio.portfolio.risk.tools import (
    check_percent,
    check_positive_int,
    kept_opening,
    trailing_returns,
)

BY = ("value", "volatility", "stop")


class RiskPerTrade(RiskRule):
    """Cap an order that opens a new position (the asset is not held) at a base size.

    Base size, in currency: ``percent`` % of equity (``by="value"``), divided by the asset's per-bar
    return volatility over ``window`` bars (``by="volatility"``: a position whose one-sigma bar move
    costs ``percent`` % of equity), or divided by a stop distance of ``stop_pct`` % (``by="stop"``:
    a position whose stop costs ``percent`` % of equity). Rules only cut, so a smaller order passes.
    Resting orders count too: an asset's orders on one side, added up at their levels, at most the
    base size. Logged with ``base_notional``, ``percent``, ``by`` and ``volatility`` / ``stop_pct``.

    >>> RiskPerTrade(percent=2, by="stop", stop_pct=5).by
    'stop'
    """

    name = "risk_per_trade"
    PARAMS = ("percent", "by", "window", "stop_pct")

    def __init__(self, percent: float = 1.0, by: str = "value", window: int = 20,
                 stop_pct: float = 5.0) -> None:
        self.percent = check_percent(percent, "percent", self.name)
        if by not in BY:
            raise ValueError(f"{self.name} by must be one of {list(BY)}, got {by!r}")
        self.by = by
        self.window = check_positive_int(window, "window", self.name, minimum=2)
        self.stop_pct = check_percent(stop_pct, "stop_pct", self.name)

    def pre_trade(self, view: Any, batch: Any) -> None:
        opening = kept_opening(batch)
        new = np.flatnonzero((opening != 0.0) & (batch.held == 0.0))
        if len(new) == 0:
            return
        bases = self._bases(view, batch.asset[new], batch.equity)
        if bases is None:
            return
        requested = batch.requested()      # set_qty(i) changes order i alone
        for i, (base, figures) in zip(new, bases, strict=True):
            p = float(batch.price[i])
            if base is None or not p > 0:
                continue
            want = float(requested[i])
            if abs(want) * p <= base * (1 + 1e-12):
                continue
            batch.set_qty(int(i), float(np.sign(want)) * base / p, rule=self.name,
                          reason="above_base_size", **figures)

    def pre_limits(self, view: Any, batch: Any) -> None:
        """Resting orders that would open a position in an asset not held: the orders of one asset on one
        side, added up at their levels in the call's order (a grid's levels fill one after another), at
        most the base size; the order that crosses it is cut to the room left, later ones dropped."""
        opening = kept_opening(batch)
        q = np.where(batch.keep, batch.requested(), 0.0)
        new = np.flatnonzero((opening != 0.0) & (batch.held == 0.0))
        if len(new) == 0:
            return
        assets = np.unique(batch.asset[new])
        bases = self._bases(view, assets, float(view.equity))
        if bases is None:
            return
        for a, (base, figures) in zip(assets, bases, strict=True):
            if base is None:
                continue
            for side in (q > 0, q < 0):
                room = base
                for i in new[side[new] & (batch.asset[new] == a)]:
                    p, want = float(batch.price[i]), float(q[i])
                    value = abs(want) * p
                    if value <= room * (1 + 1e-12):
                        room -= value
                    elif room > 0:
                        batch.set_qty(int(i), float(np.sign(want)) * room / p, rule=self.name,
                                      reason="above_base_size", **figures)
                        room = 0.0
                    else:
                        batch.drop(int(i), rule=self.name, reason="above_base_size", **figures)

    def _bases(self, view: Any, assets: np.ndarray, equity: float
               ) -> list[tuple[float | None, dict[str, Any]]] | None:
        """Per asset, the base size in currency (None: no volatility to size by) and the figures logged
        with a cut; None when the volatility cannot be measured yet."""
        budget = self.percent / 100.0 * equity
        common = {"percent": self.percent, "by": self.by}
        if self.by == "value":
            return [(budget, {"base_notional": budget, **common})] * len(assets)
        if self.by == "stop":
            base = budget / (self.stop_pct / 100.0)
            return [(base, {"base_notional": base, "stop_pct": self.stop_pct, **common})] * len(assets)
        rets = trailing_returns(view, self.window)
        if len(rets) < 2:
            return None
        vol = np.nanstd(rets[:, assets], axis=0, ddof=1)
        return [(budget / float(v), {"base_notional": budget / float(v), "volatility": float(v), **common})
                if v > 0 else (None, {}) for v in vol]
