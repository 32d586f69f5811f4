"""The resting order book: limit and stop orders (and SL/TP brackets) as a struct of arrays.

Rows live in two arrays (int and float columns, layouts in ``codes``) that the matching kernel updates
in place. Dead rows (filled, rejected, cancelled) are dropped by ``compact``; their outcome is already in
the fill and rejection ledgers. Orders cancelled before they ever filled are not kept anywhere: a grid
that re-places its levels every bar would otherwise log millions of them.
"""

from __future__ import annotations

import numpy as np

from multifolio.engine import codes as C
from multifolio.engine import kernels as K

_NO_MASK = np.zeros(1, dtype=np.bool_)



class OrderBook:
    def __init__(self, capacity: int = 256) -> None:
        self.bi = np.zeros((capacity, C.N_BOOK_I), dtype=np.int64)
        self.bf = np.zeros((capacity, C.N_BOOK_F))
        self.m = 0
        self.next_id = 0

    # -- views handed to the kernels -------------------------------------------------------------
    @property
    def ints(self) -> np.ndarray:
        return self.bi[: self.m]

    @property
    def floats(self) -> np.ndarray:
        return self.bf[: self.m]

    def new_ids(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        return ids

    def reserve(self, n: int) -> None:
        """Room for n more rows; may compact, so call it before taking row numbers you will reuse."""
        self._reserve(n)

    def _reserve(self, n: int) -> None:
        if self.m + n > self.bi.shape[0]:
            self.compact()
        if self.m + n > self.bi.shape[0]:
            cap = max(self.m + n, 2 * self.bi.shape[0])
            bi = np.zeros((cap, C.N_BOOK_I), dtype=np.int64)
            bf = np.zeros((cap, C.N_BOOK_F))
            bi[: self.m] = self.bi[: self.m]
            bf[: self.m] = self.bf[: self.m]
            self.bi, self.bf = bi, bf

    def add(self, assets: np.ndarray, kind: int, qty: np.ndarray, price: np.ndarray, reason: int,
            bar: int, *, reduce_only: bool = False, status: int = C.OPEN) -> np.ndarray:
        """Append orders (vectorised); they are active from the next bar. Returns their row numbers.

        Open orders of zero quantity are skipped (pending bracket children start at zero on purpose).
        """
        n = len(assets)
        self._reserve(n)
        m0 = self.m
        self.m = K.book_add(self.bi, self.bf, m0, np.asarray(assets, dtype=np.int64), kind,
                            np.asarray(qty, dtype=np.float64), np.asarray(price, dtype=np.float64), reason,
                            bar, self.next_id, status, 1 if reduce_only else 0)
        self.next_id += self.m - m0            # zero-quantity orders are not booked
        return np.arange(m0, self.m)

    def add_bracket(self, asset: int, bar: int, stop_loss: float | None, take_profit: float | None,
                    entry_row: int | None = None) -> list[int]:
        """Pending SL (stop) and TP (limit) children, one-cancels-the-other, reduce-only.

        They wake up (with the entry's filled quantity, opposite sign) on the bar after the entry fills.
        Returns the children's row numbers.
        """
        self._reserve(2)
        rows = []
        one = np.array([asset])
        zero = np.zeros(1)
        sl = tp = -1
        if stop_loss is not None:
            sl = int(self.add(one, C.STOP, zero, np.array([stop_loss]), C.STOP_LOSS, bar,
                              reduce_only=True, status=C.PENDING)[0])
            rows.append(sl)
        if take_profit is not None:
            tp = int(self.add(one, C.LIMIT, zero, np.array([take_profit]), C.TAKE_PROFIT, bar,
                              reduce_only=True, status=C.PENDING)[0])
            rows.append(tp)
        if sl >= 0 and tp >= 0:
            self.bi[sl, C.B_OCO] = tp
            self.bi[tp, C.B_OCO] = sl
        if entry_row is not None:
            self.bi[entry_row, C.B_CHILD_SL] = sl
            self.bi[entry_row, C.B_CHILD_TP] = tp
        return rows

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        live = self.bi[: self.m, C.B_ID]
        return np.nonzero(np.isin(live, ids))[0]

    def cancel_rows(self, rows: np.ndarray) -> None:
        st = self.bi[rows, C.B_STATUS]
        alive = (st == C.OPEN) | (st == C.PENDING)
        self.bi[rows[alive], C.B_STATUS] = C.CANCELLED

    def cancel_ids(self, ids: np.ndarray) -> None:
        self.cancel_rows(self.rows_of(ids))

    def cancel_assets(self, mask: np.ndarray | None = None, *, keep_brackets: bool = False) -> None:
        """Cancel the live orders of the assets flagged in ``mask`` (all assets when None)."""
        if self.m == 0:
            return
        live = K.book_cancel(self.bi, self.m, _NO_MASK if mask is None else mask, mask is None,
                             keep_brackets)
        if live * 2 < self.m and self.m > 64:
            self.compact()

    def open_mask(self) -> np.ndarray:
        return self.bi[: self.m, C.B_STATUS] == C.OPEN

    def live_count(self) -> int:
        return int(K.book_live(self.bi, self.m))

    def compact(self) -> None:
        """Drop dead rows and renumber the OCO/child links of the survivors."""
        self.m = int(K.book_compact(self.bi, self.bf, self.m))
