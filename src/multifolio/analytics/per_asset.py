"""Per-asset attribution: trades, win rate, PnL, contribution, fees, rejections, grid depth.

Column definitions (the README quotes them):

* ``trades``: closed round trips of the asset (``Result.trades``, end-of-data closes included);
  ``win_rate``: % of those with pnl > 0 (NaN without trades).
* ``pnl``: the asset's net PnL in account currency = sum over its fills of ``-qty x price - fee`` and its
  financing charges (swap, funding, borrow), plus
  the value of a position still open at the end marked at the asset's last close. With positions closed
  at the end of data (the default) this is the realized PnL net of every fee. The column sums to the
  portfolio's PnL (final equity - initial capital) because equity = cash + sum(qty x price).
* ``contribution_pct``: pnl / sum of all assets' pnl x 100 (sums to 100; NaN when the total is 0;
  with a losing portfolio a winning asset has a negative share). ``return_contribution_pct``:
  pnl / initial capital x 100 (sums to the total return in %).
* ``fees``, ``traded_notional`` (sum of |fill value|: qty x price, times the contract size and the
  conversion rate for instruments that have them), ``n_fills``. For lot-sized or converted instruments
  ``pnl`` is the fills' realized PnL in the account's currency net of fees and financing, plus an open
  position's PnL at the last close (the cash such a position holds moves with the rate).
* ``rejected``: orders of the asset with status ``rejected``; ``rejected_margin`` (reason
  ``insufficient_margin`` or ``insufficient_cash``) and ``rejected_min_notional`` split it by cause.
* ``peak_filled_levels``: the most entry fills stacked in one open position: walking the asset's fills in
  order, a fill that opens or enlarges the position counts one level, a fill that flattens it resets the
  count, a flip restarts it at one, a partial reduction leaves it. For a grid this is the deepest number
  of levels filled at once; for a rebalancing strategy it counts the buys since the position opened.
* ``open_qty``: quantity still held after the last bar (0 after end-of-data closes).
* ``cut_<rule>`` (only when risk rules cut orders): the notional each rule cut from the asset's orders
  (|requested - allowed| x close at the decision; :mod:`multifolio.analytics.interventions`).

The table's ``attrs`` hold ``portfolio_pnl`` (final equity - initial capital), ``attributed_pnl`` and
``unattributed_pnl`` (their difference: costs outside fills, such as funding, or an unpriced open
position).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from multifolio.analytics.interventions import cuts_by_asset

MARGIN_REASONS = frozenset({"insufficient_margin", "insufficient_cash"})
MIN_NOTIONAL_REASONS = frozenset({"min_notional"})
COLUMNS = ["trades", "win_rate", "pnl", "contribution_pct", "return_contribution_pct", "fees",
           "traded_notional", "n_fills", "rejected", "rejected_margin", "rejected_min_notional",
           "peak_filled_levels", "open_qty"]


def closed_trades(trades: pd.DataFrame) -> pd.DataFrame:
    """The round trips that ended (a trade still open at the end has no exit time / reason "open")."""
    if len(trades) == 0:
        return trades
    closed = pd.Series(True, index=trades.index)
    if "exit_time" in trades.columns:
        closed &= trades["exit_time"].notna()
    if "exit_reason" in trades.columns:
        closed &= trades["exit_reason"] != "open"
    return trades[closed]


def peak_filled_levels(qty: np.ndarray) -> int:
    """Most entry fills stacked in one position, from the signed fill quantities in time order.

    >>> peak_filled_levels(np.array([1.0, 1.0, 1.0, -3.0, 2.0, -1.0, 1.0]))
    3
    """
    pos, count, peak = 0.0, 0, 0
    scale = float(np.max(np.abs(qty))) if len(qty) else 0.0
    eps = 1e-9 * scale
    for q in qty:
        new = pos + q
        if abs(new) <= eps:
            count, new = 0, 0.0
        elif abs(pos) <= eps or (new > 0) != (pos > 0):
            count = 1                      # opened, or flipped through zero into a new position
        elif abs(new) > abs(pos):
            count += 1                     # added a level to the same side
        pos = new
        peak = max(peak, count)
    return peak


def _last_marks(result: Any, symbols: list[str], open_qty: pd.Series) -> pd.Series:
    """Last close per symbol for positions still open (NaN when unknown)."""
    marks = pd.Series(np.nan, index=symbols, dtype=float)
    held = open_qty[open_qty.abs() > 0]
    if len(held) == 0:
        return marks
    close = getattr(result, "close", None)
    if isinstance(close, pd.DataFrame):
        last = close.ffill().iloc[-1] if len(close) else pd.Series(dtype=float)
        for s in held.index:
            if s in last.index:
                marks[s] = float(last[s])
    missing = [s for s in held.index if not np.isfinite(marks[s])]
    snaps = result.snapshots
    if len(missing) == 1 and len(snaps) and {"total_equity", "cash"} <= set(snaps.columns):
        # equity = cash + sum(qty x price): with one position left unpriced, its value is the rest
        known = sum(float(held[s]) * float(marks[s]) for s in held.index if s not in missing)
        value = float(snaps["total_equity"].iloc[-1]) - float(snaps["cash"].iloc[-1]) - known
        marks[missing[0]] = value / float(held[missing[0]])
    return marks


def _open_pnl(fills: pd.DataFrame, trades: pd.DataFrame, symbols: list[str], held: pd.Series,
              marks: pd.Series) -> pd.Series:
    """For lot-sized or converted instruments: a still-open position's PnL, held x (mark - entry price) x
    the asset's last value multiplier (contract size x the rate of its last fill)."""
    out = pd.Series(0.0, index=symbols)
    if trades is None or len(trades) == 0 or "exit_time" not in trades.columns:
        return out
    open_trades = trades[trades["exit_time"].isna()]
    entry = open_trades.groupby("symbol", observed=True)["entry_price"].last()
    last = fills.groupby("symbol", observed=True).last()
    mult = (last["value"] / (last["qty"] * last["price"])).replace([np.inf, -np.inf], np.nan)
    for s in symbols:
        if held.get(s, 0.0) != 0.0 and s in entry.index and s in mult.index:
            out[s] = float(held[s]) * (float(marks[s]) - float(entry[s])) * float(mult[s])
    return out


