"""Turn a RawRun (kernel arrays and ledgers) into the pandas-facing Result."""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

import numpy as np
import pandas as pd

from multifolio.analytics.metrics import LedgerFigures
from multifolio.analytics.per_asset import MARGIN_REASONS, MIN_NOTIONAL_REASONS
from multifolio.engine import codes as C
from multifolio.engine.batch import event_rows
from multifolio.engine.kernels import build_trades
from multifolio.engine.raw import RawRun
from multifolio.engine.records import SNAPSHOT_COLUMNS
from multifolio.engine.run_info import RunInfo
from multifolio.result import MultiResult, Result

FILL_COLUMNS = ["timestamp", "symbol", "qty", "price", "base_price", "fee", "slippage_cost", "order_id",
                "kind", "reason", "status", "realized_pnl", "value"]
TRADE_COLUMNS = ["symbol", "direction", "entry_time", "exit_time", "qty", "entry_price", "exit_price",
                 "pnl", "return_pct", "fees", "exit_reason", "bars_held", "financing"]
FINANCING_COLUMNS = ["timestamp", "symbol", "qty", "price", "rate", "days", "amount", "kind"]
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
    f = raw.state.fills()
    qty = f["qty"]
    frame = pd.DataFrame({
        "timestamp": raw.index[f["bar"]],
        "symbol": _symbols(raw.symbols, f["asset"]),
        "qty": qty,
        "price": f["price"],
        "base_price": f["base_price"],
        "fee": f["fee"],
        "slippage_cost": np.abs(qty) * np.abs(f["price"] - f["base_price"]),
        "order_id": f["order_id"],
        "kind": _map_names(f["kind"], C.KIND_NAMES),
        "reason": _map_names(f["reason"], C.REASON_NAMES, raw.tag_names),
        "status": _map_names(f["status"], C.STATUS_NAMES),
        "realized_pnl": f["realized_pnl"],
        # signed value in the account's currency: qty x price x contract size x the bar's conversion rate
        "value": qty * f["price"] * f["mult"],
    }, columns=FILL_COLUMNS)
    return frame


def build_financing(raw: RawRun) -> pd.DataFrame:
    """The financing ledger: one row per charge (swap, funding, borrow); ``amount`` is the cash it moved
    (negative = paid), ``rate`` annual for swap and borrow, per period for funding."""
    x = raw.state.financing()
    return pd.DataFrame({
        "timestamp": raw.index[x["bar"]],
        "symbol": _symbols(raw.symbols, x["asset"]),
        "qty": x["qty"],
        "price": x["price"],
        "rate": x["rate"],
        "days": x["days"],
        "amount": x["amount"],
        "kind": _map_names(x["kind"], C.FINANCING_NAMES),
    }, columns=FINANCING_COLUMNS)


def _financing_per_trade(raw: RawRun, asset: np.ndarray, entry: np.ndarray, exit_: np.ndarray) -> np.ndarray:
    """Financing paid by each trade: a charge at the start of bar b falls on the trade of its asset that
    was open at the end of bar b-1 (the last one entered by then, if it had not closed)."""
    paid = np.zeros(len(asset))
    x = raw.state.financing()
    if len(x) == 0 or len(asset) == 0:
        return paid
    span = len(raw.index) + 1
    order = np.lexsort((np.arange(len(asset)), entry, asset))
    keys = asset[order] * span + entry[order]
    want = x["asset"] * span + (x["bar"] - 1)
    k = np.searchsorted(keys, want, side="right") - 1
    ok = k >= 0
    tr = order[np.maximum(k, 0)]
    ok &= (asset[tr] == x["asset"]) & ((exit_[tr] < 0) | (exit_[tr] >= x["bar"]))
    np.add.at(paid, tr[ok], -x["amount"][ok])
    return paid


class _RoundTrips(NamedTuple):
    """The round trips of a raw run, one entry per trade (``kernels.build_trades``), with the financing
    each paid and its net PnL."""

    asset: np.ndarray
    direction: np.ndarray
    entry: np.ndarray
    exit: np.ndarray               # -1 while open
    qty: np.ndarray                # peak |qty|
    entry_price: np.ndarray
    exit_price: np.ndarray
    fees: np.ndarray
    financing: np.ndarray
    net_pnl: np.ndarray            # gross PnL - fees - financing
    reason: np.ndarray             # exit reason code


