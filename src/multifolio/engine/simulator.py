"""The Strategy-driven simulation loop.

Python runs only at decision bars (the strategy's schedule, or every bar when risk rules watch the
account); the bars in between go through one compiled ``run_span`` call. At a decision bar the order of
events is the bar cycle of ``docs/contracts.md``: pending market orders fill at the open, resting orders
match against the bar's range, positions are marked at the close (liquidation, delisting), risk rules run,
then the strategy; in ``execution="close"`` mode its market orders fill at once at the close.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from multifolio.data.market_data import MarketData
from multifolio.engine import codes as C
from multifolio.engine import kernels as K
from multifolio.engine.book import OrderBook
from multifolio.engine.context import Context
from multifolio.engine.raw import RawRun
from multifolio.engine.settings import AccountSettings
from multifolio.engine.state import EngineState, last_valid_rows
from multifolio.engine.strategy import Strategy, decision_mask
from multifolio.engine.vectorized import finish_run

ProgressFn = Callable[[int, int], None]


class Simulator:
    def __init__(self, data: MarketData, strategy: Strategy, settings: AccountSettings,
                 risk: Sequence[Any] = (), start_bar: int = 0) -> None:
        self.data = data
        self.strategy = strategy
        self.risk = list(risk)
        self.start_bar = start_bar
        self.state = EngineState(data.n_bars, data.n_assets, settings)
        self.book = OrderBook()
        self.symbol_pos = {s: j for j, s in enumerate(data.symbols)}
        self.events: list[tuple[int, str, str | None, dict[str, Any]]] = []
        self.records: dict[str, np.ndarray] = {}
        self.tags: dict[str, int] = {}
        self.paused_until = 0
        self.halted = False
        self.fills_mark = 0
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._brackets: list[tuple[int, list[int]]] = []   # (order id, child ids) of market entries
        self._cancelled: list[pd.DataFrame] = []
        self._constants: dict[tuple[int, int], np.ndarray] = {}
        self.ctx = Context(self)
        self._op = np.ascontiguousarray(data.open)
        self._hi = np.ascontiguousarray(data.high)
        self._lo = np.ascontiguousarray(data.low)
        self._cl = np.ascontiguousarray(data.close)
        self._last_bar = last_valid_rows(self._cl)

    # -- order intake (called by Context) -----------------------------------------------------------
    def tag_code(self, name: str) -> int:
        if name not in self.tags:
            self.tags[name] = C.USER_TAG_BASE + len(self.tags)
        return self.tags[name]

    def submit_targets(self, kind: int, values: np.ndarray, reason: int) -> None:
        sel = np.flatnonzero(values == values)         # not NaN
        if len(sel) == 0:
            return
        vals = values[sel]
        if not self.state.settings.allow_short and vals.min() < 0:
            j = int(sel[np.argmax(vals < 0)])
            raise ValueError(f"negative target {values[j]!r} for {self.data.symbols[j]!r} at "
                             f"{self.data.index[self.ctx.t]}: shorting is off (allow_short=False)")
        n = len(sel)
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

    def submit_market(self, j: int, kind: int, value: float, reason: int, stop_loss: float | None,
                      take_profit: float | None) -> int:
        oid = int(self.book.new_ids(1)[0])
        self._pending.append((np.array([j]), np.array([kind]), np.array([value]), np.array([oid]),
                              np.array([reason])))
        if stop_loss is not None or take_profit is not None:
            rows = self.book.add_bracket(j, self.ctx.t, stop_loss, take_profit)
            self._brackets.append((oid, [int(self.book.bi[r, C.B_ID]) for r in rows]))
        return oid

    def submit_resting(self, j: int, kind: int, qty: float, level: float, reason: int,
                       stop_loss: float | None, take_profit: float | None) -> int:
        self.book.reserve(3)              # entry + bracket: no compaction between them
        row = int(self.book.add(np.array([j]), kind, np.array([qty]), np.array([level]), reason,
                                self.ctx.t)[0])
        if stop_loss is not None or take_profit is not None:
            self.book.add_bracket(j, self.ctx.t, stop_loss, take_profit, entry_row=row)
        return int(self.book.bi[row, C.B_ID])

    def submit_limits(self, assets: np.ndarray, qty: np.ndarray, price: np.ndarray,
                      reason: int) -> np.ndarray:
        rows = self.book.add(assets, C.LIMIT, qty, price, reason, self.ctx.t)
        return self.book.bi[rows, C.B_ID].copy()

    def cancel_ids(self, ids: np.ndarray) -> None:
        """Cancel orders by id; they are listed in Result.orders with status ``cancelled``."""
        book = self.book
        rows = book.rows_of(ids)
        st = book.bi[rows, C.B_STATUS]
        rows = rows[(st == C.OPEN) | (st == C.PENDING)]
        if len(rows):
            self._cancelled.append(self._orders_frame(rows, "cancelled"))
            book.cancel_rows(rows)

    def record(self, name: str, value: float) -> None:
        arr = self.records.get(name)
        if arr is None:
            arr = self.records[name] = np.full(self.data.n_bars, np.nan)
        arr[self.ctx.t] = value

    # -- execution --------------------------------------------------------------------------------
    def _execute_pending(self, t: int, prices: np.ndarray) -> None:
        if not self._pending:
            return
        if len(self._pending) == 1:
            batch = self._pending[0]
        else:
            batch = tuple(np.concatenate(cols) for cols in zip(*self._pending, strict=True))
        self._pending = []
        filled = np.zeros(len(batch[0]))
        st = self.state
        st.ensure_room(K.room_needed(st.n_assets, 0) + 2 * len(filled))
        K.execute_batch(t, prices, batch[0], batch[1], batch[2], batch[3], batch[4], self._decided_at,
                        st.acct, st.pos, st.cfg, *st.ledger_args(), filled)
        if self._brackets:
            self._activate_brackets(t, batch[3], filled)

    def _activate_brackets(self, t: int, ids: np.ndarray, filled: np.ndarray) -> None:
        filled_by_id = dict(zip(ids.tolist(), filled.tolist(), strict=True))
        bi, bf = self.book.bi, self.book.bf
        for oid, child_ids in self._brackets:
            q = filled_by_id.get(oid, 0.0)
            rows = self.book.rows_of(np.array(child_ids))
            for r in rows:
                if bi[r, C.B_STATUS] != C.PENDING:
                    continue
                if q == 0.0:
                    bi[r, C.B_STATUS] = C.CANCELLED
                else:
                    bi[r, C.B_STATUS] = C.OPEN
                    bi[r, C.B_ACTIVE_FROM] = t + 1
                    bf[r, C.BF_QTY] = -q
        self._brackets = []

    def _span(self, t0: int, t1: int, delist_later: int = -1) -> None:
        st = self.state
        t = t0
        while t < t1:
            st.ensure_room(K.room_needed(st.n_assets, self.book.m) * 8)
            t = K.run_span(t, t1, self._op, self._hi, self._lo, self._cl, self._last_bar, self.book.ints,
                           self.book.floats, st.acct, st.pos, st.cfg, st.snap, st.qh, *st.ledger_args(),
                           delist_later)

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, progress: ProgressFn | None = None) -> RawRun:
        data = self.data
        n = data.n_bars
        at_open = self.state.settings.execute_at_open
        decide = decision_mask(data.index, self.strategy.schedule)
        decide[: self.start_bar] = False
        python_bar = decide.copy()
        if self.risk:
            python_bar[self.start_bar:] = True
        py_bars = np.nonzero(python_bar)[0]
        self._decided_at = 0
        ctx = self.ctx
        self.strategy.init(ctx)
        for rule in self.risk:
            rule.init(ctx)
        step = max(1, n // 200)
        next_report = 0
        t = 0
        while t < n:
            self.fills_mark = int(self.state.counts[0])     # fills from here on are "since the last decision"
            if self._pending and at_open:
                self._execute_pending(t, self._op[t])
            k = int(np.searchsorted(py_bars, t))
            nxt = int(py_bars[k]) if k < len(py_bars) and not self.halted else n
            if nxt > t:
                self._span(t, nxt)
                t = nxt
                continue
            # in close mode the strategy trades at this close before delisted assets are closed out
            self._span(t, t + 1, -1 if at_open else t)
            ctx.t = t
            self._decided_at = t
            for rule in self.risk:
                rule.on_bar(ctx)
            if decide[t] and not self.halted and t >= self.paused_until:
                self.strategy.on_bar(ctx)
            if not at_open:
                st = self.state
                st.ensure_room(K.room_needed(st.n_assets, self.book.m))
                if self._pending:
                    self._execute_pending(t, self._cl[t])
                    K.snapshot(t, self._cl[t], st.acct, st.pos, st.cfg, self.book.ints, st.snap, st.qh)
                K.close_delisted(t, self._cl[t], self._last_bar, st.acct, st.pos, st.cfg, self.book.ints,
                                 st.snap, st.qh, *st.ledger_args())
            t += 1
            if progress is not None and t >= next_report:
                progress(t, n)
                next_report = t + step
        self._pending = []
        if self.state.settings.close_at_end and n:
            finish_run(self.state, self._cl, self.book.ints)
        if progress is not None:
            progress(n, n)
        return self._raw()

    def _raw(self) -> RawRun:
        records = {}
        for name, arr in self.records.items():
            filled = arr.copy()
            valid = ~np.isnan(filled)
            idx = np.where(valid, np.arange(len(filled)), 0)
            np.maximum.accumulate(idx, out=idx)
            filled = np.where(np.maximum.accumulate(valid), filled[idx], np.nan)
            records[name] = filled
        raw = RawRun(index=self.data.index, symbols=list(self.data.symbols), state=self.state,
                     start_bar=self.start_bar, freq=self.data.freq, events=self.events, records=records,
                     tag_names={code: name for name, code in self.tags.items()},
                     open_orders=self._open_orders(), close=self._cl)
        return raw

    def _open_orders(self) -> pd.DataFrame | None:
        """Orders still resting at the end, and orders the strategy cancelled by id."""
        bi = self.book.ints
        live = (bi[:, C.B_STATUS] == C.OPEN) | (bi[:, C.B_STATUS] == C.PENDING)
        frames = list(self._cancelled)
        if live.any():
            frames.append(self._orders_frame(np.nonzero(live)[0], None))
        if not frames:
            return None
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def _orders_frame(self, rows: np.ndarray, status: str | None) -> pd.DataFrame:
        bi, bf = self.book.bi, self.book.bf
        symbols = np.array(self.data.symbols, dtype=object)
        names = {code: name for name, code in self.tags.items()}
        return pd.DataFrame({
            "order_id": bi[rows, C.B_ID],
            "timestamp": self.data.index[bi[rows, C.B_PLACED]],
            "symbol": symbols[bi[rows, C.B_ASSET]],
            "kind": [C.KIND_NAMES[int(k)] for k in bi[rows, C.B_KIND]],
            "qty": bf[rows, C.BF_QTY],
            "price": bf[rows, C.BF_PRICE],
            "status": status if status is not None else
            [C.STATUS_NAMES[int(s)] for s in bi[rows, C.B_STATUS]],
            "reason": [C.REASON_NAMES.get(int(r), names.get(int(r), "")) for r in bi[rows, C.B_REASON]],
            "filled_qty": 0.0,
            "fill_price": np.nan,
            "fill_time": pd.NaT if status is None else self.data.index[self.ctx.t],
        })
