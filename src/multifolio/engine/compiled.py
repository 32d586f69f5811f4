"""Bars without Python: the engine's steps of one bar as compiled functions a strategy's kernel calls.

A strategy whose whole decision is compiled (a grid's: indicators precomputed, levels and exits from
numbers alone) need not return to Python on every bar. It provides ``run_bars(run, t0, t1)``, which calls
its own numba kernel once for a span of bars; that kernel calls, for each bar t:

* :func:`begin_bar` -- room check, the pending market orders at the open (``next_open`` mode), then the
  bar up to its close (resting orders matched, marked, liquidation, delisting) exactly as the
  simulator's Python loop does it;
* on a decision bar, its own decision, expressed through :func:`cancel_resting`, :func:`queue_targets`
  and :func:`place_limits` (the compiled twins of ``ctx.cancel_all``, ``ctx.close_positions`` and
  ``ctx.place_limits``: same book, same order ids, same pending queue);
* :func:`end_decision` -- in ``close`` mode, the pending orders at this close, the re-mark and the
  delisting closes.

The simulator takes this path only where it is the same as the Python one: the portfolio has no risk
rules, no allocator moves its cash and its account has no price tick. ``tests/engine/test_compiled.py``
holds the two paths equal, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numba as nb
import numpy as np

from multifolio.engine import codes as C
from multifolio.engine import kernels as K
from multifolio.engine.records import Ledgers, MarketOrders

__all__ = ["AccountArrays", "BarRun", "Market", "begin_bar", "cancel_resting", "end_decision",
           "place_limits", "queue_present", "queue_targets", "run_target_rows"]

# slots of the integer state a kernel carries between calls (``BarRun.counters``)
BOOK_ROWS, NEXT_ID, N_PENDING, DECIDED_AT = range(4)


class Market(NamedTuple):
    """One portfolio's view of the market: T x N bars, each asset's last bar and the rate tables."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    last_bar: np.ndarray
    sched: np.ndarray
    funding: np.ndarray
    fx: np.ndarray


class AccountArrays(NamedTuple):
    """One account's state arrays, its order book (all rows, used or not), its pending market orders
    (capacity n assets) and scratch buffers. Rebuilt by :meth:`BarRun.arrays` after any growth."""

    acct: np.ndarray
    pos: np.ndarray
    costs: np.ndarray
    snap: np.ndarray
    qh: np.ndarray
    led: Ledgers
    book: np.ndarray
    counters: np.ndarray
    pending: MarketOrders
    prices: np.ndarray
    filled: np.ndarray


@nb.njit(cache=True, inline="always")
def _pending(a):
    """The queued market-type orders (the first ``N_PENDING`` rows of the queue) and their fill buffer."""
    k = a.counters[N_PENDING]
    p = a.pending
    return MarketOrders(p.asset[:k], p.kind[:k], p.value[:k], p.order_id[:k], p.reason[:k]), a.filled[:k]


@nb.njit(cache=True, inline="always")
def begin_bar(t, at_open, deciding, new_rows, mk, a):
    """Bar t up to its close for a portfolio (deciding at t or not). Returns False, having done nothing,
    when a ledger or the book (``new_rows`` more rows) needs room first: the caller returns t and the
    Python side grows them."""
    n = a.pos.shape[0]
    m = a.counters[BOOK_ROWS]
    room = 3 * K.room_needed(n, m + new_rows) + 4 * n
    if K._full(a.led, room) or K._financing_full(a.acct, a.led, n):
        return False
    if m + new_rows > a.book.shape[0]:
        m = K.book_compact(a.book, m)
        a.counters[BOOK_ROWS] = m
        if m + new_rows > a.book.shape[0]:
            return False
    if at_open and a.counters[N_PENDING] > 0:
        orders, filled = _pending(a)
        K.fill_at_open(t, mk.open[t], mk.close[t], a.prices, mk.sched, mk.funding, mk.fx, orders,
                       a.counters[DECIDED_AT], a.acct, a.pos, a.costs, a.led, filled)
        a.counters[N_PENDING] = 0
    # in close mode a deciding portfolio trades at this close before delisted assets are closed out
    K.bar_step(t, a.prices, mk.open, mk.high, mk.low, mk.close, mk.last_bar, a.book[:m], a.acct, a.pos,
               a.costs, a.snap, a.qh, a.led, not (deciding and not at_open), mk.sched, mk.funding, mk.fx)
    return True


@nb.njit(cache=True, inline="always")
def end_decision(t, at_open, mk, a):
    """After a decision at bar t: in ``close`` mode its orders execute at this close, the bar is marked
    again and delisted assets are closed out (``next_open`` mode: nothing, they wait for the open)."""
    if at_open:
        return
    orders, filled = _pending(a)
    K.settle_close(t, mk.open[t], mk.close[t], mk.last_bar, orders, a.counters[N_PENDING] > 0,
                   a.counters[DECIDED_AT], a.acct, a.pos, a.costs, a.book[:a.counters[BOOK_ROWS]], a.snap,
                   a.qh, a.led, filled, a.prices)
    a.counters[N_PENDING] = 0


@nb.njit(cache=True, inline="always")
def cancel_resting(a, mask, all_assets, keep_brackets):
    """``ctx.cancel_all()`` / the cancel of ``ctx.close_positions``: live orders of the flagged assets
    (or all) are cancelled; bracket children of open positions stay with ``keep_brackets``."""
    m = a.counters[BOOK_ROWS]
    if m == 0:
        return
    live = K.book_cancel(a.book, m, mask, all_assets, keep_brackets)
    if live == 0:       # nothing left: every row is dead (the usual case of a grid re-placed each bar)
        a.counters[BOOK_ROWS] = 0
    elif live * 2 < m and m > 64:
        a.counters[BOOK_ROWS] = K.book_compact(a.book, m)