def _round_trips(raw: RawRun) -> _RoundTrips:
    (asset, direction, entry, exit_, peak, epx, xpx, pnl, fees, reason) = build_trades(
        raw.state.fills(), len(raw.symbols))
    financing = _financing_per_trade(raw, asset, entry, exit_)
    return _RoundTrips(asset=asset, direction=direction, entry=entry, exit=exit_, qty=peak,
                       entry_price=epx, exit_price=xpx, fees=fees, financing=financing,
                       net_pnl=pnl - fees - financing, reason=reason)


#: The names of a trade's exit reason: a trade still open at the end shows "open" (code -1).
_EXIT_REASON_NAMES = {**C.REASON_NAMES, -1: "open"}


def build_trades_frame(raw: RawRun) -> pd.DataFrame:
    trips = _round_trips(raw)
    closed = trips.exit >= 0
    exit_times = raw.index[np.maximum(trips.exit, 0)].where(closed)
    net = trips.net_pnl
    basis = trips.entry_price * trips.qty
    frame = pd.DataFrame({
        "symbol": _symbols(raw.symbols, trips.asset),
        "direction": np.where(trips.direction > 0, "long", "short"),
        "entry_time": raw.index[trips.entry],
        "exit_time": exit_times,
        "qty": trips.qty,
        "entry_price": trips.entry_price,
        "exit_price": trips.exit_price,
        "pnl": net,
        "return_pct": np.where(basis > 0, net / np.where(basis > 0, basis, 1.0) * 100.0, np.nan),
        "fees": trips.fees,
        "financing": trips.financing,
        "exit_reason": _map_names(np.where(closed, trips.reason, -1), _EXIT_REASON_NAMES, raw.tag_names),
        "bars_held": np.where(closed, trips.exit - trips.entry, len(raw.index) - 1 - trips.entry),
    }, columns=TRADE_COLUMNS)
    return frame


def build_orders(raw: RawRun) -> pd.DataFrame:
    """One row per order that did something: filled (wholly or scaled), rejected, or still open."""
    parts = []
    f = raw.state.fills()
    if len(f):
        uniq, order, first, last = _fills_by_order(raw)
        head = f[order[first]]            # each order's first fill
        tail = f[order[last]]             # and its last
        qty = f["qty"][order]
        filled = np.add.reduceat(qty, first)
        notional = np.add.reduceat(qty * f["price"][order], first)
        fill_price = np.divide(notional, filled, out=np.full(len(filled), np.nan), where=filled != 0)
        parts.append(pd.DataFrame({
            "order_id": uniq,
            "timestamp": raw.index[head["placed"]],
            "symbol": _symbols(raw.symbols, head["asset"]),
            "kind": _map_names(head["kind"], C.KIND_NAMES),
            "qty": filled,
            "price": head["order_price"],
            "status": _map_names(tail["status"], C.STATUS_NAMES),
            "reason": _map_names(head["reason"], C.REASON_NAMES, raw.tag_names),
            "filled_qty": filled,
            "fill_price": fill_price,
            "fill_time": raw.index[head["bar"]],
        }, columns=ORDER_COLUMNS))
    rej = raw.state.rejections()
    if len(rej):
        parts.append(pd.DataFrame({
            "order_id": rej["order_id"],
            "timestamp": raw.index[rej["placed"]],
            "symbol": _symbols(raw.symbols, rej["asset"]),
            "kind": _map_names(rej["kind"], C.KIND_NAMES),
            "qty": rej["qty"],
            "price": rej["price"],
            "status": "rejected",
            "reason": _map_names(rej["reason"], C.REASON_NAMES, raw.tag_names),
            "filled_qty": 0.0,
            "fill_price": np.nan,
            "fill_time": raw.index[rej["bar"]],
        }, columns=ORDER_COLUMNS))
    if raw.open_orders is not None and len(raw.open_orders):
        parts.append(raw.open_orders[ORDER_COLUMNS])
    if not parts:
        return pd.DataFrame(columns=ORDER_COLUMNS)
    orders = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return orders.sort_values(["timestamp", "order_id"], kind="stable").reset_index(drop=True)


