"""Hand-built Result objects for the analytics and report tests (no engine involved).

``ledger_result`` replays a list of hand-written fills against close prices with the plain accounting
identity equity = cash + sum(qty x close), so every frame of the Result is consistent with the others.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from multifolio.engine.run_info import AccountSpec, RunInfo
from multifolio.result import Result

FILL_COLS = ["timestamp", "symbol", "qty", "price", "base_price", "fee", "slippage_cost", "order_id",
             "kind", "reason", "realized_pnl"]
TRADE_COLS = ["symbol", "direction", "entry_time", "exit_time", "qty", "entry_price", "exit_price", "pnl",
              "return_pct", "fees", "exit_reason", "bars_held"]
ORDER_COLS = ["order_id", "timestamp", "symbol", "kind", "qty", "price", "status", "reason", "filled_qty",
              "fill_price", "fill_time"]
EVENT_COLS = ["timestamp", "kind", "symbol", "details"]


def run_info(symbols: list[str], initial: float, info: RunInfo | None = None, **changes: Any) -> RunInfo:
    """The RunInfo of a hand-built Result: ``info`` when given, else a plain backtest's, with ``changes``."""
    if info is not None:
        return info
    base = RunInfo(engine="backtest", account=AccountSpec(capital=initial), symbols=tuple(symbols))
    return dataclasses.replace(base, **changes)


