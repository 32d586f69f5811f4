"""Rebalancing rules: a schedule, a drift trigger, or both; a minimum trade size against dust trades."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def weight_drift(current: np.ndarray, target: np.ndarray) -> float:
    """The largest absolute difference between current and target weights.

    >>> weight_drift(np.array([0.55, 0.45]), np.array([0.5, 0.5]))
    0.050000000000000044
    """
    return float(np.max(np.abs(np.asarray(current) - np.asarray(target)))) if len(current) else 0.0


@dataclass(frozen=True)
class RebalanceRule:
    """When to rebalance and which trades to skip.

    ``schedule``: a calendar or every-N-bars schedule (``None``: none); ``drift``: rebalance when any
    weight is more than ``drift`` away from its target (``None``: no trigger); with both, either one
    triggers. ``min_trade``: a change of an asset's weight smaller than this is not traded (the asset is
    left alone), except closing a position whose target is 0.

    >>> r = RebalanceRule(schedule=None, drift=0.05)
    >>> r.due(scheduled=False, current=np.array([0.56, 0.44]), target=np.array([0.5, 0.5]))
    True
    >>> r = RebalanceRule(schedule="monthly", min_trade=0.01)
    >>> r.trades(np.array([0.505, 0.30]), np.array([0.5, 0.5])).tolist()   # 0.5% change: skipped
    [nan, 0.3]
    """

    schedule: str | int | None = "monthly"
    drift: float | None = None
    min_trade: float = 0.0

    def __post_init__(self) -> None:
        d = self.drift
        if d is not None and (isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 < d < 1):
            raise ValueError(f"drift must be a number in (0, 1), got {self.drift!r}")
        if isinstance(self.min_trade, bool) or not isinstance(self.min_trade, (int, float)) or \
                not 0 <= self.min_trade < 1:
            raise ValueError(f"min_trade must be a number in [0, 1), got {self.min_trade!r}")
        if self.schedule is None and self.drift is None:
            raise ValueError("rebalancing needs a schedule, a drift trigger or both")

    def due(self, scheduled: bool, current: np.ndarray | None, target: np.ndarray | None) -> bool:
        """Rebalance now: on a scheduled bar, or when the drift from the last target exceeds ``drift``."""
        if scheduled and self.schedule is not None:
            return True
        if self.drift is None or current is None or target is None:
            return False
        return weight_drift(current, target) > self.drift

    def trades(self, target: np.ndarray, current: np.ndarray) -> np.ndarray:
        """The target with dust changes (below ``min_trade``) replaced by NaN (leave the asset alone)."""
        t = np.asarray(target, dtype=np.float64).copy()
        if self.min_trade > 0:
            dust = (np.abs(t - current) < self.min_trade) & ~((t == 0) & (current != 0))
            t[dust] = np.nan
        return t

    def describe(self) -> dict[str, Any]:
        """The rule's settings."""
        return {"schedule": self.schedule, "drift": self.drift, "min_trade": self.min_trade}
