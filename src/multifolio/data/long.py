"""Build MarketData from a long table: one row per (timestamp, symbol) candle.

The path is vectorised end to end (factorise symbols, sort once, check with whole-array expressions,
scatter into T x N arrays), so ten million rows load in seconds and never go through a pandas pivot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from multifolio.data.errors import MarketDataError
from multifolio.data.timeframes import parse_timeframe
from multifolio.data.timestamps import timestamps_to_ns
from multifolio.data.validation import check_candles, check_timeframes

if TYPE_CHECKING:
    from multifolio.data.market_data import MarketData

OnDuplicate = Literal["error", "last"]

_ALIASES = {
    "timestamp": ("timestamp", "ts", "time", "date", "datetime", "open_time"),
    "symbol": ("symbol", "ticker", "asset", "pair"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c", "price"),
    "volume": ("volume", "v", "vol"),
}
# Columns that describe where a candle comes from rather than a per-bar value, and adjusted closes
# (Yahoo's "Adj Close"): prices are the traded OHLC; adjust them before loading if that is wanted.
_IGNORED = {"exchange", "timeframe", "adj close", "adj_close", "adjclose", "adjusted_close",
            "adjusted close"}
# Names pandas and Arrow give an index column written without a name (``df.to_csv()``'s empty first
# header cell, ``reset_index()``, ``to_parquet()``).
_UNNAMED = {"", "index", "__index_level_0__"}


def is_unnamed(name: str) -> bool:
    """Whether a column name is what pandas/Arrow call an index column written without a name."""
    low = str(name).strip().lower()
    return low in _UNNAMED or low.startswith("unnamed: 0")


def find_time_column(names: list[str]) -> str | None:
    """The timestamp column: a known alias (any case), else an unnamed first column; None if neither."""
    lower = {str(k).strip().lower(): k for k in names}
    for alias in _ALIASES["timestamp"]:
        if alias in lower:
            return lower[alias]
    if "__index_level_0__" in lower:  # a pandas index written to Parquet, wherever it sits
        return lower["__index_level_0__"]
    if names and is_unnamed(names[0]):
        return names[0]
    return None


def canonical_names(names: list[str]) -> dict[str, str]:
    """Renames that give OHLCV/symbol columns their role name (``Close`` -> ``close``), so files that
    spell them differently line up when a folder is concatenated; the first alias of a role wins."""
    lower = {str(k).strip().lower(): k for k in reversed(names)}
    out: dict[str, str] = {}
    for role, aliases in _ALIASES.items():
        if role == "timestamp" or role in names:
            continue
        for alias in aliases:
            if alias in lower:
                out[lower[alias]] = role
                break
    return out


def _columns(table: Any) -> dict[str, Any]:
    """Name -> column (NumPy array, pandas Series or Arrow array) for a DataFrame, Arrow table or dict."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a core dependency
        pa = None
    if isinstance(table, pd.DataFrame):
        return {str(c): table[c] for c in table.columns}
    if pa is not None and isinstance(table, pa.Table):
        return {name: table.column(name) for name in table.column_names}
    if isinstance(table, Mapping):
        return {str(k): v for k, v in table.items()}
    raise MarketDataError(f"a long table must be a DataFrame, an Arrow table or a dict of columns, "
                          f"got {type(table).__name__}")


def _pick(cols: dict[str, Any], role: str) -> str | None:
    if role == "timestamp":
        return find_time_column(list(cols))
    lower = {k.strip().lower(): k for k in cols}
    for alias in _ALIASES[role]:
        if alias in lower:
            return lower[alias]
    return None


