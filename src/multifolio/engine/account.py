"""Account: one pool of capital — cash, positions, resting orders, events, records, trading state.

An account is everything one portfolio owns. The simulator drives any number of them on one clock and
they never share state, so a portfolio's result is the same alone or beside others. Orders reach an
account through its :class:`~multifolio.engine.context.Context`; before they are queued they pass the
account's risk rules (``pre_trade`` for market-type batches, ``pre_limits`` for resting orders) and the
trading state (a *reducing* account lets only orders that shrink positions through).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from multifolio.engine import codes as C
from multifolio.engine import kernels as K
from multifolio.engine.batch import Interventions, LimitBatch, OrderBatch
from multifolio.engine.book import OrderBook, StopMoves
from multifolio.engine.raw import RawRun, orders_frame
from multifolio.engine.records import MarketOrders
from multifolio.engine.settings import AccountSettings
from multifolio.engine.state import EngineState

__all__ = ["Account", "AccountView", "TradingState"]

# (bar, kind, symbol or None, details); a batch's risk interventions are kept as one block of columns
# (details an ``Interventions``), expanded into rows when the Result's events are built
Event = tuple[int, str, str | None, "dict[str, Any] | Interventions"]
_TARGET_VERBS = {C.TARGET_WEIGHT: "target_weights", C.TARGET_QTY: "target_qty"}
_PendingOrders = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_NO_INTS = np.zeros(0, dtype=np.int64)
_NO_ORDERS = MarketOrders(_NO_INTS, _NO_INTS, np.zeros(0), _NO_INTS, _NO_INTS)   # the kernels' "none"


class TradingState(str, Enum):
    """What an account may do: trade, only shrink positions, wait, or nothing for good."""

    ACTIVE = "active"
    REDUCING = "reducing"
    PAUSED = "paused"
    HALTED = "halted"


@dataclass(frozen=True)
class AccountView:
    """An account at a bar's close, as an allocator sees it: equity, cash, free cash, capital."""

    id: str
    equity: float
    cash: float
    free_cash: float
    capital: float


