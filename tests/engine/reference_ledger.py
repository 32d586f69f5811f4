"""An independent, plainly written ledger of the DESIGN.md target-weight semantics.

This is the oracle the engine is checked against. It is deliberately naive: plain Python lists and
floats, one loop over bars and one loop over assets, no NumPy tricks, no numba, nothing shared with
``multifolio.engine``. Clarity over speed; it is only ever run on small inputs.

Semantics implemented (DESIGN.md, "Execution semantics", and docs/contracts.md, "Bar cycle"):

* ``execution="next_open"``: the weights row decided at the close of bar t executes at the open of
  bar t+1 (the last row therefore never executes). ``execution="close"``: the row of bar t executes
  at the close of bar t.
* Portfolio value at execution V = cash + sum(qty x p), p the *unslipped* execution price. A held
  asset without a price at the execution bar is valued at its last known close (closes strictly
  before the open in ``next_open`` mode; up to and including bar t in ``close`` mode, which is the same
  thing because an asset without a price at t has no close at t).
* Target qty = w x V / p; the order is target - held. NaN weight = leave that asset alone; an all-NaN
  row = no rebalance. An asset with no price at the execution bar is not traded then (the order is
  dropped, not carried to a later bar: "not traded *then*").
* Sells first, at p(1 - s), fee = f x |qty| x fill price + fixed fee. Then buys, at p(1 + s), same fee
  rule. If cash cannot cover all buys (notional + proportional fees + fixed fees) every buy of the
  batch is scaled by one common factor k chosen so that cash ends at exactly 0:
      sum_i k q_i b_i (1 + f_i) + sum_i F_i = cash   =>   k = (cash - sum_i F_i) / sum_i q_i b_i (1 + f_i)
  (k <= 0: no buy fills at all).
* Equity at each bar's close = cash + sum(qty x last known close).
* Delisting: an asset whose data ends before the final bar (its last close is at bar L < T-1) is
  delisted at L: after that bar's trading, its position is closed at the close of L (with slippage
  and fees), before the bar's equity is taken.
* ``close_at_end``: after the last bar's trading, every open position is sold at that bar's close
  (with slippage and fees). Held assets with no close at the last bar are left alone.

Only a cash account is modelled (leverage 1, no shorting): negative weights are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class RefFill:
    bar: int            # index of the bar the fill happened at
    symbol: str
    qty: float          # signed: + buy, - sell
    base_price: float   # unslipped execution price p
    price: float        # filled price p(1 +- s)
    fee: float          # f x |qty| x price + fixed fee
    scaled: bool = False
    reason: str = "rebalance"   # or "delisted", "end_of_data"


@dataclass
class RefLedger:
    symbols: list[str]
    equity: list[float] = field(default_factory=list)       # per bar, at the close
    cash: list[float] = field(default_factory=list)         # per bar, at the close
    positions: list[list[float]] = field(default_factory=list)  # per bar, qty per symbol
    fees_paid: list[float] = field(default_factory=list)    # cumulative, per bar
    fills: list[RefFill] = field(default_factory=list)
    scaled_bars: list[int] = field(default_factory=list)    # bars whose buys were scaled down


def _is_num(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _table(frame_or_rows, n_bars: int | None = None) -> list[list[float]]:
    """A wide DataFrame or a list of rows -> list of rows of floats (NaN where missing)."""
    if hasattr(frame_or_rows, "to_numpy"):
        rows = frame_or_rows.to_numpy(dtype=float).tolist()
    else:
        rows = [[float("nan") if v is None else float(v) for v in row] for row in frame_or_rows]
    if n_bars is not None and len(rows) != n_bars:
        raise ValueError("row count mismatch")
    return rows


def _per_symbol(value, symbols: list[str], name: str) -> list[float]:
    if isinstance(value, dict):
        return [float(value.get(s, 0.0)) for s in symbols]
    return [float(value)] * len(symbols)


def run_reference_ledger(close, weights, *, symbols: list[str] | None = None, open=None,
                         cash: float = 1_000_000.0, fees=0.0, fixed_fees=0.0, slippage=0.0,
                         execution: str = "next_open", close_at_end: bool = False) -> RefLedger:
    """Run the target-weight semantics bar by bar. ``close``/``open``/``weights``: DataFrames or rows
    (rows need ``symbols``).

    >>> led = run_reference_ledger([[10.0], [12.0]], [[1.0], [None]], symbols=["A"], cash=100.0,
    ...                            execution="close")
    >>> led.equity, led.positions
    ([100.0, 120.0], [[10.0], [10.0]])
    """
    if symbols is None:
        symbols = [str(c) for c in close.columns]
    close_rows = _table(close)
    n_bars = len(close_rows)
    open_rows = _table(open, n_bars) if open is not None else close_rows  # no open: open = close
    weight_rows = _table(weights, n_bars)
    n = len(symbols)
    fee_rate = _per_symbol(fees, symbols, "fees")
    fixed = _per_symbol(fixed_fees, symbols, "fixed_fees")
    slip = _per_symbol(slippage, symbols, "slippage")
    if execution not in ("next_open", "close"):
        raise ValueError(f"execution must be 'next_open' or 'close', got {execution!r}")

    out = RefLedger(symbols=list(symbols))
    qty = [0.0] * n
    last_close = [float("nan")] * n
    cash_now = float(cash)
    fees_total = 0.0
    pending: list[float] | None = None   # next_open: the row waiting for the next open

    def execute(bar: int, prices: list[float], row: list[float], reason: str = "rebalance") -> None:
        nonlocal cash_now, fees_total
        # 1. portfolio value at the unslipped execution prices (last known close where no price)
        value = cash_now
        for j in range(n):
            if qty[j] != 0.0:
                mark = prices[j] if _is_num(prices[j]) else last_close[j]
                if not _is_num(mark):
                    raise AssertionError(f"held {symbols[j]} has no price and no known close")
                value += qty[j] * mark
        # 2. orders = target - held, only where a weight is given and a price exists
        sells: list[tuple[int, float]] = []
        buys: list[tuple[int, float]] = []
        for j in range(n):
            w = row[j]
            if not _is_num(w) or not _is_num(prices[j]):
                continue
            if w < 0:
                raise ValueError("the reference ledger models a cash account only (w >= 0)")
            target = w * value / prices[j]
            delta = target - qty[j]
            if delta < 0:
                sells.append((j, -delta))
            elif delta > 0:
                buys.append((j, delta))
        # 3. sells first
        for j, q in sells:
            base = prices[j]
            px = base * (1.0 - slip[j])
            fee = fee_rate[j] * q * px + fixed[j]
            cash_now += q * px - fee
            fees_total += fee
            qty[j] -= q
            out.fills.append(RefFill(bar, symbols[j], -q, base, px, fee, reason=reason))
        # 4. then buys, all scaled by one factor if cash is short
        if buys:
            variable = 0.0
            fixed_sum = 0.0
            for j, q in buys:
                px = prices[j] * (1.0 + slip[j])
                variable += q * px * (1.0 + fee_rate[j])
                fixed_sum += fixed[j]
            k = 1.0
            if variable + fixed_sum > cash_now:
                k = (cash_now - fixed_sum) / variable
                out.scaled_bars.append(bar)
            if k > 0.0:
                for j, q in buys:
                    base = prices[j]
                    px = base * (1.0 + slip[j])
                    q_fill = q * k
                    fee = fee_rate[j] * q_fill * px + fixed[j]
                    cash_now -= q_fill * px + fee
                    fees_total += fee
                    qty[j] += q_fill
                    out.fills.append(RefFill(bar, symbols[j], q_fill, base, px, fee, scaled=k < 1.0,
                                             reason=reason))

    def is_all_nan(row: list[float]) -> bool:
        for w in row:
            if _is_num(w):
                return False
        return True

    # the last bar with a close, per asset; data ending before the final bar means a delisting
    last_valid = [-1] * n
    for t in range(n_bars):
        for j in range(n):
            if _is_num(close_rows[t][j]):
                last_valid[j] = t

    for t in range(n_bars):
        if execution == "next_open":
            if pending is not None:
                execute(t, open_rows[t], pending)
                pending = None
            for j in range(n):
                if _is_num(close_rows[t][j]):
                    last_close[j] = close_rows[t][j]
            if not is_all_nan(weight_rows[t]):
                pending = weight_rows[t]
        else:
            for j in range(n):
                if _is_num(close_rows[t][j]):
                    last_close[j] = close_rows[t][j]
            if not is_all_nan(weight_rows[t]):
                execute(t, close_rows[t], weight_rows[t])
        gone = [0.0 if (qty[j] != 0.0 and last_valid[j] == t < n_bars - 1) else float("nan")
                for j in range(n)]
        if not is_all_nan(gone):
            execute(t, close_rows[t], gone, reason="delisted")
        if close_at_end and t == n_bars - 1:
            flat = [0.0 if (qty[j] != 0.0 and _is_num(close_rows[t][j])) else float("nan")
                    for j in range(n)]
            if not is_all_nan(flat):
                execute(t, close_rows[t], flat, reason="end_of_data")
        equity = cash_now
        for j in range(n):
            if qty[j] != 0.0:
                equity += qty[j] * last_close[j]
        out.equity.append(equity)
        out.cash.append(cash_now)
        out.positions.append(list(qty))
        out.fees_paid.append(fees_total)
    return out
