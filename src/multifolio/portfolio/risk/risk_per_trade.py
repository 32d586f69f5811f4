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
    Logged with ``base_notional``, ``percent``, ``by`` and ``volatility`` / ``stop_pct``.

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
        budget = self.percent / 100.0 * batch.equity
        vol = None
        if self.by == "volatility":
            rets = trailing_returns(view, self.window)
            if len(rets) < 2:
                return
            vol = np.nanstd(rets[:, batch.asset[new]], axis=0, ddof=1)
        requested = batch.requested()      # set_qty(i) changes order i alone
        for k, i in enumerate(new):
            p = float(batch.price[i])
            if not p > 0:
                continue
            figures: dict[str, Any] = {}
            if self.by == "value":
                base = budget
            elif self.by == "stop":
                base = budget / (self.stop_pct / 100.0)
                figures["stop_pct"] = self.stop_pct
            else:
                v = float(vol[k]) if vol is not None else float("nan")
                if not v > 0:
                    continue
                base = budget / v
                figures["volatility"] = v
            want = float(requested[i])
            if abs(want) * p <= base * (1 + 1e-12):
                continue
            batch.set_qty(int(i), float(np.sign(want)) * base / p, rule=self.name,
                          reason="above_base_size", base_notional=base, percent=self.percent,
                          by=self.by, **figures)