class Account:
    """One account's state and its order intake.

    ``rules`` are the portfolio's risk rules; those with ``pre_trade(view, batch)`` /
    ``pre_limits(view, batch)`` screen every order (``view`` is the account's Context).
    """

    def __init__(self, index: pd.DatetimeIndex, symbols: Sequence[str], settings: AccountSettings,
                 rules: Sequence[Any] = (), id: str = "main") -> None:
        self.id = id
        self.index = index
        self.symbols = list(symbols)
        self.settings = settings
        self.state = EngineState(len(index), len(self.symbols), settings)
        self.book = OrderBook()
        self.capital = float(settings.cash)
        self.symbol_pos = {s: j for j, s in enumerate(self.symbols)}
        self.events: list[Event] = []
        self.records: dict[str, np.ndarray] = {}
        self.tags: dict[str, int] = {}
        # price ticks of the instruments that have one (None: no tick anywhere, levels as given)
        self._ticks = settings.tick if settings.tick is not None and np.any(settings.tick > 0) else None
        self.flows = np.zeros(len(index))   # cash moved in (+) or out (-) by an allocator, per bar
        self.paused_until = 0
        self.halted = False
        self.reducing = False
        self.fills_mark = 0          # fills before this row came before the current decision
        self.decided_at = 0          # the bar whose decision the pending orders come from
        self.bar = 0                 # the clock, as the simulator last set it
        self.view: Any = None        # the Context rules see (set when the Context is built)
        self._trade_rules = [r for r in rules if callable(getattr(r, "pre_trade", None))]
        self._limit_rules = [r for r in rules if callable(getattr(r, "pre_limits", None))]
        self._pending: list[_PendingOrders] = []
        self._screened = 0           # pending entries already screened by the rules
        self._brackets: list[tuple[int, list[int]]] = []   # (order id, child ids) of market entries
        self.children: dict[int, tuple[int, int]] = {}     # entry id -> (stop-loss id, take-profit id)
        self._cancelled: list[pd.DataFrame] = []
        self._constants: dict[tuple[int, int], np.ndarray] = {}

    # -- state ------------------------------------------------------------------------------------
    @property
    def trading_state(self) -> TradingState:
        if self.halted:
            return TradingState.HALTED
        if self.bar < self.paused_until:
            return TradingState.PAUSED
        return TradingState.REDUCING if self.reducing else TradingState.ACTIVE

    def free_cash(self, t: int) -> float:
        """Cash an allocator may take at bar t's close without forcing a sale: cash not needed as margin
        (never < 0)."""
        row = self.state.snap[t]
        return max(0.0, min(self.state.cash, float(row["total_equity"]) - float(row["margin_used"])))

    def allocator_view(self, t: int) -> AccountView:
        """The account at bar t's close (marked), for an allocator."""
        return AccountView(id=self.id, equity=float(self.state.snap[t]["total_equity"]),
                           cash=self.state.cash, free_cash=self.free_cash(t), capital=self.capital)

    def transfer(self, t: int, amount: float, close: np.ndarray, *, counterparty: str, reason: str) -> None:
        """Move ``amount`` of cash in (+) or out (-) at bar t's close: the capital allotted follows, the
        bar is marked again, and the flow is kept (returns are time-weighted: flows are not returns)."""
        self.bar = t
        st = self.state
        st.acct[0]["cash"] += amount
        self.capital += amount
        self.flows[t] += amount
        K.snapshot(t, close, st.acct, st.pos, st.costs, self.book.live, st.snap, st.qh)
        src, dst = (counterparty, self.id) if amount > 0 else (self.id, counterparty)
        self.log_event("transfer", None, {"from": src, "to": dst, "amount": abs(amount), "reason": reason})

    @property
    def has_ticks(self) -> bool:
        """Does any instrument round order levels to a price tick?"""
        return self._ticks is not None

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def log_event(self, kind: str, symbol: str | None, details: dict[str, Any]) -> dict[str, Any]:
        self.events.append((self.bar, kind, symbol, details))
        return details

    def reason_code(self, name: str) -> int:
        """The code of a named reason (``take_profit``, ...) or else of a user tag (``grid``)."""
        code = C.REASON_CODES.get(name)
        return code if code is not None else self.tag_code(name)

    def tag_code(self, name: str) -> int:
        if name not in self.tags:
            self.tags[name] = C.USER_TAG_BASE + len(self.tags)
        return self.tags[name]

    def record(self, name: str, value: float) -> None:
        arr = self.records.get(name)
        if arr is None:
            arr = self.records[name] = np.full(len(self.index), np.nan)
        arr[self.bar] = value

    # -- market-type orders -----------------------------------------------------------------------
    def submit_targets(self, kind: int, values: np.ndarray, reason: int) -> None:
        """Queue target orders from an N-vector (NaN = leave that asset alone)."""
        sel, vals, bad = K.present_targets(values, self.settings.allow_short)
        if bad >= 0:
            verb = _TARGET_VERBS.get(kind, C.KIND_NAMES[kind])
            if np.isinf(values[bad]):
                raise ValueError(f"{verb}: infinite value for {self.symbols[bad]!r} at "
                                 f"{self.index[self.bar]}")
            raise ValueError(f"{verb}: negative target {values[bad]!r} for {self.symbols[bad]!r} at "
                             f"{self.index[self.bar]}: shorting is off (allow_short=False)")
        n = len(sel)
        if n == 0:
            return
        ids = self.book.new_ids(n)
        self._pending.append((sel, self._constant(kind, n), vals, ids, self._constant(reason, n)))

    def _constant(self, value: int, n: int) -> np.ndarray:
        """A read-only int64 vector of ``value`` (reused: the kernels never write it)."""
        key = (value, n)
        arr = self._constants.get(key)
        if arr is None:
            if len(self._constants) > 64:
                self._constants.clear()
            arr = self._constants[key] = np.full(n, value, dtype=np.int64)
        return arr

    def _note_moving(self, moving: StopMoves | None) -> None:
        if moving is not None:
            self.state.acct[0]["has_moving_stops"] = True   # the kernels move stops from now on

    def _on_tick(self, j: int, level: float | None) -> float | None:
        """A limit or stop level on asset j's price tick (the nearest; unchanged without a tick)."""
        if level is None or self._ticks is None:
            return level
        tick = self._ticks[j]
        return level if tick <= 0.0 else round(level / tick) * tick

    def submit_market(self, j: int, kind: int, value: float, reason: int, stop_loss: float | None,
                      take_profit: float | None, moving: StopMoves | None = None) -> int:
        self._note_moving(moving)
        stop_loss, take_profit = self._on_tick(j, stop_loss), self._on_tick(j, take_profit)
        oid = int(self.book.new_ids(1)[0])
        self._pending.append((np.array([j]), np.array([kind]), np.array([value]), np.array([oid]),
                              np.array([reason])))
        if stop_loss is not None or take_profit is not None or moving is not None:
            rows = self.book.add_bracket(j, self.bar, stop_loss, take_profit, moving=moving)
            self._brackets.append((oid, [int(self.book.orders[r]["id"]) for r in rows]))
            self._remember_bracket(oid, rows)
        return oid

    def _remember_bracket(self, entry_id: int, rows: list[int]) -> None:
        o = self.book.orders
        sl = next((int(o[r]["id"]) for r in rows if o[r]["reason"] == C.STOP_LOSS), -1)
        tp = next((int(o[r]["id"]) for r in rows if o[r]["reason"] == C.TAKE_PROFIT), -1)
        self.children[entry_id] = (sl, tp)

    def mark_screened(self) -> None:
        """Orders queued so far bypass the rules (a rule's own orders, e.g. a kill switch's closes)."""
        self._screened = len(self._pending)

    def screen_pending(self) -> None:
        """Pass the orders queued since :meth:`mark_screened` through the rules and the trading state."""
        fresh = self._pending[self._screened:]
        self._screened = len(self._pending)
        if not fresh or not (self._trade_rules or self.reducing):
            return
        cols = [np.concatenate(c) for c in zip(*fresh, strict=True)]
        pos = self.state.pos
        batch = OrderBatch(cols[0], cols[1], cols[2], cols[3], cols[4], self.symbols,
                           held=pos["qty"][cols[0]], price=pos["last_price"][cols[0]],
                           equity=float(self.state.snap[self.bar]["total_equity"]))
        for rule in self._trade_rules:
            rule.pre_trade(self.view, batch)
        if self.reducing:
            _only_reducing(batch)
        self._log_interventions(batch.log)
        keep = batch.keep
        del self._pending[len(self._pending) - len(fresh):]
        if keep.any():
            self._pending.append((batch.asset[keep], batch.kind[keep], batch.value[keep],
                                  batch.order_id[keep], batch.tag[keep]))
        self._screened = len(self._pending)

    def _take_pending(self) -> MarketOrders | None:
        """The queued market-type orders as one batch, the queue emptied (None: nothing queued)."""
        if not self._pending:
            return None
        if len(self._pending) == 1:
            batch = self._pending[0]
        else:
            batch = tuple(np.concatenate(cols) for cols in zip(*self._pending, strict=True))
        self._pending = []
        self._screened = 0
        return MarketOrders(*batch)

    def execute_at_open(self, t: int, op_t: np.ndarray, cl_t: np.ndarray, px: np.ndarray) -> None:
        """``execution="next_open"``: the queued orders fill at bar t's open where it is tradable, after
        that bar's conversion rates and financing (``kernels.fill_at_open``; ``px`` an N-buffer)."""
        orders = self._take_pending()
        if orders is None:
            return
        filled = np.empty(len(orders.asset))              # the kernel writes every entry
        st = self.state
        st.ensure_room(K.room_needed(st.n_assets, 0) + 2 * len(filled))
        n_before = st.n_fills
        K.fill_at_open(t, op_t, cl_t, px, st.sched, st.funding, st.fx, orders, self.decided_at, st.acct,
                       st.pos, st.costs, st.ledgers, filled)
        if self._brackets:
            self._activate_brackets(t, orders.order_id, filled, st.fills()[n_before:])

    def settle_at_close(self, t: int, op_t: np.ndarray, cl_t: np.ndarray, last_bar: np.ndarray,
                        px: np.ndarray) -> None:
        """``execution="close"``: after a decision at bar t its orders fill at this close, the bar is marked
        again and delisted assets are closed out (one kernel call; ``px`` an N-buffer)."""
        orders = self._take_pending()
        st = self.state
        filled = np.empty(0 if orders is None else len(orders.asset))
        st.ensure_room(K.room_needed(st.n_assets, self.book.m) + 2 * len(filled))
        n_before = st.n_fills
        K.settle_close(t, op_t, cl_t, last_bar, _NO_ORDERS if orders is None else orders, orders is not None,
                       self.decided_at, st.acct, st.pos, st.costs, self.book.live, st.snap, st.qh, st.ledgers,
                       filled, px)
        if orders is not None and self._brackets:
            self._activate_brackets(t, orders.order_id, filled, st.fills()[n_before:])

    def drop_pending(self) -> None:
        self._pending = []
        self._screened = 0

    def _activate_brackets(self, t: int, ids: np.ndarray, filled: np.ndarray, fills: np.ndarray) -> None:
        """Wake the brackets of the market entries just executed at bar t. Filled at the open, an entry's
        stop-loss and take-profit are live for the rest of that bar (matched against its high and low
        next); filled at the close (``execution="close"``), from the next bar."""
        filled_by_id = dict(zip(ids.tolist(), filled.tolist(), strict=True))
        price_by_id = dict(zip(fills["order_id"].tolist(), fills["price"].tolist(), strict=True))
        active_from = t if self.settings.execute_at_open else t + 1
        for oid, child_ids in self._brackets:
            self.book.wake_children(child_ids, active_from, filled_by_id.get(oid, 0.0),
                                    price_by_id.get(oid, np.nan))
        self._brackets = []

    def modify(self, order_id: int, *, price: float | None = None, qty: float | None = None,
               stop_loss: float | None = None, take_profit: float | None = None,
               moving: StopMoves | None = None) -> None:
        """Change a live (or pending) order: its level or quantity, or, given an entry's id, the levels
        of its bracket (``stop_loss`` / ``take_profit``) and its stop's moves. Effective from the next
        bar matched. Raises ``ValueError`` for an order that is not live or a child it does not have."""
        self._note_moving(moving)
        book = self.book
        if self._ticks is not None and not (price is None and stop_loss is None and take_profit is None):
            rows = book.rows_of(np.array([order_id]))
            if len(rows):
                j = int(book.orders["asset"][rows[0]])
                price, stop_loss = self._on_tick(j, price), self._on_tick(j, stop_loss)
                take_profit = self._on_tick(j, take_profit)
        targets: list[tuple[int, float | None, StopMoves | None]] = []
        if stop_loss is not None or take_profit is not None or (moving is not None and price is None
                                                                and order_id in self.children):
            sl_id, tp_id = self.children.get(order_id, (-1, -1))
            for name, child, level in (("stop_loss", sl_id, stop_loss), ("take_profit", tp_id, take_profit)):
                mv = moving if name == "stop_loss" else None
                if level is None and mv is None:
                    continue
                if child < 0:
                    raise ValueError(f"modify: order {order_id} has no {name} child")
                targets.append((child, level, mv))
            if price is not None or qty is not None:
                targets.append((order_id, price, None))
        else:
            targets.append((order_id, price, moving))
        for oid, level, mv in targets:
            rows = book.rows_of(np.array([oid]))
            st = book.orders["status"][rows]
            rows = rows[(st == C.OPEN) | (st == C.PENDING)]
            if len(rows) == 0:
                raise ValueError(f"modify: order {oid} is not live (filled, cancelled or unknown)")
            book.modify(int(rows[0]), price=level, qty=qty if oid == order_id else None, moving=mv)

    # -- resting orders ---------------------------------------------------------------------------
    def _screen_limits(self, assets: np.ndarray, qty: np.ndarray, price: np.ndarray, kind: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not (self._limit_rules or self.reducing) or len(assets) == 0:
            return assets, qty, price
        batch = LimitBatch(assets, qty, price, np.full(len(assets), kind, dtype=np.int64), self.symbols,
                           held=self.state.pos["qty"][assets])
        for rule in self._limit_rules:
            rule.pre_limits(self.view, batch)
        if self.reducing:
            _only_reducing_limits(batch, self.state.pos["qty"])
        self._log_interventions(batch.log)
        keep = batch.keep
        return assets[keep], batch.qty[keep], price[keep]

    def submit_resting(self, j: int, kind: int, qty: float, level: float, reason: int,
                       stop_loss: float | None, take_profit: float | None,
                       moving: StopMoves | None = None) -> int:
        self._note_moving(moving)
        level = self._on_tick(j, level)
        stop_loss, take_profit = self._on_tick(j, stop_loss), self._on_tick(j, take_profit)
        a, q, _ = self._screen_limits(np.array([j]), np.array([qty]), np.array([level]), kind)
        if len(a) == 0:
            return -1
        self.book.reserve(3)              # entry + bracket: no compaction between them
        row = int(self.book.add(a, kind, q, np.array([level]), reason, self.bar)[0])
        oid = int(self.book.orders[row]["id"])
        if stop_loss is not None or take_profit is not None or moving is not None:
            rows = self.book.add_bracket(j, self.bar, stop_loss, take_profit, entry_row=row, moving=moving)
            self._remember_bracket(oid, rows)
        return oid

    def submit_limits(self, assets: np.ndarray, qty: np.ndarray, price: np.ndarray,
                      reason: int) -> np.ndarray:
        if self._ticks is not None:
            tick = self._ticks[assets]
            price = np.where(tick > 0.0, np.round(price / np.where(tick > 0.0, tick, 1.0)) * tick, price)
        assets, qty, price = self._screen_limits(assets, qty, price, C.LIMIT)
        rows = self.book.add(assets, C.LIMIT, qty, price, reason, self.bar)
        return self.book.orders["id"][rows].copy()

    def cancel_ids(self, ids: np.ndarray) -> None:
        """Cancel orders by id; they are listed in Result.orders with status ``cancelled``."""
        book = self.book
        rows = book.rows_of(ids)
        st = book.orders["status"][rows]
        rows = rows[(st == C.OPEN) | (st == C.PENDING)]
        if len(rows):
            self._cancelled.append(orders_frame(book.orders[rows], self.index, self.symbols,
                                                self._tag_names(), "cancelled", self.index[self.bar]))
            book.cancel_rows(rows)

    def _log_interventions(self, log: list[Interventions]) -> None:
        self.events.extend((self.bar, "risk", None, block) for block in log)

    # -- the run's record -------------------------------------------------------------------------
    def raw_run(self, close: np.ndarray, start_bar: int, freq: pd.Timedelta | None) -> RawRun:
        records = {}
        for name, arr in self.records.items():
            filled = arr.copy()
            valid = ~np.isnan(filled)
            idx = np.where(valid, np.arange(len(filled)), 0)
            np.maximum.accumulate(idx, out=idx)
            filled = np.where(np.maximum.accumulate(valid), filled[idx], np.nan)
            records[name] = filled
        status = self.book.live["status"]
        live = (status == C.OPEN) | (status == C.PENDING)
        return RawRun(index=self.index, symbols=list(self.symbols), state=self.state,
                      start_bar=start_bar, freq=freq, events=self.events, records=records,
                      tag_names=self._tag_names(), resting=self.book.live[live].copy(),
                      cancelled=list(self._cancelled), close=close,
                      flows=self.flows if self.flows.any() else None)

    def _tag_names(self) -> dict[int, str]:
        return {code: name for name, code in self.tags.items()}


def _only_reducing(batch: OrderBatch) -> None:
    """A reducing account: each order keeps only the part that shrinks its position."""
    opening = np.where(batch.keep, batch.opening, 0.0)
    idx = np.flatnonzero(opening != 0.0)
    batch.set_qty_many(idx, batch.requested()[idx] - opening[idx], rule="reducing", reason="reducing_only")


def _only_reducing_limits(batch: LimitBatch, held: np.ndarray) -> None:
    """Resting orders of a reducing account: at most the position, on the closing side."""
    q, h = batch.qty, held[batch.asset]
    allowed = np.where(q * h < 0, np.sign(q) * np.minimum(np.abs(q), np.abs(h)), 0.0)
    idx = np.flatnonzero(batch.keep & (allowed != q))
    batch.set_qty_many(idx, allowed[idx], rule="reducing", reason="reducing_only")
