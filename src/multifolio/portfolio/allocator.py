"""The capital allocator: target weights across portfolios, reached by moving free cash between them.

An allocator never forces a sale: at a bar where it is due (its schedule, or when any portfolio's weight
of the combined equity has drifted more than ``drift`` from its target) it moves only *free* cash — cash
not tied up as margin — from the portfolios above their target to those below. When the free cash of the
donors cannot cover every shortfall, each donor gives the same fraction of what it could give and each
receiver gets the same fraction of its shortfall, so the moves are proportional and the sum given equals
the sum received. Each move is a ``transfer`` event (from, to, amount, reason) on both accounts; the
portfolios' returns are time-weighted (``Result.snapshots["transfers"]``), so flows are not returns.

Weights are fixed (``weights={"a": 0.6, "b": 0.4}``, normalised) or equal (``weights="equal"``).

>>> from multifolio.engine.account import AccountView as V
>>> alloc = CapitalAllocator(["a", "b"], weights={"a": 0.5, "b": 0.5}, schedule=1)
>>> views = [V("a", equity=1_500.0, cash=400.0, free_cash=400.0, capital=1_000.0),
...          V("b", equity=500.0, cash=500.0, free_cash=500.0, capital=1_000.0)]
>>> alloc.transfers(0, views)          # a is 500 over its 1,000 target but only 400 of it is free cash
[(0, 1, 400.0, 'rebalance')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from multifolio.engine.account import AccountView
from multifolio.engine.strategy import SCHEDULES, decision_mask
from multifolio.strategies.allocation.rebalance import weight_drift

__all__ = ["CapitalAllocator"]


class CapitalAllocator:
    """Moves free cash between portfolios toward target ``weights`` on a ``schedule`` and/or ``drift``.

    ``schedule``: ``"daily"``, ``"weekly"``, ``"monthly"``, an int N (every N bars) or None (drift only);
    ``drift``: rebalance when any weight of the combined equity is more than this (a fraction, e.g. 0.05)
    away from its target; ``min_transfer``: moves smaller than this amount are skipped (dust).
    """

    def __init__(self, ids: Sequence[str], weights: Mapping[str, float] | str = "equal",
                 schedule: str | int | None = "monthly", drift: float | None = None,
                 min_transfer: float = 0.0) -> None:
        self.ids = [str(i) for i in ids]
        if len(set(self.ids)) != len(self.ids):
            raise ValueError(f"allocator: portfolio ids must be unique, got {self.ids}")
        if isinstance(weights, str):
            if weights != "equal":
                raise ValueError(f"allocator weights must be 'equal' or {{id: weight}}, got {weights!r}")
            w = np.full(len(self.ids), 1.0 / len(self.ids))
        else:
            unknown = [k for k in weights if k not in self.ids]
            if unknown:
                raise ValueError(f"allocator weights name unknown portfolio(s) {unknown}; known: {self.ids}")
            w = np.array([_nonneg(weights.get(i, 0.0), i) for i in self.ids])
            if not w.sum() > 0:
                raise ValueError("allocator weights must not all be zero")
            w = w / w.sum()
        self.weights = w
        if schedule is not None and not (schedule in SCHEDULES or (isinstance(schedule, int)
                                                                   and not isinstance(schedule, bool)
                                                                   and schedule >= 1)):
            raise ValueError(f"allocator schedule must be one of {SCHEDULES}, an int N >= 1 or None, "
                             f"got {schedule!r}")
        if drift is not None and not (isinstance(drift, (int, float)) and 0 < drift < 1):
            raise ValueError(f"allocator drift is a fraction of the combined equity in (0, 1), got {drift!r}")
        if schedule is None and drift is None:
            raise ValueError("allocator needs a schedule, a drift threshold, or both")
        if not (isinstance(min_transfer, (int, float)) and min_transfer >= 0):
            raise ValueError(f"allocator min_transfer must be >= 0, got {min_transfer!r}")
        self.schedule = schedule
        self.drift = drift
        self.min_transfer = float(min_transfer)
        self._scheduled: np.ndarray | None = None

    def describe(self) -> dict[str, Any]:
        return {"weights": dict(zip(self.ids, self.weights.tolist(), strict=True)),
                "schedule": self.schedule, "drift": self.drift, "min_transfer": self.min_transfer}

    def bind(self, index: pd.DatetimeIndex, start_bar: int = 0) -> CapitalAllocator:
        """Fix the scheduled bars on the run's clock (the period's last bar of each day/week/month)."""
        mask = np.zeros(len(index), dtype=bool)
        if self.schedule is not None:
            mask = decision_mask(index, self.schedule, start_bar)
            mask[: start_bar + 1] = False         # nothing to rebalance before the first bar has traded
        self._scheduled = mask
        self._drift_from = start_bar + 1
        return self

    def due(self, t: int) -> bool:
        """A bar at which the allocator looks (scheduled, or every bar when drift is watched)."""
        if self._scheduled is None:
            raise RuntimeError("allocator: bind(index) before the run")
        return bool(self._scheduled[t]) or (self.drift is not None and t >= self._drift_from)

    def transfers(self, t: int, views: Sequence[AccountView]) -> list[tuple[int, int, float, str]]:
        """The moves at bar t: ``(from_index, to_index, amount, reason)``."""
        equity = np.array([max(v.equity, 0.0) for v in views])
        total = equity.sum()
        if not total > 0:
            return []
        # unbound (called directly): a scheduled rebalance
        scheduled = self._scheduled is None or bool(self._scheduled[t])
        if not scheduled and weight_drift(equity / total, self.weights) <= (self.drift or 0.0):
            return []
        reason = "rebalance" if scheduled else "drift"
        gap = self.weights * total - equity                       # + short of target, - above it
        give = np.minimum(np.maximum(-gap, 0.0), [v.free_cash for v in views])
        need = np.maximum(gap, 0.0)
        move = min(give.sum(), need.sum())
        if move <= 0:
            return []
        give = give * (move / give.sum())
        need = need * (move / need.sum())
        out = []
        for i in np.flatnonzero(give > 0):
            for j in np.flatnonzero(need > 0):
                amount = float(give[i] * need[j] / move)
                if amount > self.min_transfer and amount > 0:
                    out.append((int(i), int(j), amount, reason))
        return out


def _nonneg(value: Any, name: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"allocator weight for {name!r} must be a number, got {value!r}") from None
    if not np.isfinite(x) or x < 0:
        raise ValueError(f"allocator weight for {name!r} must be finite and >= 0, got {value!r}")
    return x
