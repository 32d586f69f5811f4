"""The resting order book: limit and stop orders (and SL/TP brackets) as ``ORDER_DTYPE`` records.

The matching kernel updates the records in place. Dead rows (filled, rejected, cancelled) are dropped by
``compact``; their outcome is already in the fill and rejection ledgers. Orders cancelled before they
ever filled are not kept anywhere: a grid that re-places its levels every bar would otherwise log
millions of them.
"""

from __future__ import annotations

import numpy as np

from multifolio.engine import codes as C
from multifolio.engine import kernels as K
from multifolio.engine.records import ORDER_DTYPE

_NO_MASK = np.zeros(1, dtype=np.bool_)


class OrderBook:
    def __init__(self, capacity: int = 256) -> None:
        self.orders = np.zeros(capacity, ORDER_DTYPE)
        self.m = 0
        self.next_id = 0

    @property
    def live(self) -> np.ndarray:
        """The used rows (what the kernels see)."""
        return self.orders[: self.m]

    def new_ids(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        return ids

    def reserve(self, n: int) -> None:
        """Room for n more rows; may compact, so call it before taking row numbers you will reuse."""
        if self.m + n > len(self.orders):
            self.compact()
        if self.m + n > len(self.orders):
            grown = np.zeros(max(self.m + n, 2 * len(self.orders)), ORDER_DTYPE)
            grown[: self.m] = self.orders[: self.m]
            self.orders = grown

    def add(self, assets: np.ndarray, kind: int, qty: np.ndarray, price: np.ndarray, reason: int,
            bar: int, *, reduce_only: bool = False, status: int = C.OPEN) -> np.ndarray:
        """Append orders (vectorised); they are active from the next bar. Returns their row numbers.

        Open orders of zero quantity are skipped (pending bracket children start at zero on purpose).
        """
        self.reserve(len(assets))
        m0 = self.m
        self.m = K.book_add(self.orders, m0, np.asarray(assets, dtype=np.int64), kind,
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
        self.reserve(2)
        one = np.array([asset])
        zero = np.zeros(1)
        sl = tp = -1
        if stop_loss is not None:
            sl = int(self.add(one, C.STOP, zero, np.array([stop_loss]), C.STOP_LOSS, bar,
                              reduce_only=True, status=C.PENDING)[0])
        if take_profit is not None:
            tp = int(self.add(one, C.LIMIT, zero, np.array([take_profit]), C.TAKE_PROFIT, bar,
                              reduce_only=True, status=C.PENDING)[0])
        o = self.orders
        if sl >= 0 and tp >= 0:
            o[sl]["oco"] = tp
            o[tp]["oco"] = sl
        if entry_row is not None:
            o[entry_row]["child_sl"] = sl
            o[entry_row]["child_tp"] = tp
        return [r for r in (sl, tp) if r >= 0]

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        return np.nonzero(np.isin(self.live["id"], ids))[0]

    def cancel_rows(self, rows: np.ndarray) -> None:
        status = self.orders["status"]
        st = status[rows]
        alive = (st == C.OPEN) | (st == C.PENDING)
        status[rows[alive]] = C.CANCELLED

    def wake_children(self, child_ids: list[int], bar: int, filled: float) -> None:
        """The bracket of a market entry that filled ``filled`` at ``bar`` goes live from the next bar
        (opposite quantity); an entry that did not fill cancels it."""
        K.wake_brackets(self.live, self.rows_of(np.array(child_ids)), bar + 1, -filled if filled else 0.0)

    def cancel_assets(self, mask: np.ndarray | None = None, *, keep_brackets: bool = False) -> None:
        """Cancel the live orders of the assets flagged in ``mask`` (all assets when None)."""
        if self.m == 0:
            return
        live = K.book_cancel(self.orders, self.m, _NO_MASK if mask is None else mask, mask is None,
                             keep_brackets)
        if live * 2 < self.m and self.m > 64:
            self.compact()

    def compact(self) -> None:
        """Drop dead rows and renumber the OCO/child links of the survivors."""
        self.m = int(K.book_compact(self.orders, self.m))
