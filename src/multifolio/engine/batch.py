"""Order batches as risk rules see them: a strategy's orders of one decision, before they reach the kernels.

A strategy's market-type orders (market quantities, notionals, target weights, target quantities) of one
decision form an :class:`OrderBatch`; resting orders (limit, stop) placed in one call form a
:class:`LimitBatch`. Each rule of the portfolio sees the batch in turn (``pre_trade`` / ``pre_limits``)
and may cut, scale or drop orders with :meth:`set_qty`, :meth:`scale` and :meth:`drop`, or many at
once with :meth:`set_qty_many` and :meth:`scale_many` (one NumPy pass for a whole batch). Every
intervention is kept (rule, symbol, requested and allowed quantity, reason, the figures behind it) as
columns (:class:`Interventions`, one block per call) and becomes a ``risk`` event of the Result when
the Result's events are built.

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
>>> b.scale_many(np.array([0, 1]), np.array([0.5, 0.0]), rule="cap", reason="too_large", cap=3.0)
>>> b.qty.tolist(), b.keep.tolist(), [(s, d["allowed_qty"], d["factor"]) for s, d in b.log[-1].rows()]
([0.5, -1.0], [True, False], [('A', 0.5, 0.5), ('B', 0.0, 0.0)])
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numba as nb
import numpy as np

from multifolio.engine import codes as C

__all__ = ["Interventions", "OrderBatch", "LimitBatch", "event_rows"]


class Interventions:
    """One call's interventions on a batch, as columns: ``asset``, ``requested``, ``allowed`` (arrays),
    ``rule`` and ``reason`` (strings), ``figures`` (name -> one value for all, or a NumPy array with
    one value per order). :meth:`rows` expands them into ``risk`` events."""

    __slots__ = ("rule", "reason", "symbols", "asset", "requested", "allowed", "figures")

    def __init__(self, rule: str, reason: str, symbols: list[str], asset: np.ndarray,
                 requested: np.ndarray, allowed: np.ndarray, figures: dict[str, Any]) -> None:
        self.rule = rule
        self.reason = reason
        self.symbols = symbols
        self.asset = asset
        self.requested = requested
        self.allowed = allowed
        self.figures = figures

    def __len__(self) -> int:
        return len(self.asset)

    def rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(symbol, details) per intervention; details: ``rule``, ``requested_qty``, ``allowed_qty``,
        ``reason`` and the figures (plain Python values)."""
        n = len(self.asset)
        cols = {k: (v.tolist() if isinstance(v, np.ndarray) else [v] * n) for k, v in self.figures.items()}
        names = list(cols)
        values = list(zip(*cols.values(), strict=True)) if names else [()] * n
        for a, want, got, figs in zip(self.asset.tolist(), self.requested.tolist(), self.allowed.tolist(),
                                      values, strict=True):
            details = {"rule": self.rule, "requested_qty": want, "allowed_qty": got, "reason": self.reason}
            details.update(zip(names, figs, strict=True))
            yield self.symbols[a], details


def event_rows(events: list[tuple[int, str, str | None, Any]]
               ) -> Iterator[tuple[int, str, str | None, dict[str, Any]]]:
    """An account's events with each :class:`Interventions` block expanded into ``risk`` rows."""
    for bar, kind, symbol, details in events:
        if isinstance(details, Interventions):
            for sym, d in details.rows():
                yield bar, kind, sym, d
        else:
            yield bar, kind, symbol, details


def _per_order(value: Any, n: int, keep: np.ndarray | None) -> Any:
    """A figure for ``n`` orders: arrays are taken per order (subset by ``keep``), others as one value."""
    if isinstance(value, np.ndarray):
        if value.shape != (n,):
            raise ValueError(f"a per-order figure must have one value per order ({n}), got shape "
                             f"{value.shape}")
        return value if keep is None else value[keep]
    if isinstance(value, np.generic):
        return value.item()
    return value


_MARKET, _NOTIONAL, _TARGET_QTY = C.MARKET, C.NOTIONAL, C.TARGET_QTY