def hourly(n: int, start: str = "2024-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="h", tz="UTC")


def equity_result(values: list[float] | np.ndarray, *, initial: float | None = None,
                  index: pd.DatetimeIndex | None = None, events: pd.DataFrame | None = None,
                  info: RunInfo | None = None, snapshots: dict[str, Any] | None = None,
                  symbols: list[str] | None = None) -> Result:
    """A Result with only an equity path (no fills), for return and drawdown checks."""
    values = np.asarray(values, dtype=float)
    index = hourly(len(values)) if index is None else index
    eq = pd.Series(values, index=index, name="total_equity")
    snaps = pd.DataFrame({"total_equity": values, "cash": values, "realized_pnl": 0.0,
                          "unrealized_pnl": 0.0, "fees_paid": 0.0, "margin_used": 0.0,
                          "margin_ratio": 0.0, "gross_exposure": 0.0, "n_open_positions": 0,
                          "n_assets_with_positions": 0, "n_open_orders": 0}, index=index)
    for k, v in (snapshots or {}).items():
        snaps[k] = v
    symbols = symbols or ["A"]
    return Result(
        equity=eq, snapshots=snaps,
        positions=pd.DataFrame(0.0, index=index, columns=symbols),
        fills=pd.DataFrame(columns=FILL_COLS), trades=pd.DataFrame(columns=TRADE_COLS),
        orders=pd.DataFrame(columns=ORDER_COLS),
        events=events if events is not None else pd.DataFrame(columns=EVENT_COLS),
        initial_capital=float(values[0] if initial is None else initial), symbols=symbols,
        info=run_info(symbols, float(values[0] if initial is None else initial), info),
        freq=pd.Timedelta(index[1] - index[0]) if len(index) > 1 else None)


def _round_trips(fills: pd.DataFrame, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Flat -> flat round trips per symbol; pnl = all cash flows of the trip, fees included."""
    rows = []
    for sym, f in fills.groupby("symbol", sort=False):
        pos, cash, fees, start, peak, entry = 0.0, 0.0, 0.0, None, 0.0, 0.0
        for _, r in f.iterrows():
            if pos == 0:
                start, cash, fees, peak, entry = r["timestamp"], 0.0, 0.0, 0.0, r["price"]
            pos = round(pos + r["qty"], 12)
            cash += -r["qty"] * r["price"] - r["fee"]
            fees += r["fee"]
            peak = max(peak, abs(pos))
            if pos == 0:
                rows.append({"symbol": sym, "direction": "long" if r["qty"] < 0 else "short",
                             "entry_time": start, "exit_time": r["timestamp"], "qty": peak,
                             "entry_price": entry, "exit_price": r["price"], "pnl": cash,
                             "return_pct": cash / (peak * entry) * 100, "fees": fees,
                             "exit_reason": r["reason"],
                             "bars_held": int(index.get_loc(r["timestamp"]) - index.get_loc(start))})
    return pd.DataFrame(rows, columns=TRADE_COLS)


def ledger_result(close: pd.DataFrame, fills: list[tuple], *, initial: float = 10_000.0,
                  leverage: float = 1.0, orders: pd.DataFrame | None = None,
                  events: pd.DataFrame | None = None, info: RunInfo | None = None) -> Result:
    """Replay ``fills`` = [(timestamp, symbol, qty, price, fee, reason), ...] against ``close``."""
    index, symbols = close.index, list(close.columns)
    f = pd.DataFrame(fills, columns=["timestamp", "symbol", "qty", "price", "fee", "reason"])
    f["timestamp"] = pd.DatetimeIndex(f["timestamp"]) if len(f) else pd.DatetimeIndex([], tz="UTC")
    f["base_price"], f["slippage_cost"] = f["price"], 0.0
    f["order_id"], f["kind"], f["realized_pnl"] = np.arange(len(f)), "market", 0.0
    f = f[FILL_COLS]
    cash, pos = initial, dict.fromkeys(symbols, 0.0)
    last = close.ffill()
    snaps, positions = [], []
    fees_total = 0.0
    for t in index:
        for _, r in f[f["timestamp"] == t].iterrows():
            cash -= r["qty"] * r["price"] + r["fee"]
            fees_total += r["fee"]
            pos[r["symbol"]] = round(pos[r["symbol"]] + r["qty"], 12)
        value = sum(q * last.at[t, s] for s, q in pos.items() if q)
        gross = sum(abs(q) * last.at[t, s] for s, q in pos.items() if q)
        n_open = sum(1 for q in pos.values() if q)
        snaps.append({"total_equity": cash + value, "cash": cash, "realized_pnl": 0.0,
                      "unrealized_pnl": 0.0, "fees_paid": fees_total, "margin_used": gross / leverage,
                      "margin_ratio": gross / leverage / initial, "gross_exposure": gross,
                      "n_open_positions": n_open, "n_assets_with_positions": n_open, "n_open_orders": 0})
        positions.append(dict(pos))
    snap_df = pd.DataFrame(snaps, index=index)
    return Result(
        equity=snap_df["total_equity"].rename("total_equity"), snapshots=snap_df,
        positions=pd.DataFrame(positions, index=index, columns=symbols), fills=f,
        trades=_round_trips(f, index),
        orders=orders if orders is not None else pd.DataFrame(columns=ORDER_COLS),
        events=events if events is not None else pd.DataFrame(columns=EVENT_COLS),
        initial_capital=initial, symbols=symbols, info=run_info(symbols, initial, info),
        freq=pd.Timedelta(index[1] - index[0]))


def two_asset_result() -> Result:
    """Two assets over 8 hourly bars with wins, losses, fees, an end-of-data close and rejections."""
    idx = hourly(8)
    close = pd.DataFrame({"BTC": [100, 102, 98, 90, 95, 105, 110, 108.0],
                          "ETH": [10, 10, 9, 8, 8.5, 9, 9.5, 10.0]}, index=idx)
    fills = [
        (idx[0], "BTC", 10.0, 100.0, 1.0, "signal"),
        (idx[1], "ETH", 100.0, 10.0, 1.0, "signal"),
        (idx[2], "BTC", 10.0, 98.0, 1.0, "signal"),       # a second level on BTC
        (idx[3], "ETH", -100.0, 8.0, 0.8, "stop_loss"),   # ETH round trip: -200 - 1.8
        (idx[5], "BTC", -20.0, 105.0, 2.0, "take_profit"),  # BTC: 20*105 - 1000 - 980 - 4 = 116
        (idx[6], "ETH", 50.0, 9.5, 0.5, "signal"),
        (idx[7], "ETH", -50.0, 10.0, 0.5, "end_of_data"),   # 25 - 1 = 24
    ]
    orders = pd.DataFrame([
        (0, idx[0], "BTC", "limit", 10.0, 100.0, "filled", "", 10.0, 100.0, idx[0]),
        (1, idx[2], "ETH", "limit", 5.0, 9.0, "rejected", "insufficient_margin", 0.0, np.nan, pd.NaT),
        (2, idx[3], "ETH", "limit", 5.0, 8.0, "rejected", "min_notional", 0.0, np.nan, pd.NaT),
        (3, idx[4], "BTC", "limit", 5.0, 90.0, "rejected", "insufficient_margin", 0.0, np.nan, pd.NaT),
        (4, idx[5], "BTC", "limit", 1.0, 99.0, "cancelled", "cancelled", 0.0, np.nan, pd.NaT),
    ], columns=ORDER_COLS)
    return ledger_result(close, fills, initial=10_000.0, orders=orders)