def per_asset_table(result: Any) -> pd.DataFrame:
    """One row per symbol (``result.symbols`` order), columns as the module docstring defines."""
    symbols = list(result.symbols)
    fills: pd.DataFrame = result.fills
    trades: pd.DataFrame = closed_trades(result.trades)
    orders: pd.DataFrame = result.orders
    for frame in (fills, trades, orders):
        if len(frame) and "symbol" in frame.columns:
            symbols += [s for s in pd.unique(frame["symbol"]) if s not in symbols]
    table = pd.DataFrame(0.0, index=pd.Index(symbols, name="symbol"), columns=COLUMNS)

    if len(trades):
        g = trades.groupby("symbol")["pnl"]
        table["trades"] = g.size().reindex(symbols, fill_value=0).astype(float)
        wins = trades.assign(win=trades["pnl"] > 0).groupby("symbol")["win"].mean() * 100.0
        table["win_rate"] = wins.reindex(symbols)
    else:
        table["win_rate"] = np.nan

    # the fill's value in the account's currency (contract size and conversion included, when present)
    value = fills["value"] if "value" in fills.columns else fills["qty"] * fills["price"]
    scaled = bool(len(fills)) and not np.allclose(value.to_numpy(dtype=float),
                                                  (fills["qty"] * fills["price"]).to_numpy(dtype=float))
    if len(fills):
        # lot-sized or converted instruments: the cash a position holds moves with the rate, so their PnL
        # is what the fills realized (in the account's currency) net of fees, plus what is still open
        flow = fills["realized_pnl"] - fills["fee"] if scaled else -value - fills["fee"]
        f = fills.assign(cashflow=flow, notional=value.abs())
        g = f.groupby("symbol", sort=False)
        table["fees"] = g["fee"].sum().reindex(symbols, fill_value=0.0)
        table["traded_notional"] = g["notional"].sum().reindex(symbols, fill_value=0.0)
        table["n_fills"] = g.size().reindex(symbols, fill_value=0).astype(float)
        cashflow = g["cashflow"].sum().reindex(symbols, fill_value=0.0)
        held = g["qty"].sum().reindex(symbols, fill_value=0.0)
        ordered = f.sort_values("timestamp", kind="stable") if "timestamp" in f.columns else f
        levels = ordered.groupby("symbol", sort=False)["qty"].agg(
            lambda q: peak_filled_levels(q.to_numpy(dtype=float)))
        table["peak_filled_levels"] = levels.reindex(symbols, fill_value=0).astype(float)
    else:
        cashflow = pd.Series(0.0, index=symbols)
        held = pd.Series(0.0, index=symbols)

    positions = getattr(result, "positions", None)
    if isinstance(positions, pd.DataFrame) and len(positions):
        last = positions.iloc[-1].reindex(symbols).fillna(0.0).astype(float)
        held = last.where(last.index.isin(positions.columns), held)
    # fill ledgers accumulate float noise: a quantity this small next to the traded size is flat
    scale = fills.groupby("symbol")["qty"].apply(lambda q: q.abs().max()).reindex(symbols).fillna(0.0) \
        if len(fills) else pd.Series(0.0, index=symbols)
    held = held.where(held.abs() > 1e-9 * scale, 0.0)
    table["open_qty"] = held
    marks = _last_marks(result, symbols, held)
    open_value = (held * marks).where(held != 0, 0.0)
    if len(fills) and scaled:
        open_value = _open_pnl(fills, result.trades, symbols, held, marks)
    financing = getattr(result, "financing", None)
    if isinstance(financing, pd.DataFrame) and len(financing):     # swaps, funding, borrow: cash moved
        cashflow = cashflow + financing.groupby("symbol", observed=True)["amount"].sum() \
            .reindex(symbols, fill_value=0.0)
    table["pnl"] = cashflow + open_value

    if len(orders) and "status" in orders.columns:
        rej = orders[orders["status"] == "rejected"]
        reasons = rej["reason"] if "reason" in rej.columns else pd.Series("", index=rej.index)
        table["rejected"] = rej.groupby("symbol").size().reindex(symbols, fill_value=0).astype(float)
        for col, which in (("rejected_margin", MARGIN_REASONS),
                           ("rejected_min_notional", MIN_NOTIONAL_REASONS)):
            sub = rej[reasons.isin(which)]
            table[col] = sub.groupby("symbol").size().reindex(symbols, fill_value=0).astype(float)

    total = float(table["pnl"].sum(min_count=1)) if table["pnl"].notna().all() else math.nan
    table["contribution_pct"] = table["pnl"] / total * 100.0 if total and np.isfinite(total) else np.nan
    cap = float(result.initial_capital)
    table["return_contribution_pct"] = table["pnl"] / cap * 100.0 if cap > 0 else np.nan
    for col in ("trades", "n_fills", "rejected", "rejected_margin", "rejected_min_notional",
                "peak_filled_levels"):
        table[col] = table[col].astype(int)

    cuts = cuts_by_asset(result, list(table.index))
    for rule in cuts.columns:
        table[f"cut_{rule}"] = cuts[rule].reindex(table.index, fill_value=0.0)

    final = float(result.equity.iloc[-1]) if len(result.equity) else cap
    table.attrs["portfolio_pnl"] = final - cap
    table.attrs["attributed_pnl"] = total
    table.attrs["unattributed_pnl"] = final - cap - total if np.isfinite(total) else math.nan
    return table