def _fills_by_order(raw: RawRun) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fills grouped by order: ``(ids, order, first, last)`` where ``fills[order]`` sorts the fills
    by order id, ``ids`` are the orders' ids and ``first`` / ``last`` the positions in that sorted order
    of each order's first and last fill."""
    ids = raw.state.fills()["order_id"].copy()
    # forced closes (liquidation, delisting, end of data) carry id -1: give each its own id
    forced = ids < 0
    if forced.any():
        top = max(int(ids.max()), _max_id(raw)) + 1
        ids[forced] = np.arange(top, top + int(forced.sum()))
    order = np.argsort(ids, kind="stable")
    uniq, first = np.unique(ids[order], return_index=True)
    last = np.append(first[1:], len(order)) - 1
    return uniq, order, first, last


def _max_id(raw: RawRun) -> int:
    rej = raw.state.rejections()
    return int(rej["order_id"].max()) if len(rej) else 0


def _codes_named(names: dict[int, str], wanted: frozenset[str]) -> np.ndarray:
    """The codes whose name (in ``names``) is one of ``wanted``."""
    return np.array([code for code, name in names.items() if name in wanted], dtype=np.int64)


def raw_ledger_figures(raw: RawRun) -> LedgerFigures:
    """The figures ``metrics.ledger_figures`` reads from the fills, orders, events and trades frames,
    counted and summed on the raw ledgers instead: building the frames costs far more than the metrics,
    which an optimiser computes for thousands of runs. The same operations in the same order, so the
    figures are equal to the bit (a test holds the two definitions together)."""
    f = raw.state.fills()
    reasons = {**C.REASON_NAMES, **raw.tag_names}
    margin = _codes_named(reasons, MARGIN_REASONS)
    min_notional = _codes_named(reasons, MIN_NOTIONAL_REASONS)

    # orders: one per order id among the fills (each forced close its own), each rejection, each still
    # open; a fill-made order shows its last fill's status and its first fill's reason
    rejected_reasons = [raw.state.rejections()["reason"]]
    n_orders = len(raw.state.rejections())
    if len(f):
        _, order, first, last = _fills_by_order(raw)
        n_orders += len(first)
        scrapped = f["status"][order[last]] == C.REJECTED
        rejected_reasons.append(f["reason"][order[first]][scrapped])
    rejected_codes = np.concatenate(rejected_reasons)
    n_rejected = len(rejected_codes)
    n_margin = int(np.isin(rejected_codes, margin).sum())
    n_min_notional = int(np.isin(rejected_codes, min_notional).sum())
    # orders still resting at the end (open or pending) and those cancelled by id: none is rejected
    n_orders += (len(raw.resting) if raw.resting is not None else 0) + sum(len(c) for c in raw.cancelled)

    liquidations = int((raw.state.kernel_events()["kind"] == C.EV_LIQUIDATION).sum())
    logged = [e for e in raw.events if e[1] == C.EVENT_NAMES[C.EV_LIQUIDATION]]
    liquidations += sum(1 for _ in event_rows(logged))

    trips = _round_trips(raw)
    # as closed_trades reads the frame: an exit, and an exit reason other than "open"
    closed = (trips.exit >= 0) & ~np.isin(trips.reason, _codes_named(reasons, frozenset({"open"})))
    # the fills frame's columns, contiguous like the frame's, so the sums add up in the same order
    fee = np.ascontiguousarray(f["fee"])
    value = np.ascontiguousarray(f["qty"] * f["price"] * f["mult"])
    return LedgerFigures(
        n_fills=len(f),
        fees_paid=float(fee.sum()) if len(f) else 0.0,
        traded_notional=float(np.abs(value).sum()) if len(f) else 0.0,
        n_orders=n_orders, orders_rejected=n_rejected, rejected_margin=n_margin,
        rejected_min_notional=n_min_notional, liquidations=liquidations,
        closed_trade_pnl=trips.net_pnl[closed])


#: What the three figures of an engine event are, by its kind.
_EVENT_FIGURES = {C.EV_SCALED: ("factor", "free", "needed"),
                  C.EV_LIQUIDATION: ("equity", "margin_used", "equity_to_margin"),
                  C.EV_DELISTED: ("qty", "price")}


def build_events(raw: RawRun) -> pd.DataFrame:
    rows = []
    for e in raw.state.kernel_events():
        kind, asset = int(e["kind"]), int(e["asset"])
        figures = (float(e["figure1"]), float(e["figure2"]), float(e["figure3"]))
        details = dict(zip(_EVENT_FIGURES[kind], figures, strict=False))
        rows.append((int(e["bar"]), C.EVENT_NAMES[kind], raw.symbols[asset] if asset >= 0 else None, details))
    rows.extend(event_rows(raw.events))
    if not rows:
        # most runs log no event: copying the empty frame costs a twentieth of building it
        return _NO_EVENTS.copy()
    return _events_frame(raw.index, rows)


