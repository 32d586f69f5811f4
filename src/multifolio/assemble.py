"""Turn a RawRun (kernel arrays and ledgers) into the pandas-facing Result."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from multifolio.engine import codes as C
from multifolio.engine.kernels import build_trades
from multifolio.engine.raw import RawRun
from multifolio.engine.run_info import RunInfo
from multifolio.result import Result

FILL_COLUMNS = ["timestamp", "symbol", "qty", "price", "base_price", "fee", "slippage_cost", "order_id",
                "kind", "reason", "status", "realized_pnl"]
TRADE_COLUMNS = ["symbol", "direction", "entry_time", "exit_time", "qty", "entry_price", "exit_price",
                 "pnl", "return_pct", "fees", "exit_reason", "bars_held"]
ORDER_COLUMNS = ["order_id", "timestamp", "symbol", "kind", "qty", "price", "status", "reason",
                 "filled_qty", "fill_price", "fill_time"]
EVENT_COLUMNS = ["timestamp", "kind", "symbol", "details"]


def _map_names(codes: np.ndarray, table: dict[int, str], extra: dict[int, str] | None = None
               ) -> pd.Categorical:
    """Code -> name as a Categorical over every name of the table (a stable dtype from run to run;
    cheap to build and to hold for 10^6 rows)."""
    lookup = {**table, **(extra or {})}
    keys = sorted(lookup)
    names = list(dict.fromkeys(lookup[k] for k in keys))
    pos = {name: i for i, name in enumerate(names)}
    code_to_cat = {k: pos[lookup[k]] for k in keys}
    codes = np.asarray(codes, dtype=np.int64)
    uniq, inv = np.unique(codes, return_inverse=True)
    missing = [int(c) for c in uniq if int(c) not in code_to_cat]
    for c in missing:                       # unknown code: keep it visible rather than drop it
        code_to_cat[c] = len(names)
        names.append(str(c))
    cat_codes = np.array([code_to_cat[int(c)] for c in uniq], dtype=np.int64)[inv] if len(codes) else \
        np.zeros(0, dtype=np.int64)
    return pd.Categorical.from_codes(cat_codes, categories=pd.Index(names, dtype=object))


def _symbols(symbols: list[str], asset: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(asset, dtype=np.int64),
                                     categories=pd.Index(symbols, dtype=object))


def build_fills(raw: RawRun) -> pd.DataFrame:
    ff, fi = raw.state.fills()
    qty = ff[:, C.F_QTY]
    frame = pd.DataFrame({
        "timestamp": raw.index[fi[:, C.I_BAR]],
        "symbol": _symbols(raw.symbols, fi[:, C.I_ASSET]),
        "qty": qty,
        "price": ff[:, C.F_PRICE],
        "base_price": ff[:, C.F_BASE_PRICE],
        "fee": ff[:, C.F_FEE],
        "slippage_cost": np.abs(qty) * np.abs(ff[:, C.F_PRICE] - ff[:, C.F_BASE_PRICE]),
        "order_id": fi[:, C.I_ORDER],
        "kind": _map_names(fi[:, C.I_KIND], C.KIND_NAMES),
        "reason": _map_names(fi[:, C.I_REASON], C.REASON_NAMES, raw.tag_names),
        "status": _map_names(fi[:, C.I_STATUS], C.STATUS_NAMES),
        "realized_pnl": ff[:, C.F_REALIZED],
    }, columns=FILL_COLUMNS)
    return frame


def build_trades_frame(raw: RawRun) -> pd.DataFrame:
    ff, fi = raw.state.fills()
    (asset, direction, entry, exit_, peak, epx, xpx, pnl, fees, reason) = build_trades(
        np.ascontiguousarray(ff[:, C.F_QTY]), np.ascontiguousarray(ff[:, C.F_PRICE]),
        np.ascontiguousarray(ff[:, C.F_FEE]), np.ascontiguousarray(fi[:, C.I_BAR]),
        np.ascontiguousarray(fi[:, C.I_ASSET]), np.ascontiguousarray(fi[:, C.I_REASON]), len(raw.symbols))
    closed = exit_ >= 0
    exit_times = raw.index[np.maximum(exit_, 0)].where(closed)
    net = pnl - fees
    basis = epx * peak
    frame = pd.DataFrame({
        "symbol": _symbols(raw.symbols, asset),
        "direction": np.where(direction > 0, "long", "short"),
        "entry_time": raw.index[entry],
        "exit_time": exit_times,
        "qty": peak,
        "entry_price": epx,
        "exit_price": xpx,
        "pnl": net,
        "return_pct": np.where(basis > 0, net / np.where(basis > 0, basis, 1.0) * 100.0, np.nan),
        "fees": fees,
        "exit_reason": _map_names(np.where(closed, reason, -1), {**C.REASON_NAMES, -1: "open"},
                                  raw.tag_names),
        "bars_held": np.where(closed, exit_ - entry, len(raw.index) - 1 - entry),
    }, columns=TRADE_COLUMNS)
    return frame


def build_orders(raw: RawRun) -> pd.DataFrame:
    """One row per order that did something: filled (wholly or scaled), rejected, or still open."""
    parts = []
    ff, fi = raw.state.fills()
    if len(fi):
        ids = fi[:, C.I_ORDER].copy()
        # forced closes (liquidation, delisting, end of data) carry id -1: give each its own id
        forced = ids < 0
        if forced.any():
            top = max(int(ids.max()), _max_id(raw)) + 1
            ids[forced] = np.arange(top, top + int(forced.sum()))
        order = np.argsort(ids, kind="stable")
        sid = ids[order]
        uniq, first = np.unique(sid, return_index=True)
        last = np.append(first[1:], len(sid)) - 1
        rows_first = order[first]
        rows_last = order[last]
        qty = ff[order, C.F_QTY]
        filled = np.add.reduceat(qty, first)
        notional = np.add.reduceat(qty * ff[order, C.F_PRICE], first)
        fill_price = np.divide(notional, filled, out=np.full(len(filled), np.nan), where=filled != 0)
        parts.append(pd.DataFrame({
            "order_id": uniq,
            "timestamp": raw.index[fi[rows_first, C.I_PLACED]],
            "symbol": _symbols(raw.symbols, fi[rows_first, C.I_ASSET]),
            "kind": _map_names(fi[rows_first, C.I_KIND], C.KIND_NAMES),
            "qty": filled,
            "price": ff[rows_first, C.F_ORDER_PRICE],
            "status": _map_names(fi[rows_last, C.I_STATUS], C.STATUS_NAMES),
            "reason": _map_names(fi[rows_first, C.I_REASON], C.REASON_NAMES, raw.tag_names),
            "filled_qty": filled,
            "fill_price": fill_price,
            "fill_time": raw.index[fi[rows_first, C.I_BAR]],
        }, columns=ORDER_COLUMNS))
    rf, ri = raw.state.rejections()
    if len(ri):
        parts.append(pd.DataFrame({
            "order_id": ri[:, C.I_ORDER],
            "timestamp": raw.index[ri[:, C.I_PLACED]],
            "symbol": _symbols(raw.symbols, ri[:, C.I_ASSET]),
            "kind": _map_names(ri[:, C.I_KIND], C.KIND_NAMES),
            "qty": rf[:, C.R_QTY],
            "price": rf[:, C.R_PRICE],
            "status": "rejected",
            "reason": _map_names(ri[:, C.I_REASON], C.REASON_NAMES, raw.tag_names),
            "filled_qty": 0.0,
            "fill_price": np.nan,
            "fill_time": raw.index[ri[:, C.I_BAR]],
        }, columns=ORDER_COLUMNS))
    if raw.open_orders is not None and len(raw.open_orders):
        parts.append(raw.open_orders[ORDER_COLUMNS])
    if not parts:
        return pd.DataFrame(columns=ORDER_COLUMNS)
    orders = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return orders.sort_values(["timestamp", "order_id"], kind="stable").reset_index(drop=True)


def _max_id(raw: RawRun) -> int:
    _, ri = raw.state.rejections()
    return int(ri[:, C.I_ORDER].max()) if len(ri) else 0


def build_events(raw: RawRun) -> pd.DataFrame:
    ef, ei = raw.state.kernel_events()
    rows = []
    for k in range(len(ei)):
        bar, kind, asset = (int(x) for x in ei[k])
        sym = raw.symbols[asset] if asset >= 0 else None
        if kind == C.EV_SCALED:
            details = {"factor": float(ef[k, 0]), "free": float(ef[k, 1]), "needed": float(ef[k, 2])}
        elif kind == C.EV_LIQUIDATION:
            details = {"equity": float(ef[k, 0]), "margin_used": float(ef[k, 1]),
                       "equity_to_margin": float(ef[k, 2])}
        else:
            details = {"qty": float(ef[k, 0]), "price": float(ef[k, 1])}
        rows.append((bar, C.EVENT_NAMES[kind], sym, details))
    rows.extend(raw.events)
    rows.sort(key=lambda r: r[0])
    return pd.DataFrame({
        "timestamp": raw.index[[r[0] for r in rows]] if rows else pd.DatetimeIndex([], tz="UTC"),
        "kind": [r[1] for r in rows],
        "symbol": [r[2] for r in rows],
        "details": [r[3] for r in rows],
    }, columns=EVENT_COLUMNS)


class LazyResult(Result):
    """A Result whose ledgers (fills, trades, orders, events) are built from the raw run on first use.

    A 500-asset daily run makes ~10^5 fills; turning them into DataFrames costs more than the
    simulation itself, so it is only paid when a caller looks at them.
    """

    def __init__(self, raw: RawRun, equity: pd.Series, snapshots: pd.DataFrame, positions: pd.DataFrame,
                 info: RunInfo, close: pd.DataFrame | None) -> None:
        self._raw = raw
        self.equity = equity
        self.snapshots = snapshots
        self.positions = positions
        self.initial_capital = float(raw.state.acct[C.A_INITIAL])
        self.symbols = list(raw.symbols)
        self.info = info
        self.freq = raw.freq
        self.close = close

    @cached_property
    def fills(self) -> pd.DataFrame:  # type: ignore[override]
        return build_fills(self._raw)

    @cached_property
    def trades(self) -> pd.DataFrame:  # type: ignore[override]
        return build_trades_frame(self._raw)

    @cached_property
    def orders(self) -> pd.DataFrame:  # type: ignore[override]
        return build_orders(self._raw)

    @cached_property
    def events(self) -> pd.DataFrame:  # type: ignore[override]
        return build_events(self._raw)


def assemble(raw: RawRun, info: RunInfo) -> Result:
    """Build the Result; the warm-up bars before ``raw.start_bar`` are left out of every frame."""
    state = raw.state
    s0 = raw.start_bar
    index = raw.index[s0:]
    snap = pd.DataFrame(state.snap[s0:], index=index, columns=list(C.SNAPSHOT_COLUMNS), copy=False)
    for col in ("n_open_positions", "n_assets_with_positions", "n_open_orders"):
        snap[col] = snap[col].astype(np.int64)
    for name, values in raw.records.items():
        snap[name] = values[s0:]
    positions = pd.DataFrame(state.qh[s0:], index=index, columns=raw.symbols, copy=False)
    close = None if raw.close is None else pd.DataFrame(raw.close[s0:], index=index, columns=raw.symbols,
                                                        copy=False)
    return LazyResult(raw, snap["total_equity"].rename("equity"), snap, positions, info, close)
