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

#: How a stop moves: (trailing distance in price, trailing fraction, break-even trigger distance,
#: break-even offset); 0 = off.
StopMoves = tuple[float, float, float, float]


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
                    entry_row: int | None = None, moving: StopMoves | None = None) -> list[int]:
        """Pending SL (stop) and TP (limit) children, one-cancels-the-other, reduce-only.

        They wake up with the entry's filled quantity (opposite sign): a market entry filled at a bar's
        open on that same bar, an entry filled at a close or inside a bar on the next one. ``moving``
        makes the stop trail or move to break-even (a stop-loss child is made even without a
        ``stop_loss`` level: it starts from the entry's fill price). Returns the children's row numbers.
        """
        self.reserve(2)
        one = np.array([asset])
        zero = np.zeros(1)
        sl = tp = -1
        if stop_loss is not None or moving is not None:
            level = np.nan if stop_loss is None else stop_loss
            sl = int(self.add(one, C.STOP, zero, np.array([level]), C.STOP_LOSS, bar,
                              reduce_only=True, status=C.PENDING)[0])
            if moving is not None:
                o = self.orders
                o[sl]["trail"], o[sl]["trail_pct"], o[sl]["be_trigger"], o[sl]["be_offset"] = moving
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

    def wake_children(self, child_ids: list[int], active_from: int, filled: float, price: float) -> None:
        """The bracket of a market entry that filled ``filled`` at ``price`` goes live from bar
        ``active_from`` (opposite quantity); an entry that did not fill cancels it."""
        K.wake_brackets(self.live, self.rows_of(np.array(child_ids)), active_from,
                        -filled if filled else 0.0, price)

    def modify(self, row: int, price: float | None = None, qty: float | None = None,
               moving: StopMoves | None = None) -> None:
        """Change a live order's level, quantity or stop moves (from the next bar it is matched on).

        A stop with moves (``trail``/``trail_pct``/``be_trigger``) re-applies them at once from the best
        price so far; an explicit ``price`` is taken as given (it may loosen the stop).
        """
        o = self.orders
        if price is not None:
            o[row]["price"] = price
        if qty is not None:
            o[row]["qty"] = qty
        if moving is not None:
            o[row]["trail"], o[row]["trail_pct"], o[row]["be_trigger"], o[row]["be_offset"] = moving
            if o[row]["status"] == C.OPEN:
                K.retighten(self.live, row)

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