def _events_frame(index: pd.DatetimeIndex, rows: list[tuple[int, str, str | None, dict]]) -> pd.DataFrame:
    """The events frame of ``(bar, kind, symbol, details)`` rows, in time order."""
    rows = sorted(rows, key=lambda r: r[0])
    return pd.DataFrame({
        "timestamp": index[[r[0] for r in rows]] if rows else pd.DatetimeIndex([], tz="UTC"),
        "kind": [r[1] for r in rows],
        "symbol": [r[2] for r in rows],
        "details": [r[3] for r in rows],
    }, columns=EVENT_COLUMNS)


_NO_EVENTS = _events_frame(pd.DatetimeIndex([], tz="UTC"), [])


#: The snapshot fields that are counts (the records hold them as floats).
_COUNT_COLUMNS = ("n_open_positions", "n_assets_with_positions", "n_open_orders")


class LazyResult(Result):
    """A Result whose frames are built from the raw run on first use (the equity at once).

    A 500-asset daily run makes ~10^5 fills; turning them into DataFrames costs more than the
    simulation itself, and a sweep of many runs reads little more than the equity, so each frame is
    only paid for when a caller looks at it. What a frame shows never changes: the raw run is final.
    """

    def __init__(self, raw: RawRun, info: RunInfo) -> None:
        self._raw = raw
        self._index = raw.index[raw.start_bar:]
        self.equity = pd.Series(raw.state.snap["total_equity"][raw.start_bar:], index=self._index,
                                name="equity")
        self.initial_capital = float(raw.state.acct[0]["initial_cash"])
        self.symbols = list(raw.symbols)
        self.info = info
        self.freq = raw.freq

    @cached_property
    def snapshots(self) -> pd.DataFrame:  # type: ignore[override]
        raw, s0 = self._raw, self._raw.start_bar
        snap_rec = raw.state.snap
        # every snapshot field is a float64: the records read as a T x 11 matrix without a copy
        table = snap_rec.view(np.float64).reshape(len(snap_rec), len(SNAPSHOT_COLUMNS))[s0:]
        columns = {name: table[:, k].astype(np.int64) if name in _COUNT_COLUMNS else table[:, k]
                   for k, name in enumerate(SNAPSHOT_COLUMNS)}
        for name, values in raw.records.items():
            columns[name] = values[s0:].copy()
        if raw.flows is not None:
            # net cash moved in at each bar (time-weighted returns)
            columns["transfers"] = raw.flows[s0:].copy()
        # built in one go: converting columns of a finished frame costs several times more
        return pd.DataFrame(columns, index=self._index, copy=False)

    @cached_property
    def positions(self) -> pd.DataFrame:  # type: ignore[override]
        return pd.DataFrame(self._raw.state.qh[self._raw.start_bar:], index=self._index,
                            columns=self._raw.symbols, copy=False)

    @cached_property
    def close(self) -> pd.DataFrame | None:  # type: ignore[override]
        raw = self._raw
        if raw.close is None:
            return None
        return pd.DataFrame(raw.close[raw.start_bar:], index=self._index, columns=raw.symbols, copy=False)

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

    @cached_property
    def financing(self) -> pd.DataFrame:  # type: ignore[override]
        return build_financing(self._raw)

    @cached_property
    def cash_flows(self) -> pd.Series | None:  # type: ignore[override]
        flows = self._raw.flows
        return None if flows is None else pd.Series(flows[self._raw.start_bar:], index=self._index,
                                                    name="transfers")

    @cached_property
    def ledger_figures(self) -> LedgerFigures:  # type: ignore[override]
        return raw_ledger_figures(self._raw)


def assemble(raw: RawRun, info: RunInfo) -> Result:
    """Build the Result; the warm-up bars before ``raw.start_bar`` are left out of every frame."""
    return LazyResult(raw, info)


# -- several portfolios on one clock -------------------------------------------------------------------

_SUMMED = ("total_equity", "cash", "realized_pnl", "unrealized_pnl", "fees_paid", "margin_used",
           "gross_exposure", "n_open_positions", "n_open_orders", "financing_paid")