@nb.njit(cache=True)
def _cut(idx: np.ndarray, qty: np.ndarray, current: np.ndarray, keep: np.ndarray, kind: np.ndarray,
         value: np.ndarray, held: np.ndarray, price: np.ndarray, equity: float, orders: bool
         ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check then apply allowed changes ``qty`` to orders ``idx`` of a batch (``current``: their
    requested changes; ``orders``: an OrderBatch, whose ``value`` is rewritten by ``kind``).

    Returns (bad, sel, want, got, changed): ``bad`` the first position that is not a cut (-1 when all
    are; nothing is applied then), ``sel`` the positions that changed, with the requested and allowed
    quantities of those, and the mask of them."""
    n = len(idx)
    changed = np.zeros(n, dtype=np.bool_)
    for r in range(n):
        q = qty[r]
        w = current[idx[r]]
        if not np.isfinite(q) or q * w < 0 or abs(q) > abs(w) * (1 + 1e-12):
            return r, idx[:0], qty[:0], qty[:0], changed
        changed[r] = q != w
    m = 0
    for r in range(n):
        if changed[r]:
            m += 1
    sel = np.empty(m, dtype=idx.dtype)
    want = np.empty(m)
    got = np.empty(m)
    m = 0
    for r in range(n):
        if not changed[r]:
            continue
        i = idx[r]
        q = qty[r] + 0.0                         # no -0.0
        sel[m] = i
        want[m] = current[i]
        got[m] = q
        m += 1
        if q == 0.0:
            keep[i] = False
            continue
        if orders:
            k = kind[i]
            if k == _MARKET:                     # the quantity
                value[i] = q
            elif k == _NOTIONAL:                 # scaled
                value[i] = value[i] * (q / current[i])
            elif k == _TARGET_QTY:
                value[i] = held[i] + q
            else:                                # target weight, at the decision bar's prices
                value[i] = (held[i] + q) * price[i] / equity
        current[i] = q
    return -1, sel, want, got, changed


@nb.njit(cache=True)
def _changes(kind: np.ndarray, value: np.ndarray, price: np.ndarray, held: np.ndarray,
             equity: float) -> np.ndarray:
    """Each order's requested change of position at the decision bar (0 where it cannot be priced)."""
    out = np.empty(len(kind))
    for i in range(len(kind)):
        k = kind[i]
        if k == _MARKET:
            x = value[i]
        elif k == _NOTIONAL:
            x = value[i] / price[i]
        elif k == _TARGET_QTY:
            x = value[i] - held[i]
        else:
            x = value[i] * equity / price[i] - held[i]
        out[i] = x if np.isfinite(x) else 0.0
    return out


@nb.njit(cache=True)
def _opening(req: np.ndarray, held: np.ndarray) -> np.ndarray:
    """The part of each change that opens or extends a position."""
    out = np.empty(len(req))
    for i in range(len(req)):
        r, h = req[i], held[i]
        out[i] = r - np.sign(r) * min(abs(r), abs(h)) if r * h < 0 else r
    return out


class _Batch:
    """What both batches share: the interventions log and the kept-orders mask."""

    asset: np.ndarray
    symbols: list[str]

    def __init__(self) -> None:
        self.keep = np.ones(len(self.asset), dtype=bool)
        self.log: list[Interventions] = []

    def __len__(self) -> int:
        return len(self.asset)

    @property
    def symbol(self) -> list[str]:
        """The symbol of each order."""
        return [self.symbols[int(j)] for j in self.asset]

    @property
    def interventions(self) -> list[dict[str, Any]]:
        """Every intervention so far as a dict (``rule``, ``symbol``, ``requested_qty``,
        ``allowed_qty``, ``reason``, figures), in the order they were made."""
        return [{"symbol": s, **d} for block in self.log for s, d in block.rows()]

    def requested(self) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _current(self) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _cut(self, idx: np.ndarray, qty: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray,
                                                              np.ndarray]:
        empty = np.empty(0)
        return _cut(idx, qty, self._current(), self.keep, idx, empty, empty, empty, 1.0, False)

    def set_qty_many(self, idx: Any, qty: Any, *, rule: str, reason: str, **figures: Any) -> None:
        """Allow orders ``idx`` the signed changes ``qty`` (each the sign of its request, not larger;
        0 drops the order), checked then applied in one compiled pass; the interventions are logged as
        one block. ``figures``: a value for all, or an array per order."""
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        n = len(idx)
        if n == 0:
            return
        qty = np.asarray(qty, dtype=np.float64)
        if qty.ndim == 0:
            qty = np.full(n, float(qty))
        elif qty.shape != (n,):
            raise ValueError(f"{rule}: {n} orders but {qty.shape} quantities")
        if n > 1 and (idx[1:] <= idx[:-1]).any() and len(np.unique(idx)) != n:
            raise ValueError(f"{rule}: an order appears twice in one call")
        bad, sel, want, got, changed = self._cut(idx, qty)
        if bad >= 0:
            w, q = float(self._current()[idx[bad]]), float(qty[bad])
            if not np.isfinite(q):
                raise ValueError(f"{rule}: allowed quantity must be finite, got {q!r}")
            raise ValueError(f"{rule}: may only cut an order (requested {w!r}, allowed {q!r})")
        if len(sel) == 0:
            return
        mask = None if len(sel) == n else changed
        figs = {k: _per_order(v, n, mask) for k, v in figures.items()} if figures else {}
        self.log.append(Interventions(rule, reason, self.symbols, self.asset[sel], want, got, figs))

    def scale_many(self, idx: Any, factors: Any, *, rule: str, reason: str, **figures: Any) -> None:
        """Scale orders ``idx`` by ``factors`` (each in [0, 1]; one for all or one per order); the
        factors are logged as the figure ``factor``."""
        idx = np.asarray(idx, dtype=np.intp).reshape(-1)
        f = np.asarray(factors, dtype=np.float64)
        if not ((f >= 0.0) & (f <= 1.0)).all():
            bad = f[~((f >= 0.0) & (f <= 1.0))].reshape(-1)[0]
            raise ValueError(f"{rule}: scale factor must be in [0, 1], got {float(bad)!r}")
        figures["factor"] = f.copy() if f.ndim else float(f)
        self.set_qty_many(idx, self._current()[idx] * f, rule=rule, reason=reason, **figures)

    def set_qty(self, i: int, qty: float, *, rule: str, reason: str, **figures: Any) -> None:
        """Allow order ``i`` a signed change of ``qty`` (same sign as requested, not larger); 0 drops it."""
        self.set_qty_many(np.array([int(i)]), float(qty), rule=rule, reason=reason, **figures)

    def scale(self, i: int, factor: float, *, rule: str, reason: str, **figures: Any) -> None:
        """Scale order ``i`` by ``factor`` in [0, 1]."""
        if not 0.0 <= factor <= 1.0:
            raise ValueError(f"{rule}: scale factor must be in [0, 1], got {factor!r}")
        self.scale_many(np.array([int(i)]), float(factor), rule=rule, reason=reason, **figures)

    def drop(self, i: int, *, rule: str, reason: str, **figures: Any) -> None:
        """Refuse order ``i``."""
        self.set_qty_many(np.array([int(i)]), 0.0, rule=rule, reason=reason, **figures)

    def drop_many(self, idx: Any, *, rule: str, reason: str, **figures: Any) -> None:
        """Refuse orders ``idx``."""
        self.set_qty_many(idx, 0.0, rule=rule, reason=reason, **figures)


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
        self._requested = _changes(np.asarray(kind, dtype=np.int64), self.value,
                                   np.asarray(price, dtype=np.float64), np.asarray(held, dtype=np.float64),
                                   self.equity)

    def requested(self) -> np.ndarray:
        """Signed change of each order's position, estimated at the decision bar (0 without a price)."""
        return self._requested.copy()

    def _current(self) -> np.ndarray:
        return self._requested

    def notional(self) -> np.ndarray:
        """|requested change| x last close, per order."""
        return np.abs(self._requested) * np.nan_to_num(self.price)

    @property
    def opening(self) -> np.ndarray:
        """The part of each requested change that opens or extends a position (signed)."""
        return _opening(self._requested, np.asarray(self.held, dtype=np.float64))

    def _cut(self, idx: np.ndarray, qty: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray,
                                                              np.ndarray]:
        return _cut(idx, qty, self._requested, self.keep, self.kind, self.value, self.held, self.price,
                    self.equity, True)


class LimitBatch(_Batch):
    """Resting orders placed in one call: arrays ``asset``, ``qty`` (signed), ``price`` (level), ``kind``.

    ``held`` is the quantity held per order's asset when they are placed (zeros when not given). A
    resting order is potential new exposure at its level: its :attr:`opening` part is what would open
    or extend a position if it filled, the orders on the other side of a position using it up in
    their order (a grid's sells above a long close it first, then open shorts).
    """

    def __init__(self, asset: np.ndarray, qty: np.ndarray, price: np.ndarray, kind: np.ndarray,
                 symbols: list[str], held: np.ndarray | None = None) -> None:
        self.asset = asset
        self.qty = qty.astype(np.float64, copy=True)
        self.price = price
        self.kind = kind
        self.symbols = symbols
        self.held = np.zeros(len(asset)) if held is None else np.asarray(held, dtype=np.float64)
        super().__init__()

    def requested(self) -> np.ndarray:
        return self.qty.copy()

    def _current(self) -> np.ndarray:
        return self.qty

    @property
    def opening(self) -> np.ndarray:
        """The part of each order that would open or extend a position if it filled (signed); orders
        against a position use it up in the batch's order, dropped orders use none."""
        q, h = np.where(self.keep, self.qty, 0.0), self.held
        against = q * h < 0
        if not against.any():
            return q
        size = np.where(against, np.abs(q), 0.0)
        order = np.argsort(self.asset, kind="stable")
        a, s = self.asset[order], size[order]
        cum = np.cumsum(s)
        start = np.r_[True, a[1:] != a[:-1]]
        before_group = np.repeat((cum - s)[start], np.diff(np.r_[np.flatnonzero(start), len(a)]))
        used = np.empty_like(s)
        used[order] = cum - s - before_group          # what earlier orders against it already took
        reducing = np.clip(np.abs(h) - used, 0.0, size)
        return q - np.sign(q) * reducing

    def notional(self) -> np.ndarray:
        return np.abs(self.qty) * self.price

