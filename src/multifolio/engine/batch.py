"""Order batches as risk rules see them: a strategy's orders of one decision, before they reach the kernels.

A strategy's market-type orders (market quantities, notionals, target weights, target quantities) of one
decision form an :class:`OrderBatch`; resting orders (limit, stop) placed in one call form a
:class:`LimitBatch`. Each rule of the portfolio sees the batch in turn (``pre_trade`` / ``pre_limits``)
and may cut, scale or drop orders with :meth:`set_qty`, :meth:`scale` and :meth:`drop`; every
intervention is kept (rule, symbol, requested and allowed quantity, reason, the figures behind it) and
becomes a ``risk`` event of the Result.

Quantities are signed *changes* of the position. For a target order the requested change is estimated
at the decision bar (last close, end-of-bar equity): ``target_weights({"A": 0.5})`` with 2 units of A
held at 10 and an equity of 100 requests +3. Cutting it to +1 rewrites the target so that the change
is +1 at those prices (weight 0.3); at execution the engine recomputes the target at the execution
price, as for any target order.

>>> import numpy as np
>>> b = LimitBatch(np.array([0, 1]), np.array([2.0, -1.0]), np.array([9.5, 20.5]), np.array([4, 4]),
...                ["A", "B"])
>>> b.scale(0, 0.5, rule="cap", reason="too_large")
>>> b.qty.tolist(), [(i["symbol"], i["requested_qty"], i["allowed_qty"]) for i in b.interventions]
([1.0, -1.0], [('A', 2.0, 1.0)])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from multifolio.engine import codes as C

__all__ = ["OrderBatch", "LimitBatch"]


class _Batch:
    """What both batches share: the interventions log and the kept-orders mask."""

    asset: np.ndarray
    symbols: list[str]

    def __init__(self) -> None:
        self.keep = np.ones(len(self.asset), dtype=bool)
        self.interventions: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.asset)

    @property
    def symbol(self) -> list[str]:
        """The symbol of each order."""
        return [self.symbols[int(j)] for j in self.asset]

    def requested(self) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _rewrite(self, i: int, qty: float) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def set_qty(self, i: int, qty: float, *, rule: str, reason: str, **figures: Any) -> None:
        """Allow order ``i`` a signed change of ``qty`` (same sign as requested, not larger); 0 drops it."""
        want = float(self.requested()[i])
        qty = float(qty)
        if not np.isfinite(qty):
            raise ValueError(f"{rule}: allowed quantity must be finite, got {qty!r}")
        if qty * want < 0 or abs(qty) > abs(want) * (1 + 1e-12):
            raise ValueError(f"{rule}: may only cut an order (requested {want!r}, allowed {qty!r})")
        if qty == want:
            return
        self.interventions.append({"rule": rule, "symbol": self.symbols[int(self.asset[i])],
                                   "requested_qty": want, "allowed_qty": qty, "reason": reason,
                                   **figures})
        if qty == 0.0:
            self.keep[i] = False
        else:
            self._rewrite(i, qty)

    def scale(self, i: int, factor: float, *, rule: str, reason: str, **figures: Any) -> None:
        """Scale order ``i`` by ``factor`` in [0, 1]."""
        if not 0.0 <= factor <= 1.0:
            raise ValueError(f"{rule}: scale factor must be in [0, 1], got {factor!r}")
        self.set_qty(i, float(self.requested()[i]) * factor, rule=rule, reason=reason,
                     factor=float(factor), **figures)

    def drop(self, i: int, *, rule: str, reason: str, **figures: Any) -> None:
        """Refuse order ``i``."""
        self.set_qty(i, 0.0, rule=rule, reason=reason, **figures)


class OrderBatch(_Batch):
    """One decision's market-type orders: arrays ``asset``, ``kind``, ``value``, ``order_id``, ``tag``.

    ``held``, ``price`` and ``equity`` are the account at the decision bar (quantity held per order,
    last close per order, end-of-bar equity); they turn targets into requested changes.
    """

    def __init__(self, asset: np.ndarray, kind: np.ndarray, value: np.ndarray, order_id: np.ndarray,
                 tag: np.ndarray, symbols: list[str], held: np.ndarray, price: np.ndarray,
                 equity: float) -> None:
        self.asset = asset
        self.kind = kind
        self.value = value.astype(np.float64, copy=True)
        self.order_id = order_id
        self.tag = tag
        self.symbols = symbols
        self.held = held
        self.price = price
        self.equity = float(equity)
        super().__init__()
        self._requested = self._changes()

    def _changes(self) -> np.ndarray:
        v, p, h = self.value, self.price, self.held
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.select(
                [self.kind == C.MARKET, self.kind == C.NOTIONAL, self.kind == C.TARGET_QTY],
                [v, v / p, v - h],
                v * self.equity / p - h)
        return np.where(np.isfinite(out), out, 0.0)

    def requested(self) -> np.ndarray:
        """Signed change of each order's position, estimated at the decision bar (0 without a price)."""
        return self._requested.copy()

    def notional(self) -> np.ndarray:
        """|requested change| x last close, per order."""
        return np.abs(self._requested) * np.nan_to_num(self.price)

    @property
    def opening(self) -> np.ndarray:
        """The part of each requested change that opens or extends a position (signed)."""
        r, h = self._requested, self.held
        reducing = np.where(r * h < 0, np.sign(r) * np.minimum(np.abs(r), np.abs(h)), 0.0)
        return r - reducing

    def _rewrite(self, i: int, qty: float) -> None:
        kind, old = int(self.kind[i]), float(self._requested[i])
        if kind == C.MARKET:
            self.value[i] = qty
        elif kind == C.NOTIONAL:
            self.value[i] *= qty / old
        elif kind == C.TARGET_QTY:
            self.value[i] = self.held[i] + qty
        else:
            self.value[i] = (self.held[i] + qty) * self.price[i] / self.equity
        self._requested[i] = qty


class LimitBatch(_Batch):
    """Resting orders placed in one call: arrays ``asset``, ``qty`` (signed), ``price`` (level), ``kind``."""

    def __init__(self, asset: np.ndarray, qty: np.ndarray, price: np.ndarray, kind: np.ndarray,
                 symbols: list[str]) -> None:
        self.asset = asset
        self.qty = qty.astype(np.float64, copy=True)
        self.price = price
        self.kind = kind
        self.symbols = symbols
        super().__init__()

    def requested(self) -> np.ndarray:
        return self.qty.copy()

    def notional(self) -> np.ndarray:
        return np.abs(self.qty) * self.price

    def _rewrite(self, i: int, qty: float) -> None:
        self.qty[i] = qty