def _with_portfolio(frames: dict[str, pd.DataFrame], sort_by: str) -> pd.DataFrame:
    parts = [f.assign(portfolio_id=pid)[["portfolio_id", *f.columns]] for pid, f in frames.items()]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if sort_by in out.columns and len(out):
        out = out.sort_values(sort_by, kind="stable").reset_index(drop=True)
    return out


class CombinedResult(Result):
    """The book of several portfolios as one Result: equity, cash, margin, positions summed over the
    portfolios (transfers between them cancel), ledgers concatenated with a ``portfolio_id`` column
    (built on first use, like ``LazyResult``)."""

    def __init__(self, parts: dict[str, Result], info: RunInfo) -> None:
        self._parts = parts
        first = next(iter(parts.values()))
        total = np.sum([r.equity.to_numpy(dtype=float) for r in parts.values()], axis=0)
        self.equity = pd.Series(total, index=first.equity.index, name="equity")
        self.initial_capital = float(sum(r.initial_capital for r in parts.values()))
        self.symbols = list(dict.fromkeys(s for r in parts.values() for s in r.symbols))
        self.info = info
        self.freq = first.freq

    @cached_property
    def positions(self) -> pd.DataFrame:  # type: ignore[override]
        """Quantities per symbol summed over the portfolios (a symbol several trade adds up)."""
        index = self.equity.index
        cols = {s: k for k, s in enumerate(self.symbols)}
        qty = np.zeros((len(index), len(cols)))
        for r in self._parts.values():
            qty[:, [cols[s] for s in r.symbols]] += r.positions[r.symbols].to_numpy()
        return pd.DataFrame(qty, index=index, columns=self.symbols)

    @cached_property
    def close(self) -> pd.DataFrame:  # type: ignore[override]
        index = self.equity.index
        cols = {s: k for k, s in enumerate(self.symbols)}
        px = np.full((len(index), len(cols)), np.nan)
        for r in self._parts.values():
            if r.close is not None:
                px[:, [cols[s] for s in r.symbols]] = r.close[r.symbols].to_numpy()
        return pd.DataFrame(px, index=index, columns=self.symbols)

    @cached_property
    def snapshots(self) -> pd.DataFrame:  # type: ignore[override]
        """Equity, cash, margin, exposure, counts summed over the portfolios; margin ratio on the book's
        capital; assets with positions counted once however many portfolios hold them."""
        index = self.equity.index
        snap = np.zeros((len(index), len(SNAPSHOT_COLUMNS)))
        at = {c: k for k, c in enumerate(SNAPSHOT_COLUMNS)}
        for r in self._parts.values():
            for col in _SUMMED:
                snap[:, at[col]] += r.snapshots[col].to_numpy(dtype=float)
        snap[:, at["margin_ratio"]] = snap[:, at["margin_used"]] / self.initial_capital
        snap[:, at["n_assets_with_positions"]] = (self.positions.to_numpy() != 0.0).sum(axis=1)
        frame = pd.DataFrame(snap, index=index, columns=list(SNAPSHOT_COLUMNS))
        for col in _COUNT_COLUMNS:
            frame[col] = frame[col].astype(np.int64)
        return frame

    @cached_property
    def fills(self) -> pd.DataFrame:  # type: ignore[override]
        return _with_portfolio({k: r.fills for k, r in self._parts.items()}, "timestamp")

    @cached_property
    def trades(self) -> pd.DataFrame:  # type: ignore[override]
        return _with_portfolio({k: r.trades for k, r in self._parts.items()}, "entry_time")

    @cached_property
    def orders(self) -> pd.DataFrame:  # type: ignore[override]
        return _with_portfolio({k: r.orders for k, r in self._parts.items()}, "timestamp")

    @cached_property
    def events(self) -> pd.DataFrame:  # type: ignore[override]
        return _with_portfolio({k: r.events for k, r in self._parts.items()}, "timestamp")

    @cached_property
    def financing(self) -> pd.DataFrame:  # type: ignore[override]
        return _with_portfolio({k: r.financing for k, r in self._parts.items()}, "timestamp")


def assemble_portfolios(raws: dict[str, RawRun], infos: dict[str, RunInfo], combined_info: RunInfo,
                        allocator: dict | None = None) -> MultiResult:
    """Each portfolio's Result, and the combined book."""
    parts = {pid: assemble(raw, infos[pid]) for pid, raw in raws.items()}
    return MultiResult(portfolios=parts, combined=CombinedResult(parts, combined_info), allocator=allocator)
