"""Decisions from a file: BUY / SELL / HOLD per (timestamp, symbol), with confidence, size and brackets.

The file is a long table (CSV or Parquet), one decision a row::

    timestamp,symbol,action,confidence,weight,stop_loss,take_profit
    2024-03-01 10:00,BTC/USDT,BUY,80,,60000,75000
    2024-03-02 14:30,BTC/USDT,SELL,,,,

Columns: ``timestamp`` and ``symbol`` (required), ``action`` (BUY, SELL or HOLD, any case; or instead
a ``score`` column: > 0 is BUY, < 0 SELL, 0 HOLD), optional ``confidence`` (0-100), ``size`` (a
quantity) or ``weight`` (a fraction of equity), ``stop_loss`` / ``take_profit`` (absolute prices).
Timestamps follow :mod:`multifolio.data.timestamps` (one format per column, naive = UTC).

Timing (causal): a decision stamped s is taken at the close of the last bar stamped at or before s,
so that its order fills at the open of the first bar stamped after s — a decision stamped exactly at a
bar t fills at t+1's open, one stamped between two bars at the next bar's open, and one at the last
bar never fills. Decisions stamped before the first bar act at the first bar.

What a decision does: BUY opens a long position (covering a short first) of ``size`` units, or
``weight`` x equity, or else the base size ``base_size`` % of equity x max(0.5, confidence / 100)
(confidence 100 when absent), with its stop-loss / take-profit attached; a BUY while already long
keeps the position. SELL closes a long position; with ``shorts=True`` it opens a short sized the
same way (a SELL while already short keeps it). HOLD does nothing.

Errors name the file and the line (CSV: the line in the file, header = 1; Parquet: ``row`` n, from
1): unknown symbols, unparsable actions, confidences outside 0-100, negative sizes, and duplicate
(timestamp, symbol) rows.

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "d.csv"
>>> _ = path.write_text("timestamp,symbol,action\\n2024-01-02,A,BUY\\n2024-01-02,A,hold\\n")
>>> Signals(path=str(path))
Traceback (most recent call last):
...
ValueError: ...d.csv:3: duplicate decision for ('2024-01-02 00:00:00+00:00', 'A') (first on line 2)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from multifolio.data.errors import MarketDataError
from multifolio.data.timestamps import timestamps_to_ns
from multifolio.engine.strategy import Strategy

BUY, SELL, HOLD = 1, -1, 0
_ACTIONS = {"BUY": BUY, "SELL": SELL, "HOLD": HOLD}


def _read_table(path: Path) -> tuple[pd.DataFrame, str]:
    """The file as a DataFrame of strings/objects and how its rows are named (``line`` or ``row``)."""
    if not path.exists():
        raise ValueError(f"{path}: decisions file not found")
    if path.suffix.lower() in (".parquet", ".pq") or path.is_dir():
        from multifolio.data.files import read_parquet_table

        try:
            return read_parquet_table(path).to_pandas(), "row"
        except MarketDataError as exc:
            raise ValueError(str(exc)) from None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True), "line"
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the decisions file: {exc}") from None


class Decisions:
    """A decisions file read and checked: arrays sorted by time (``ns``, ``symbol``, ``action``,
    ``confidence``, ``size``, ``weight``, ``stop_loss``, ``take_profit``) and each row's ``where``
    (``file:line`` for errors found later, e.g. an unknown symbol)."""

    def __init__(self, path: str | Path, *, date_format: str | None = None) -> None:
        self.path = Path(path).expanduser()
        frame, unit = _read_table(self.path)
        cols = {str(c).strip().lower(): c for c in frame.columns}
        offset = 2 if unit == "line" else 1
        self._unit = unit
        self.where = [self._at(k + offset) for k in range(len(frame))]
        for need in ("timestamp", "symbol"):
            if need not in cols:
                raise ValueError(f"{self.path}: no '{need}' column (columns: {list(frame.columns)})")
        if "action" not in cols and "score" not in cols:
            raise ValueError(f"{self.path}: needs an 'action' (BUY/SELL/HOLD) or a 'score' column")
        if len(frame) == 0:
            raise ValueError(f"{self.path}: no decisions")
        try:
            ns = timestamps_to_ns(frame[cols["timestamp"]].to_numpy(), str(self.path),
                                  date_format=date_format, column="timestamp")
        except MarketDataError as exc:
            raise ValueError(str(exc)) from None
        symbol = np.array([str(s).strip() for s in frame[cols["symbol"]]], dtype=object)
        for k, s in enumerate(symbol):
            if not s:
                raise ValueError(f"{self.where[k]}: empty symbol")
        if "action" in cols:
            action = np.empty(len(frame), dtype=np.int64)
            for k, a in enumerate(frame[cols["action"]]):
                code = _ACTIONS.get(str(a).strip().upper())
                if code is None:
                    raise ValueError(f"{self.where[k]}: unparsable action {a!r} (BUY, SELL or HOLD)")
                action[k] = code
        else:
            action = np.sign(self._numbers(frame[cols["score"]], "score", required=True)).astype(np.int64)
        conf = self._numbers(frame[cols["confidence"]], "confidence") if "confidence" in cols else None
        if conf is not None:
            bad = np.flatnonzero(~np.isnan(conf) & ((conf < 0) | (conf > 100)))
            if len(bad):
                raise ValueError(f"{self.where[bad[0]]}: confidence {float(conf[bad[0]]):g} is not in 0-100")
        extra = {}
        for name in ("size", "weight", "stop_loss", "take_profit"):
            arr = self._numbers(frame[cols[name]], name) if name in cols else np.full(len(frame), np.nan)
            bad = np.flatnonzero(~np.isnan(arr) & ~(arr > 0))
            if len(bad):
                raise ValueError(f"{self.where[bad[0]]}: {name} must be > 0, got {float(arr[bad[0]]):g}")
            extra[name] = arr
        seen: dict[tuple[int, str], int] = {}
        for k, key in enumerate(zip(ns.tolist(), symbol.tolist(), strict=True)):
            if key in seen:
                first = self.where[seen[key]].rsplit(":", 1)[1]
                stamp = str(pd.Timestamp(key[0], tz="UTC"))
                raise ValueError(f"{self.where[k]}: duplicate decision for ({stamp!r}, {key[1]!r}) "
                                 f"(first on {unit} {first.split()[-1]})")
            seen[key] = k
        order = np.argsort(ns, kind="stable")
        self.ns = ns[order]
        self.symbol = symbol[order]
        self.action = action[order]
        self.confidence = (conf if conf is not None else np.full(len(frame), np.nan))[order]
        self.size, self.weight = extra["size"][order], extra["weight"][order]
        self.stop_loss, self.take_profit = extra["stop_loss"][order], extra["take_profit"][order]
        self.where = [self.where[k] for k in order]

    def _at(self, n: int) -> str:
        return f"{self.path}:{n}" if self._unit == "line" else f"{self.path}: row {n}"

    def _numbers(self, col: pd.Series, name: str, required: bool = False) -> np.ndarray:
        out = np.full(len(col), np.nan)
        for k, v in enumerate(col.tolist()):
            if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
                if required:
                    raise ValueError(f"{self.where[k]}: missing {name}")
                continue
            try:
                out[k] = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"{self.where[k]}: {name} {v!r} is not a number") from None
            if not np.isfinite(out[k]):
                raise ValueError(f"{self.where[k]}: {name} {v!r} is not finite")
        return out

    def __len__(self) -> int:
        return len(self.ns)


class Signals(Strategy):
    """Trade the decisions of a file (see the module docstring for the format, timing and sizing).

    >>> Signals.PARAMS["base_size"][1]
    10.0
    """

    name: ClassVar[str] = "signals"
    FILE_PARAMS: ClassVar[tuple[str, ...]] = ("path",)
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {
        "path": (str, None, "decisions file (CSV or Parquet): timestamp, symbol, action, ..."),
        "base_size": (float, 10.0, "% of equity per new position (x max(0.5, confidence/100))"),
        "shorts": (bool, False, "SELL on a flat asset opens a short"),
        "date_format": (str, None, "strftime format of the timestamps (default: inferred)"),
    }
    schedule = "every_bar"

    def __init__(self, path: str | None = None, base_size: float = 10.0, shorts: bool = False,
                 date_format: str | None = None) -> None:
        if not path:
            raise ValueError("path: the decisions file is required")
        if isinstance(base_size, bool) or not isinstance(base_size, (int, float)) \
                or not np.isfinite(base_size) or not 0 < base_size <= 1000:
            raise ValueError(f"base_size must be a % of equity in (0, 1000], got {base_size!r}")
        if not isinstance(shorts, bool):
            raise ValueError(f"shorts must be true or false, got {shorts!r}")
        self.path = str(path)
        self.base_size = float(base_size)
        self.shorts = shorts
        self.date_format = date_format
        self.decisions = Decisions(path, date_format=date_format)

    def init(self, ctx: Any) -> None:
        d = self.decisions
        known = {s: j for j, s in enumerate(ctx.symbols)}
        for k, s in enumerate(d.symbol):
            if s not in known:
                raise ValueError(f"{d.where[k]}: unknown symbol {s!r} (not in the data: "
                                 f"{', '.join(ctx.symbols[:8])}{', ...' if len(ctx.symbols) > 8 else ''})")
        self._asset = np.array([known[s] for s in d.symbol], dtype=np.int64)
        # the bar whose close takes each decision: the last bar stamped at or before it
        index_ns = ctx.data.index.as_unit("ns").asi8
        bar = np.searchsorted(index_ns, d.ns, side="right") - 1
        self._bar = np.maximum(bar, 0)
        self._k = 0

    def _qty(self, ctx: Any, k: int, price: float) -> float:
        d = self.decisions
        if not np.isnan(d.size[k]):
            return float(d.size[k])
        if not np.isnan(d.weight[k]):
            return float(d.weight[k]) * ctx.equity / price
        conf = 100.0 if np.isnan(d.confidence[k]) else float(d.confidence[k])
        return self.base_size / 100.0 * max(0.5, conf / 100.0) * ctx.equity / price

    def on_bar(self, ctx: Any) -> None:
        t = ctx.bar
        bars = self._bar
        k = self._k
        n = len(bars)
        while k < n and bars[k] < t:      # decisions of bars before the run's start (warm-up)
            k += 1
        if k >= n or bars[k] > t:
            self._k = k
            return
        held = ctx.positions
        price = ctx.price
        d = self.decisions
        while k < n and bars[k] == t:
            self._decide(ctx, k, held, price, d)
            k += 1
        self._k = k

    def _decide(self, ctx: Any, k: int, held: np.ndarray, price: np.ndarray, d: Decisions) -> None:
        j = int(self._asset[k])
        act = int(d.action[k])
        p = float(price[j])
        if act == HOLD or not p > 0:
            return
        h = float(held[j])
        sym = d.symbol[k]
        sl = None if np.isnan(d.stop_loss[k]) else float(d.stop_loss[k])
        tp = None if np.isnan(d.take_profit[k]) else float(d.take_profit[k])
        if act == BUY:
            if h > 0:
                return
            ctx.order(sym, self._qty(ctx, k, p) - h, stop_loss=sl, take_profit=tp)
        else:
            if h > 0:
                ctx.close_position(sym)
            elif h == 0 and self.shorts:
                ctx.order(sym, -self._qty(ctx, k, p), stop_loss=sl, take_profit=tp)