def _floats(col: Any, name: str, source: str | None) -> np.ndarray:
    try:
        if hasattr(col, "to_numpy") and not isinstance(col, pd.Series | np.ndarray):
            col = col.to_numpy(zero_copy_only=False)  # Arrow
        if isinstance(col, pd.Series):
            return col.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.asarray(col, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MarketDataError(f"column {name!r} holds non-numeric values ({exc})", source=source) from exc


def _strings(col: Any) -> np.ndarray:
    if hasattr(col, "to_numpy") and not isinstance(col, pd.Series | np.ndarray):
        col = col.to_numpy(zero_copy_only=False)
    return np.asarray(col, dtype=object)


def from_long(table: Any, on_duplicate: OnDuplicate = "error", timeframe: str | None = None,
              source: str | None = None, sources: Mapping[str, str] | None = None,
              symbol: str | None = None, *, date_format: str | None = None,
              epoch_unit: str | None = None) -> MarketData:
    """MarketData from a long table ``timestamp, symbol, open, high, low, close, volume``.

    - Column names are case-insensitive; common aliases are accepted (``ts``/``date``/``time``,
      ``ticker``/``asset``); an unnamed first column (pandas' ``to_csv()`` index) is the timestamp.
      ``Adj Close`` is ignored (prices are the traded ones). Only ``timestamp``, ``symbol`` and
      ``close`` are required: missing
      open/high/low default to close, missing volume to NaN. ``symbol`` supplies the symbol when the
      table has no symbol column (one file per symbol).
    - Extra numeric columns become extra fields (``md.field(name)``); ``exchange`` and ``timeframe``
      columns are ignored.
    - Timestamps are read as in :mod:`multifolio.data.timestamps`: one format per column (day-first
      or month-first decided on the whole column, or ``date_format``), integer epochs by a unit
      inferred from their magnitude or given as ``epoch_unit``. Timezone-naive timestamps are taken
      as UTC. Rows may come in any order; they are sorted.
    - A repeated (symbol, timestamp) is an error unless ``on_duplicate="last"`` (the last row in
      input order wins). Prices are validated (see :mod:`multifolio.data.validation`), and all symbols
      must share one timeframe (``timeframe`` pins it, e.g. ``"1h"``).
    - Symbols keep their order of first appearance.

    >>> t = pd.DataFrame({"timestamp": ["2024-01-01 01:00", "2024-01-01 00:00", "2024-01-01 00:00"],
    ...                   "symbol": ["A", "A", "B"], "close": [2.0, 1.0, 5.0], "score": [0.1, 0.2, 0.3]})
    >>> md = from_long(t)
    >>> md.symbols, md.close[:, 0].tolist(), md.field("score")[:, 1].tolist()
    (['A', 'B'], [1.0, 2.0], [0.3, nan])
    """
    return prepare_long(table, on_duplicate, timeframe, source, sources, symbol, date_format=date_format,
                        epoch_unit=epoch_unit).to_market_data()


def prepare_long(table: Any, on_duplicate: OnDuplicate = "error", timeframe: str | None = None,
                 source: str | None = None, sources: Mapping[str, str] | None = None,
                 symbol: str | None = None, *, date_format: str | None = None,
                 epoch_unit: str | None = None) -> LongCandles:
    """Parse, sort, de-duplicate and validate a long table (see :func:`from_long`) without pivoting."""
    if on_duplicate not in ("error", "last"):
        raise MarketDataError(f"on_duplicate must be 'error' or 'last', got {on_duplicate!r}")
    tf = parse_timeframe(timeframe) if timeframe is not None else None  # fail fast on a bad spelling
    cols = _columns(table)
    names = {role: _pick(cols, role) for role in _ALIASES}
    missing = [r for r in ("timestamp", "close") if names[r] is None]
    if names["symbol"] is None and symbol is None:
        missing.insert(1, "symbol")
    if missing:
        raise MarketDataError(f"long table lacks column(s) {missing}; it has {list(cols)}", source=source)
    ts = timestamps_to_ns(cols[names["timestamp"]], source, date_format=date_format, epoch_unit=epoch_unit,
                          column=names["timestamp"])
    n = len(ts)
    if names["symbol"] is not None:
        raw = cols[names["symbol"]]
        # pandas factorises its own (Arrow-backed) string columns without building Python objects.
        codes, uniques = pd.factorize(raw if isinstance(raw, pd.Series) else _strings(raw), sort=False)
        codes = np.asarray(codes, dtype=np.int64)
        if (codes < 0).any():
            raise MarketDataError("missing symbol", timestamp=pd.Timestamp(int(ts[codes < 0][0]), tz="UTC"),
                                  source=source)
        symbols = [str(s) for s in uniques]
    else:
        codes, symbols = np.zeros(n, dtype=np.int64), [str(symbol)]
    values = {r: _floats(cols[names[r]], r, source) for r in ("open", "high", "low", "close", "volume")
              if names[r] is not None}
    used = {v for v in names.values() if v is not None}
    extra = {k: _floats(v, k, source) for k, v in cols.items()
             if k not in used and k.strip().lower() not in _IGNORED}
    close = values["close"]
    open_, high, low = (values.get(r, close) for r in ("open", "high", "low"))
    volume = values.get("volume", np.full(n, np.nan))

    # Sort by (symbol, time); the stable sort keeps input order among duplicates so "last" is defined.
    # Files usually arrive sorted (per symbol, by time): check in O(n) and skip the sort and gathers.
    in_order = bool(np.all((codes[1:] > codes[:-1]) | ((codes[1:] == codes[:-1]) & (ts[1:] >= ts[:-1]))))
    order = np.arange(n) if in_order else _symbol_time_order(codes, ts, len(symbols))
    codes_s, ts_s = (codes, ts) if in_order else (codes[order], ts[order])
    dup = (codes_s[1:] == codes_s[:-1]) & (ts_s[1:] == ts_s[:-1])
    if dup.any():
        if on_duplicate == "error":
            i = int(dup.argmax())
            sym = symbols[int(codes_s[i])]
            raise MarketDataError("duplicate timestamp", symbol=sym,
                                  timestamp=pd.Timestamp(int(ts_s[i]), tz="UTC"),
                                  source=sources.get(sym, source) if sources else source)
        keep = np.r_[~dup, True]  # the last row of each run of equal keys
        order, codes_s, ts_s = order[keep], codes_s[keep], ts_s[keep]
        in_order = False

    def locate(pos: int) -> tuple[str, pd.Timestamp]:
        return symbols[int(codes_s[pos])], pd.Timestamp(int(ts_s[pos]), tz="UTC")

    def take(a: np.ndarray) -> np.ndarray:
        return a if in_order else a[order]

    o, h, lo, c, v = (take(a) for a in (open_, high, low, close, volume))
    check_candles(o, h, lo, c, v, locate, source, sources)
    inferred = check_timeframes(codes_s, ts_s, symbols, tf, source, sources)
    return LongCandles(symbols, codes_s, ts_s, o, h, lo, c, v, {k: take(a) for k, a in extra.items()},
                       inferred)


def _symbol_time_order(codes: np.ndarray, ts: np.ndarray, n_symbols: int) -> np.ndarray:
    """Stable order by (symbol code, time): a stable sort by time, then a stable sort by code, which
    NumPy does as a linear radix sort for 16-bit keys (about twice as fast as np.lexsort)."""
    by_time = np.argsort(ts, kind="stable")
    small = np.int16 if n_symbols < 2**15 else np.int64
    return by_time[np.argsort(codes[by_time].astype(small), kind="stable")]


def union_clock(ts: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique timestamps, row of each input) — without a sort when bars sit on a ``step`` grid.

    Candles of one timeframe normally do, so their rows are (ts - first) // step, compressed to the
    timestamps present; off-grid data (e.g. daily closes shifted by daylight saving) or ``step=0``
    falls back to np.unique.
    """
    if len(ts) == 0:
        return ts, ts.astype(np.int64)
    first = ts.min()
    offset = ts - first
    if step <= 0 or (offset % step).any() or offset.max() // step > 4 * len(ts) + 1_000_000:
        clock, rows = np.unique(ts, return_inverse=True)
        return clock, rows.astype(np.int64)
    slot = offset // step
    used = np.zeros(int(slot.max()) + 1, dtype=bool)
    used[slot] = True
    rank = np.cumsum(used) - 1
    return first + np.flatnonzero(used) * step, rank[slot]


@dataclass
class LongCandles:
    """Validated candles as parallel 1-D arrays, sorted by (symbol code, time), no duplicates."""

    symbols: list[str]
    codes: np.ndarray   # int, index into symbols
    ts: np.ndarray      # int64 ns UTC
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    fields: dict[str, np.ndarray]
    timeframe: pd.Timedelta | None  # inferred (or the declared one); None if no symbol has two bars

    def __len__(self) -> int:
        return len(self.ts)

    def to_market_data(self) -> MarketData:
        """Scatter into T x N arrays on the union clock (no pandas pivot)."""
        from multifolio.data.market_data import MarketData

        n = len(self.symbols)
        step = int(self.timeframe.value) if self.timeframe is not None else 0
        clock, rows = union_clock(self.ts, step)
        flat = rows * n + self.codes

        def scatter(a: np.ndarray) -> np.ndarray:
            out = np.full(len(clock) * n, np.nan)
            out[flat] = a
            return out.reshape(len(clock), n)

        index = pd.DatetimeIndex(clock.view("datetime64[ns]")).tz_localize("UTC")
        return MarketData(index, self.symbols, scatter(self.open), scatter(self.high), scatter(self.low),
                          scatter(self.close), scatter(self.volume),
                          {k: scatter(a) for k, a in self.fields.items()})

    @classmethod
    def from_market_data(cls, md: MarketData) -> LongCandles:
        """The present bars (finite close) of ``md``, sorted by symbol then time."""
        present = ~np.isnan(md.close)
        cols, rows = np.nonzero(present.T)  # column-major walk = sorted by symbol, then time
        ts = md.index.asi8[rows]
        return cls(list(md.symbols), cols.astype(np.int64), ts,
                   *(md.field(f)[rows, cols] for f in ("open", "high", "low", "close", "volume")),
                   fields={k: v[rows, cols] for k, v in md.fields.items()}, timeframe=md.freq)
