"""Context: what a Strategy (or risk rule) sees and the verbs it trades with.

The context is a thin window on the simulator's arrays: reading a field costs a slice, placing orders
appends to a pending batch (market-type orders) or to the book (resting orders). Nothing here loops over
assets in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from multifolio.engine import codes as C
from multifolio.engine import kernels as K

if TYPE_CHECKING:
    from multifolio.data.market_data import MarketData
    from multifolio.engine.account import Account



class Context:
    """The strategy's view at bar ``t`` (data up to and including t) and its order verbs.

    Built on one :class:`~multifolio.engine.account.Account` and the market data; the simulator moves
    the clock (``t``). Risk rules get the same view.
    """

    def __init__(self, account: Account, data: MarketData) -> None:
        self._acct = account
        self.data = data
        self.symbols: list[str] = list(data.symbols)
        self.n_assets = len(self.symbols)
        self.initial_cash = float(account.settings.cash)
        self.freq: pd.Timedelta | None = data.freq
        account.view = self

    @property
    def t(self) -> int:
        return self._acct.bar

    @t.setter
    def t(self, bar: int) -> None:
        self._acct.bar = int(bar)

    # -- time and market data --------------------------------------------------------------------
    @property
    def bar(self) -> int:
        return self.t

    @property
    def time(self) -> pd.Timestamp:
        return self.data.index[self.t]

    @property
    def open(self) -> np.ndarray:
        return self.data.open[self.t]

    @property
    def high(self) -> np.ndarray:
        return self.data.high[self.t]

    @property
    def low(self) -> np.ndarray:
        return self.data.low[self.t]

    @property
    def close(self) -> np.ndarray:
        return self.data.close[self.t]

    @property
    def volume(self) -> np.ndarray:
        return self.data.volume[self.t]

    @property
    def tradable(self) -> np.ndarray:
        return self.data.tradable[self.t]

    @property
    def price(self) -> np.ndarray:
        """Last known close of each asset (NaN before its first bar)."""
        return self._acct.state.pos["last_price"].copy()

    def field(self, name: str) -> np.ndarray:
        """The cross-section of any field (OHLCV or an extra one) at t."""
        return self.data.field(name)[self.t]

    def history(self, field: str, n: int) -> np.ndarray:
        """The last ``n`` rows of ``field`` ending at t (fewer at the start): causal, n x N."""
        if n < 1:
            raise ValueError(f"history: n must be >= 1, got {n}")
        return self.data.field(field)[max(0, self.t - n + 1): self.t + 1]

    def bars_per(self, hours: float) -> int:
        """How many bars span ``hours`` (at least 1), from the data's bar spacing."""
        if self.freq is None or self.freq <= pd.Timedelta(0):
            return max(1, int(round(hours)))
        return max(1, int(round(pd.Timedelta(hours=hours) / self.freq)))

    # -- account ---------------------------------------------------------------------------------
    @property
    def positions(self) -> np.ndarray:
        """Signed quantity held per asset (a copy)."""
        return self._acct.state.pos["qty"].copy()

    def position(self, symbol: str) -> float:
        return float(self._acct.state.pos["qty"][self._asset(symbol)])

    @property
    def avg_price(self) -> np.ndarray:
        """Average entry price per asset (0 where flat)."""
        return self._acct.state.pos["avg_price"].copy()

    @property
    def cash(self) -> float:
        return self._acct.state.cash

    @property
    def equity(self) -> float:
        return float(self._acct.state.snap[self.t]["total_equity"])

    @property
    def margin_used(self) -> float:
        return float(self._acct.state.snap[self.t]["margin_used"])

    @property
    def free_margin(self) -> float:
        return self.equity - self.margin_used

    def equity_history(self, n: int) -> np.ndarray:
        """The last ``n`` end-of-bar equities, oldest first, ending at t."""
        return self._acct.state.snap["total_equity"][max(0, self.t - n + 1): self.t + 1]

    @property
    def n_rejected(self) -> np.ndarray:
        """Orders (or fills) rejected so far per asset, for any reason."""
        return np.bincount(self._acct.state.rejections()["asset"], minlength=self.n_assets)

    def rejections(self, reason: str) -> np.ndarray:
        """Rejections so far per asset for one reason (e.g. ``"insufficient_margin"``)."""
        rej = self._acct.state.rejections()
        code = C.REASON_CODES[reason]
        return np.bincount(rej["asset"][rej["reason"] == code], minlength=self.n_assets)

    def recent_fills(self) -> dict[str, np.ndarray]:
        """Fills since the previous decision bar, up to now: ``asset``, ``qty``, ``price``, ``order_id``,
        ``bar`` arrays (e.g. which grid levels filled; in close mode, this bar's own fills appear at the
        next decision)."""
        fills = self._acct.state.fills()
        k = self._acct.fills_mark
        recent = fills[k:]
        return {"asset": recent["asset"].copy(), "qty": recent["qty"].copy(), "price": recent["price"].copy(),
                "order_id": recent["order_id"].copy(), "bar": recent["bar"].copy()}

    @property
    def capital(self) -> float:
        """The capital currently allotted to this account (its initial cash unless an allocator moved
        some): what strategies size their budgets from."""
        return self._acct.capital

    @property
    def paused(self) -> bool:
        return self.t < self._acct.paused_until

    @property
    def halted(self) -> bool:
        return self._acct.halted

    @property
    def reducing(self) -> bool:
        """Only orders that shrink positions get through (see :meth:`reduce_only`)."""
        return self._acct.reducing

    @property
    def trading_state(self) -> str:
        """``"active"``, ``"reducing"``, ``"paused"`` or ``"halted"``."""
        return self._acct.trading_state.value

    # -- verbs -----------------------------------------------------------------------------------
    def target_weights(self, weights: Mapping[str, float] | np.ndarray | Iterable[float],
                       reason: str = "rebalance") -> None:
        """Move positions to fractions of portfolio value (NaN = leave that asset alone)."""
        self._acct.submit_targets(C.TARGET_WEIGHT, self._vector(weights, "target_weights"),
                                 self._reason(reason))

    def target_qty(self, qty: Mapping[str, float] | np.ndarray | Iterable[float],
                   reason: str = "rebalance") -> None:
        """Move positions to quantities (NaN = leave that asset alone)."""
        self._acct.submit_targets(C.TARGET_QTY, self._vector(qty, "target_qty"), self._reason(reason))

    def order(self, symbol: str, qty: float | None = None, *, notional: float | None = None,
              limit: float | None = None, stop: float | None = None, stop_loss: float | None = None,
              take_profit: float | None = None, trailing_stop: float | None = None,
              trailing_pct: float | None = None, break_even: float | None = None,
              break_even_offset: float = 0.0, tag: str = "") -> int:
        """One order: market (by ``qty`` or ``notional``), or resting ``limit``/``stop``.

        ``stop_loss`` / ``take_profit`` (absolute prices) attach a one-cancels-the-other, reduce-only
        exit pair. A market entry filled at a bar's open has it live for the rest of that bar (a bar
        that opens beyond a level fills there at the open; a bar touching both fills the stop); an
        entry filled at a close or inside a bar (limit/stop) has it from the next bar, since the path
        inside the bar is unknown. ``trailing_stop`` (a price distance) or ``trailing_pct`` (a fraction)
        make the stop follow the best price since the entry, one bar behind; ``break_even`` (a price
        distance) moves it to the entry price (+ ``break_even_offset``) once the best price is that far
        in profit. Stops only tighten. Returns the order id (``bracket(id)`` gives the children's).
        """
        j = self._asset(symbol)
        if (qty is None) == (notional is None):
            raise ValueError("order: give exactly one of qty and notional")
        if limit is not None and stop is not None:
            raise ValueError("order: give limit or stop, not both")
        value = float(qty if qty is not None else notional)
        if not np.isfinite(value) or value == 0.0:
            raise ValueError(f"order: quantity/notional must be finite and non-zero, got {value!r}")
        for name, px in (("limit", limit), ("stop", stop), ("stop_loss", stop_loss),
                         ("take_profit", take_profit)):
            if px is not None and not (np.isfinite(px) and px > 0):
                raise ValueError(f"order: {name} price must be finite and > 0, got {px!r}")
        moving = _stop_moves("order", trailing_stop, trailing_pct, break_even, break_even_offset)
        reason = self._reason(tag or "signal")
        if limit is None and stop is None:
            kind = C.MARKET if qty is not None else C.NOTIONAL
            return self._acct.submit_market(j, kind, value, reason, stop_loss, take_profit, moving)
        if notional is not None:
            value = notional / float(limit if limit is not None else stop)
        kind = C.LIMIT if limit is not None else C.STOP
        level = float(limit if limit is not None else stop)
        return self._acct.submit_resting(j, kind, value, level, reason, stop_loss, take_profit, moving)

    def modify(self, order_id: int, *, price: float | None = None, qty: float | None = None,
               stop_loss: float | None = None, take_profit: float | None = None,
               trailing_stop: float | None = None, trailing_pct: float | None = None,
               break_even: float | None = None, break_even_offset: float = 0.0) -> None:
        """Change a live order from the next bar: ``price`` (its level) / ``qty`` of any resting order or
        bracket child, or, by an entry's id, its bracket's ``stop_loss`` / ``take_profit`` levels and its
        stop's moves (``trailing_stop``, ``trailing_pct``, ``break_even``). An explicit level is taken as
        given (it may loosen a stop); moves only tighten. ``ValueError`` if the order is not live."""
        for name, px in (("price", price), ("stop_loss", stop_loss), ("take_profit", take_profit)):
            if px is not None and not (np.isfinite(px) and px > 0):
                raise ValueError(f"modify: {name} must be finite and > 0, got {px!r}")
        if qty is not None and not (np.isfinite(qty) and qty != 0.0):
            raise ValueError(f"modify: qty must be finite and non-zero, got {qty!r}")
        moving = _stop_moves("modify", trailing_stop, trailing_pct, break_even, break_even_offset)
        self._acct.modify(int(order_id), price=None if price is None else float(price),
                          qty=None if qty is None else float(qty),
                          stop_loss=None if stop_loss is None else float(stop_loss),
                          take_profit=None if take_profit is None else float(take_profit), moving=moving)

    def bracket(self, order_id: int) -> dict[str, int | None]:
        """The ids of an entry's ``stop_loss`` and ``take_profit`` children (None where it has none)."""
        sl, tp = self._acct.children.get(int(order_id), (-1, -1))
        return {"stop_loss": sl if sl >= 0 else None, "take_profit": tp if tp >= 0 else None}

    def place_limits(self, asset_idx: np.ndarray, qty: np.ndarray, price: np.ndarray,
                     tag: str = "") -> np.ndarray:
        """Many resting limit orders at once (arrays of asset indices, signed quantities, prices)."""
        a = np.asarray(asset_idx, dtype=np.int64)
        q = np.asarray(qty, dtype=np.float64)
        p = np.asarray(price, dtype=np.float64)
        if not (a.shape == q.shape == p.shape) or a.ndim != 1:
            raise ValueError("place_limits: asset_idx, qty and price must be 1-D arrays of one length")
        k = K.first_bad_limit(a, q, p, self.n_assets)
        if k >= 0:
            if not 0 <= a[k] < self.n_assets:
                raise ValueError(f"place_limits: asset index {a[k]} out of range 0..{self.n_assets - 1}")
            raise ValueError(f"place_limits: bad price {p[k]!r} or qty {q[k]!r} for "
                             f"{self.symbols[int(a[k])]!r} at {self.time} (prices must be finite and > 0)")
        return self._acct.submit_limits(a, q, p, self._reason(tag or "signal"))

    def cancel(self, order_id: int | Iterable[int]) -> None:
        ids = np.atleast_1d(np.asarray(order_id, dtype=np.int64))
        self._acct.cancel_ids(ids)

    def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel the resting orders of one symbol, or of all (brackets of open positions stay)."""
        self._acct.book.cancel_assets(self._mask(symbol), keep_brackets=True)

    def close_position(self, symbol: str, reason: str = "signal") -> None:
        """Close one position at the next execution price and cancel that symbol's resting orders.

        (``ctx.close`` is the cross-section of closing prices, hence the longer name.)
        """
        j = self._asset(symbol)
        self.close_positions(np.array([j]), reason)

    def close_positions(self, asset_idx: np.ndarray, reason: str = "signal") -> None:
        """Close several positions (by asset index) and cancel their resting orders."""
        idx = np.asarray(asset_idx, dtype=np.int64).reshape(-1)
        bad = idx[(idx < 0) | (idx >= self.n_assets)]
        if len(bad):  # -1 would silently close the last asset
            raise ValueError(f"close_positions: asset index {int(bad[0])} is not in 0..{self.n_assets - 1}")
        mask = np.zeros(self.n_assets, dtype=bool)
        mask[idx] = True
        self._acct.book.cancel_assets(mask)
        target = np.full(self.n_assets, np.nan)
        target[idx] = 0.0
        self._acct.submit_targets(C.TARGET_QTY, target, self._reason(reason))

    def close_all(self, reason: str = "close_all") -> None:
        """Close every position and cancel every resting order."""
        self._acct.book.cancel_assets(None)
        held = self._acct.state.pos["qty"] != 0.0
        target = np.where(held, 0.0, np.nan)
        self._acct.submit_targets(C.TARGET_QTY, target, self._reason(reason))

    def open_orders(self, symbol: str | None = None) -> np.ndarray:
        """Ids of the live resting orders (of one symbol, or all)."""
        book = self._acct.book.live
        live = book["status"] == C.OPEN
        if symbol is not None:
            live &= book["asset"] == self._asset(symbol)
        return book["id"][live].copy()

    def log_event(self, kind: str, symbol: str | None = None, **details: Any) -> dict[str, Any]:
        """Add a row to ``Result.events`` at this bar; returns its details dict.

        The dict is the one the result will show, so a rule can keep filling it in as the situation
        it reports develops (the kill switch records its episode's trough and end this way).
        """
        return self._acct.log_event(kind, symbol, details)

    def record(self, **values: float) -> None:
        """Per-bar values to keep as extra snapshot columns (carried forward until recorded again)."""
        for name, v in values.items():
            self._acct.record(name, float(v))

    def pause(self, until_bar: int) -> None:
        """No strategy decisions before ``until_bar``; resting orders are cancelled."""
        self._acct.paused_until = max(self._acct.paused_until, int(until_bar))
        self._acct.book.cancel_assets(None, keep_brackets=True)

    def halt(self) -> None:
        """Stop trading for the rest of the run; resting orders are cancelled."""
        self._acct.halted = True
        self._acct.book.cancel_assets(None, keep_brackets=True)

    def reduce_only(self, on: bool = True) -> None:
        """Switch the account to (or back from) the reducing state: while on, every order keeps only
        the part that shrinks a position; the rest is cut and logged as a ``risk`` event."""
        self._acct.reducing = bool(on)

    # -- helpers ---------------------------------------------------------------------------------
    def _asset(self, symbol: str) -> int:
        try:
            return self._acct.symbol_pos[symbol]
        except KeyError:
            raise ValueError(f"unknown symbol {symbol!r}; known: {self.symbols}") from None

    def _mask(self, symbol: str | None) -> np.ndarray | None:
        if symbol is None:
            return None
        mask = np.zeros(self.n_assets, dtype=bool)
        mask[self._asset(symbol)] = True
        return mask

    def _vector(self, values: Any, verb: str) -> np.ndarray:
        if type(values) is np.ndarray and values.dtype == np.float64 and values.shape == (self.n_assets,):
            return values           # the common case, every bar of a weights strategy: nothing to convert
        if isinstance(values, Mapping):
            out = np.full(self.n_assets, np.nan)
            for s, v in values.items():
                i = self._asset(s)
                try:
                    out[i] = float(v)
                except (TypeError, ValueError):
                    raise ValueError(f"{verb}: {v!r} for {s!r} is not a number") from None
        else:
            try:
                out = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{verb}: expected numbers aligned to ctx.symbols, got {values!r}") from None
            if out.shape != (self.n_assets,):
                raise ValueError(f"{verb}: expected {self.n_assets} values aligned to ctx.symbols, "
                                 f"got shape {out.shape}")
        return out                  # infinite and (without shorting) negative values: refused on submission

    def _reason(self, name: str) -> int:
        return self._acct.reason_code(name)


def _stop_moves(verb: str, trailing_stop: float | None, trailing_pct: float | None,
                break_even: float | None, break_even_offset: float
                ) -> tuple[float, float, float, float] | None:
    """Validated (trail, trail_pct, be_trigger, be_offset), or None when the stop does not move."""
    if trailing_stop is None and trailing_pct is None and break_even is None:
        return None
    if trailing_stop is not None and trailing_pct is not None:
        raise ValueError(f"{verb}: give trailing_stop (a price distance) or trailing_pct, not both")
    for name, v in (("trailing_stop", trailing_stop), ("break_even", break_even)):
        if v is not None and not (np.isfinite(v) and v > 0):
            raise ValueError(f"{verb}: {name} must be a finite price distance > 0, got {v!r}")
    if trailing_pct is not None and not (np.isfinite(trailing_pct) and 0 < trailing_pct < 1):
        raise ValueError(f"{verb}: trailing_pct must be a fraction in (0, 1), got {trailing_pct!r}")
    if not np.isfinite(break_even_offset):
        raise ValueError(f"{verb}: break_even_offset must be finite, got {break_even_offset!r}")
    return (float(trailing_stop or 0.0), float(trailing_pct or 0.0), float(break_even or 0.0),
            float(break_even_offset))