@nb.njit(cache=True, inline="always")
def _queue(t, a, j, kind, value, reason):
    """One market-type order for asset j with the next order id, decided at bar t."""
    k = a.counters[N_PENDING]
    p = a.pending
    p.asset[k] = j
    p.kind[k] = kind
    p.value[k] = value
    p.order_id[k] = a.counters[NEXT_ID]
    p.reason[k] = reason
    a.counters[NEXT_ID] += 1
    a.counters[N_PENDING] = k + 1
    a.counters[DECIDED_AT] = t


@nb.njit(cache=True, inline="always")
def queue_targets(t, a, which, kind, value, reason):
    """``ctx.close_positions``-style target orders: one ``kind`` order of ``value`` for each flagged asset
    (in asset order), with the next order ids, queued for the next execution."""
    for j in range(which.shape[0]):
        if which[j]:
            _queue(t, a, j, kind, value, reason)


@nb.njit(cache=True, inline="always")
def queue_present(t, a, values, kind, reason):
    """``ctx.target_weights(values)`` / ``ctx.target_qty(values)``: one ``kind`` order per given (not NaN)
    value, in asset order, with the next order ids (values already valid: finite, and not negative
    without shorting)."""
    for j in range(values.shape[0]):
        if values[j] == values[j]:
            _queue(t, a, j, kind, values[j], reason)


@nb.njit(cache=True)
def run_target_rows(t0, t1, decide, at_open, mk, a, rows, kind, reason):
    """Bars t0..t1-1 of a strategy whose decisions are rows of a T x N target matrix (weights or
    quantities; NaN = leave that asset alone): at each decision bar, row t's targets. Returns the first
    bar not processed."""
    for t in range(t0, t1):
        deciding = decide[t]
        if not begin_bar(t, at_open, deciding, 0, mk, a):
            return t
        if deciding:
            queue_present(t, a, rows[t], kind, reason)
            end_decision(t, at_open, mk, a)
    return t1


@nb.njit(cache=True, inline="always")
def place_limits(t, a, assets, qty, price, reason):
    """``ctx.place_limits``: resting limit orders from bar t (room was made by :func:`begin_bar`)."""
    m = a.counters[BOOK_ROWS]
    m1 = K.book_add(a.book, m, assets, C.LIMIT, qty, price, reason, t, a.counters[NEXT_ID], C.OPEN, 0)
    a.counters[NEXT_ID] += m1 - m
    a.counters[BOOK_ROWS] = m1


class BarRun:
    """One portfolio's bars run by its strategy's kernel: the arrays it works on and the growth between
    calls. Built by the simulator; the strategy's ``run_bars(run, t0, t1)`` reads :attr:`market`,
    :meth:`arrays`, :attr:`decide`, :attr:`at_open` and :meth:`record`, :meth:`reason`."""

    def __init__(self, account, bars, last_bar: np.ndarray, decide: np.ndarray) -> None:
        st = account.state
        self.account = account
        self.market = Market(bars.open, bars.high, bars.low, bars.close, last_bar, st.sched, st.funding,
                             st.fx)
        self.decide = decide
        self.at_open = bool(account.settings.execute_at_open)
        n = st.n_assets
        self.counters = np.zeros(4, dtype=np.int64)
        self.pending = MarketOrders(np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n),
                                    np.zeros(n, np.int64), np.zeros(n, np.int64))
        self._prices = np.empty(n)
        self._filled = np.empty(n)

    def arrays(self) -> AccountArrays:
        """The account's arrays as they are now (the book's row count and next id into the counters)."""
        st, book = self.account.state, self.account.book
        self.counters[BOOK_ROWS] = book.m
        self.counters[NEXT_ID] = book.next_id
        return AccountArrays(st.acct, st.pos, st.costs, st.snap, st.qh, st.ledgers, book.orders,
                             self.counters, self.pending, self._prices, self._filled)

    def advance(self, step: Callable[[int], int], t0: int, t1: int, new_rows: int) -> None:
        """Run ``step(t)`` (a kernel call from bar t on :meth:`arrays`, returning the first bar it did not
        process) until bar t1, making room between calls; ``new_rows``: the most book rows one bar adds."""
        book, st = self.account.book, self.account.state
        t = t0
        while t < t1:
            book.reserve(new_rows)
            st.ensure_room(3 * K.room_needed(st.n_assets, book.m + new_rows) + 4 * st.n_assets)
            t = step(t)
            book.m = int(self.counters[BOOK_ROWS])       # the kernel's book rows and ids, back to the book
            book.next_id = int(self.counters[NEXT_ID])

    def target_rows(self, rows: np.ndarray, t0: int, t1: int, kind: int = C.TARGET_WEIGHT,
                    reason: str = "rebalance") -> None:
        """Bars t0..t1-1 of a strategy whose decision at bar t is row t of ``rows`` (T x N target
        weights, or quantities with ``kind=TARGET_QTY``; NaN = leave that asset alone)."""
        code = self.reason(reason)
        self.advance(lambda t: run_target_rows(t, t1, self.decide, self.at_open, self.market, self.arrays(),
                                               rows, kind, code), t0, t1, new_rows=0)

    def record(self, name: str) -> np.ndarray:
        """The per-bar array of a recorded value (``ctx.record``), for the kernel to write."""
        records = self.account.records
        if name not in records:
            records[name] = np.full(len(self.account.index), np.nan)
        return records[name]

    def reason(self, name: str) -> int:
        """The reason code of a tag or a named reason, as ``ctx`` gives it."""
        return self.account.reason_code(name)
