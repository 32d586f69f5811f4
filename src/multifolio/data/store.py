"""CandleStore: OHLCV candles of many exchanges, symbols and timeframes in one DuckDB file.

Schema::

    candles(exchange VARCHAR, symbol VARCHAR, timeframe VARCHAR, ts TIMESTAMPTZ,
            open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE,
            PRIMARY KEY (exchange, symbol, timeframe, ts))

Writes are upserts (``INSERT OR REPLACE``): writing the same candles twice leaves one copy, and a newer
value of a candle replaces the older. Every write or import runs in one transaction, so an import that
fails half-way (bad file, interrupted fetch) leaves the store exactly as it was. Reads go through Arrow
and NumPy (no pandas pivot) to build :class:`MarketData` quickly. Timeframes are stored in the canonical
short spelling ("1m", "1h", "4h", "1d").

Extra fields of a MarketData (signals, scores) are not stored: the store holds candles only. Bars
without a close are not stored either (see :meth:`CandleStore.write`).

One symbol's candles of one timeframe stay on one grid across imports: hourly bars at :30 are refused
where :00 bars of that symbol are stored (they would merge into a 30-minute series), and daily bars
stamped at another time of day (23:00 vs 00:00 UTC) likewise. Reading refuses symbols whose bars sit on
different grids (alternating rows where nothing could trade).

>>> from multifolio.data.synthetic import synthetic
>>> with CandleStore(":memory:") as store:
...     n = store.write(synthetic(2, 48, seed=3), exchange="demo")
...     md = store.read(["S000", "S001"], "1h")
...     (n, md.n_bars, store.symbols(), store.read(["S001"], "4h", source_timeframe="1h").n_bars)
(96, 48, ['S000', 'S001'], 12)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from multifolio.data.errors import MarketDataError
from multifolio.data.files import Layout, iter_csv_frames, iter_parquet_tables
from multifolio.data.long import LongCandles, OnDuplicate, prepare_long, union_clock
from multifolio.data.market_data import MarketData, is_date_only
from multifolio.data.timeframes import BUCKET_ORIGIN, canonical_timeframe, format_timeframe, parse_timeframe
from multifolio.data.validation import check_common_grid, check_timeframes

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS candles (
    exchange VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    timeframe VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE,
    PRIMARY KEY (exchange, symbol, timeframe, ts)
)
"""
_INSERT = ("INSERT OR REPLACE INTO candles SELECT ?, symbol, ?, ts, open, high, low, close, volume "
           "FROM _mf_batch")
# Bound the Arrow batch handed to DuckDB per INSERT so that huge imports do not double peak memory.
_CHUNK_ROWS = 2_000_000
_YEAR_NS = 31_556_952 * 10**9  # 365.2425 days
_DAY_NS = 86_400 * 10**9

DEFAULT_EXCHANGE = "local"
STORE_ENV = "MULTIFOLIO_STORE"


def default_store_path() -> Path:
    """Where the CLI keeps its candle store: ``$MULTIFOLIO_STORE`` or ``~/.multifolio/candles.duckdb``."""
    env = os.environ.get(STORE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".multifolio" / "candles.duckdb"


def _utc(value: object) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _storage_order(candles: LongCandles) -> np.ndarray:
    """Row order for storage: by calendar year, then symbol, then time.

    DuckDB skips whole row groups (~123k rows) by their min/max. Clustering each write by year first
    puts "these symbols over this period" (the read a portfolio backtest does) in few row groups,
    while one symbol's history still sits in one run per year. ``candles`` are sorted by (symbol,
    time), so a stable sort on the year (a 16-bit radix sort) gives (year, symbol, time).
    """
    year = candles.ts // _YEAR_NS
    if len(year) == 0 or year.min() == year.max():
        return np.arange(len(year))
    return np.argsort((year - year.min()).astype(np.int16), kind="stable")


def _with_close(candles: LongCandles) -> tuple[LongCandles, int]:
    """The candles that have a close (finite), and how many were dropped for lacking one."""
    keep = np.isfinite(candles.close)
    dropped = int(len(keep) - keep.sum())
    if not dropped:
        return candles, 0
    return LongCandles(candles.symbols, candles.codes[keep], candles.ts[keep],
                       *(getattr(candles, f)[keep] for f in ("open", "high", "low", "close", "volume")),
                       fields={k: v[keep] for k, v in candles.fields.items()},
                       timeframe=candles.timeframe), dropped


def _arrow_chunks(candles: LongCandles) -> Iterable[Any]:
    """Arrow tables (symbol, ts, open..volume) of at most _CHUNK_ROWS rows in storage order; NaN -> NULL."""
    import pyarrow as pa

    names = pa.array(candles.symbols, pa.string())
    order = _storage_order(candles)
    for lo in range(0, len(candles), _CHUNK_ROWS):
        idx = order[lo:lo + _CHUNK_ROWS]
        cols = {
            # Dictionary-encoded so that ten million rows do not build ten million Python strings.
            "symbol": pa.DictionaryArray.from_arrays(pa.array(candles.codes[idx].astype(np.int32)), names),
            "ts": pa.array(candles.ts[idx], pa.timestamp("ns", tz="UTC")),
        }
        for f in ("open", "high", "low", "close", "volume"):
            cols[f] = pa.array(getattr(candles, f)[idx], pa.float64(), from_pandas=True)
        yield pa.table(cols)


def _arrow(result: Any) -> Any:
    """The Arrow table of a DuckDB relation (the method was renamed across DuckDB versions)."""
    for name in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        method = getattr(result, name, None)
        if method is not None:
            return method()
    raise MarketDataError("this DuckDB version cannot return Arrow tables")


class CandleStore:
    """A DuckDB file of candles; see the module docstring.

    Use as a context manager (or call :meth:`close`). ``path=":memory:"`` gives a throw-away store.
    DuckDB lets one process write a file at a time; ``read_only=True`` opens it for reading alongside.
    """

    def __init__(self, path: str | Path = ":memory:", read_only: bool = False) -> None:
        import duckdb

        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise MarketDataError(f"cannot open candle store: {exc}", source=self.path) from exc
        self._con.execute("SET TimeZone = 'UTC'")
        self.dropped = 0  # bars without a close skipped by the last write or import
        if not read_only:
            self._con.execute(_SCHEMA)

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the database file (idempotent)."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> CandleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CandleStore({self.path!r})"

    @property
    def con(self) -> Any:
        """The DuckDB connection (for ad-hoc SQL on the ``candles`` table)."""
        if self._con is None:
            raise MarketDataError("the candle store is closed", source=self.path)
        return self._con

    # -- writing -----------------------------------------------------------------------------------
    def _candles(self, data: MarketData | Any, timeframe: str | None, on_duplicate: OnDuplicate,
                 source: str | None = None) -> tuple[LongCandles, str]:
        if isinstance(data, MarketData):
            data.validate(source)
            candles = LongCandles.from_market_data(data)  # the bars with a close
            # Bars with some price or volume but no close are dropped: count them for the report.
            with np.errstate(invalid="ignore"):
                partial = np.isnan(data.close) & ~(np.isnan(data.open) & np.isnan(data.high)
                                                   & np.isnan(data.low) & np.isnan(data.volume))
            dropped = int(partial.sum())
            if timeframe is not None and candles.timeframe is not None:
                # Pin the declared timeframe: bars finer than it would corrupt the key space.
                check_timeframes(candles.codes, candles.ts, candles.symbols, parse_timeframe(timeframe),
                                 source)
        else:
            candles, dropped = _with_close(prepare_long(data, on_duplicate=on_duplicate,
                                                        timeframe=timeframe, source=source))
        if dropped:
            self.dropped += dropped
            log.warning("%s: %d bar(s) without a close not stored", source or "write", dropped)
        if timeframe is None:
            if candles.timeframe is None:
                raise MarketDataError("cannot infer the timeframe from single bars; pass timeframe=",
                                      source=source)
            return candles, format_timeframe(candles.timeframe)
        return candles, canonical_timeframe(timeframe)

    def _insert(self, candles: LongCandles, exchange: str, timeframe: str) -> int:
        # One thread keeps the rows in the order given (see _storage_order). A parallel insert
        # interleaves them across row groups, which defeats the min/max pruning that makes a read
        # of a few symbols fast (measured: 0.7 s -> 0.1 s for 21 symbols x 1 year out of 10M rows).
        con = self.con
        threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        con.execute("SET threads = 1")
        try:
            for chunk in _arrow_chunks(candles):
                con.register("_mf_batch", chunk)
                try:
                    con.execute(_INSERT, [exchange, timeframe])
                finally:
                    con.unregister("_mf_batch")
        finally:
            con.execute(f"SET threads = {int(threads)}")
        return len(candles)

    def write_many(self, batches: Iterable[MarketData | Any], exchange: str = DEFAULT_EXCHANGE,
                   timeframe: str | None = None, on_duplicate: OnDuplicate = "error",
                   source: str | None = None) -> int:
        """Upsert several batches (MarketData or long tables) in ONE transaction; returns rows written.

        If any batch is bad or the iterable raises, everything is rolled back and the error re-raised:
        the store is left as it was. Batches are consumed one at a time (memory stays bounded).
        """
        return self._write_sourced(((b, source) for b in batches), exchange, timeframe, on_duplicate)

    def write(self, data: MarketData | Any, exchange: str = DEFAULT_EXCHANGE, timeframe: str | None = None,
              on_duplicate: OnDuplicate = "error") -> int:
        """Upsert candles from a MarketData or a long table (one transaction); returns rows written.

        ``timeframe`` (e.g. "1h") is inferred from the bar spacing when omitted. Idempotent: writing
        the same data again changes nothing. Bars without a close (NaN) are not stored and not
        counted in the returned number; how many were dropped is in ``store.dropped`` and logged as a
        warning (logger ``multifolio.data.store``). Bars off the grid of the symbol's stored candles
        of this timeframe are refused (see the module docstring).
        """
        return self.write_many([data], exchange=exchange, timeframe=timeframe, on_duplicate=on_duplicate)

    def import_csv(self, path: str | Path, exchange: str = DEFAULT_EXCHANGE, timeframe: str | None = None,
                   on_duplicate: OnDuplicate = "error", pattern: str = "*.csv", *, layout: Layout = "auto",
                   date_format: str | None = None, epoch_unit: str | None = None) -> int:
        """Import one CSV file or a folder of per-symbol CSV files, all in one transaction.

        Files are read as by :func:`multifolio.data.files.read_csv` (long or wide; ``date_format``,
        ``epoch_unit``) and validated one by one, so a folder larger than memory can be imported; a
        bad file anywhere rolls the whole import back (its error names the file).
        """
        batches = ((frame, str(f)) for f, frame in iter_csv_frames(
            path, pattern, layout=layout, date_format=date_format, epoch_unit=epoch_unit))
        return self._write_sourced(batches, exchange, timeframe, on_duplicate)

    def import_parquet(self, path: str | Path, exchange: str = DEFAULT_EXCHANGE,
                       timeframe: str | None = None, on_duplicate: OnDuplicate = "error", *,
                       layout: Layout = "auto", date_format: str | None = None,
                       epoch_unit: str | None = None) -> int:
        """Import a Parquet file (or folder); without a symbol column the file name is the symbol."""
        batches = ((table, str(f)) for f, table in iter_parquet_tables(
            path, layout=layout, date_format=date_format, epoch_unit=epoch_unit))
        return self._write_sourced(batches, exchange, timeframe, on_duplicate)

    def _write_sourced(self, batches: Iterable[tuple[Any, str]], exchange: str, timeframe: str | None,
                       on_duplicate: OnDuplicate) -> int:
        """Upsert (batch, source name) pairs in one transaction; roll back on any exception."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        total = 0
        self.dropped = 0
        try:
            for table, source in batches:
                candles, tf = self._candles(table, timeframe, on_duplicate, source)
                timeframe = timeframe or tf  # later batches must match the first one's timeframe
                self._check_grid(candles, str(exchange), tf, source)
                total += self._insert(candles, str(exchange), tf)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return total

    def _check_grid(self, candles: LongCandles, exchange: str, timeframe: str, source: str | None) -> None:
        """Refuse candles off the grid of the same symbols' stored candles of this timeframe."""
        if len(candles) == 0:
            return
        step = int(parse_timeframe(timeframe).value)
        lo, hi = int(candles.ts.min()) - step, int(candles.ts.max()) + step
        present = np.unique(candles.codes)
        names = [candles.symbols[int(c)] for c in present]
        where = "exchange = ? AND timeframe = ? AND symbol IN (SELECT unnest(?::VARCHAR[]))"
        params: list[Any] = [exchange, timeframe, names]
        if step < _DAY_NS:
            # One row per (symbol, offset on the grid) stored: compare with the new bars' offsets.
            rows = self.con.execute(
                f"SELECT symbol, min(epoch_ns(ts)) FROM candles WHERE {where} "
                "GROUP BY symbol, epoch_ns(ts) % ?", [*params, step]).fetchall()
            if not rows:
                return
            codes = np.array([candles.symbols.index(r[0]) for r in rows], dtype=np.int64)
            ts = np.array([r[1] for r in rows], dtype=np.int64)
        else:  # daily and coarser: the stored bars around the new ones (stamps may drift an hour)
            rows = self.con.execute(
                f"SELECT symbol, epoch_ns(ts) FROM candles WHERE {where} AND ts BETWEEN "
                "make_timestamptz(?::BIGINT) AND make_timestamptz(?::BIGINT)",
                [*params, lo // 1000, hi // 1000]).fetchall()
            if not rows:
                return
            codes = np.array([candles.symbols.index(r[0]) for r in rows], dtype=np.int64)
            ts = np.array([r[1] for r in rows], dtype=np.int64)
        both_codes, both_ts = np.r_[candles.codes, codes], np.r_[candles.ts, ts]
        try:
            check_common_grid(both_codes, both_ts, candles.symbols, parse_timeframe(timeframe))
        except MarketDataError as exc:
            raise MarketDataError(f"{exc.problem}, against the {timeframe} candles already stored on "
                                  f"{exchange}", symbol=exc.symbol, timestamp=exc.timestamp,
                                  source=source) from None

    # -- reading -----------------------------------------------------------------------------------
    def symbols(self, timeframe: str | None = None, exchange: str | None = None) -> list[str]:
        """Stored symbols (sorted), optionally only those with candles of a timeframe / exchange."""
        where, params = self._where(timeframe, exchange)
        rows = self.con.execute(f"SELECT DISTINCT symbol FROM candles {where} ORDER BY symbol", params)
        return [r[0] for r in rows.fetchall()]

    def ranges(self) -> pd.DataFrame:
        """One row per (exchange, symbol, timeframe): ``start``, ``end`` (UTC) and ``n_bars``."""
        df: Any = self.con.execute(
            "SELECT exchange, symbol, timeframe, min(ts) AS start, max(ts) AS \"end\", count(*) AS n_bars "
            "FROM candles GROUP BY ALL ORDER BY exchange, symbol, timeframe").fetchall()
        df = pd.DataFrame(df, columns=["exchange", "symbol", "timeframe", "start", "end", "n_bars"])
        for col in ("start", "end"):
            df[col] = pd.to_datetime(df[col], utc=True)
        return df

    def latest(self, symbol: str, timeframe: str, exchange: str = DEFAULT_EXCHANGE) -> pd.Timestamp | None:
        """Timestamp of the newest stored candle for (exchange, symbol, timeframe), or None."""
        row = self.con.execute(
            "SELECT epoch_us(max(ts)) FROM candles WHERE exchange = ? AND symbol = ? AND timeframe = ?",
            [exchange, symbol, canonical_timeframe(timeframe)]).fetchall()[0]
        return None if row[0] is None else pd.Timestamp(int(row[0]) * 1000, tz="UTC")

    def span(self, symbol: str, timeframe: str,
             exchange: str = DEFAULT_EXCHANGE) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """(oldest, newest) stored candle times for (exchange, symbol, timeframe), or None."""
        row = self.con.execute(
            "SELECT epoch_us(min(ts)), epoch_us(max(ts)) FROM candles "
            "WHERE exchange = ? AND symbol = ? AND timeframe = ?",
            [exchange, symbol, canonical_timeframe(timeframe)]).fetchall()[0]
        if row[0] is None:
            return None
        return pd.Timestamp(int(row[0]) * 1000, tz="UTC"), pd.Timestamp(int(row[1]) * 1000, tz="UTC")

    @staticmethod
    def _where(timeframe: str | None, exchange: str | None) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if timeframe is not None:
            clauses.append("timeframe = ?")
            params.append(canonical_timeframe(timeframe))
        if exchange is not None:
            clauses.append("exchange = ?")
            params.append(exchange)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def read(self, symbols: Sequence[str] | str | None, timeframe: str, start: object = None,
             end: object = None, exchange: str | None = None, *,
             source_timeframe: str | None = None) -> MarketData:
        """Candles of ``symbols`` (in that order; None = all with this timeframe) as MarketData.

        ``start``/``end`` are inclusive bounds (naive = UTC; an ``end`` date without a time
        of day includes that whole day). ``exchange=None`` accepts any exchange
        but refuses a symbol stored under several. With ``source_timeframe`` the candles are built in
        SQL by bucketing stored ``source_timeframe`` candles into ``timeframe`` ones (first open, max
        high, min low, last close, summed volume; buckets as :func:`MarketData.resample`).
        A requested symbol or range that is not stored raises MarketDataError listing what is.
        """
        tf = canonical_timeframe(timeframe)
        stored_tf = canonical_timeframe(source_timeframe) if source_timeframe is not None else tf
        if isinstance(symbols, str):
            symbols = [symbols]
        if symbols is None:
            symbols = self.symbols(stored_tf, exchange)
            if not symbols:
                raise MarketDataError(f"the store has no {stored_tf} candles"
                                      + (f" on {exchange}" if exchange else "")
                                      + f"; it has: {self._inventory()}", source=self.path)
        symbols = [str(s) for s in symbols]
        if len(set(symbols)) != len(symbols):
            raise MarketDataError("symbols requested twice", source=self.path)
        clauses = ["timeframe = ?", "symbol IN (SELECT unnest(?::VARCHAR[]))"]
        params: list[Any] = [stored_tf, symbols]
        if exchange is not None:
            clauses.append("exchange = ?")
            params.append(exchange)
        if start is not None:
            clauses.append("ts >= ?")
            params.append(_utc(start).to_pydatetime())
        if end is not None and is_date_only(end):   # a date: through the end of that day
            clauses.append("ts < ?")
            params.append((_utc(end) + pd.Timedelta(days=1)).to_pydatetime())
        elif end is not None:
            clauses.append("ts <= ?")
            params.append(_utc(end).to_pydatetime())
        where = " AND ".join(clauses)
        # Symbols come back as their position in the request (no strings to transfer or map).
        # Without an exchange, a hash of it is fetched too, to refuse a symbol stored under several
        # exchanges without a second scan.
        cols = "list_position(?::VARCHAR[], symbol) - 1 AS code, "
        if exchange is None:
            cols += "hash(exchange) AS ex, "
        if source_timeframe is None:
            sql = (f"SELECT {cols}epoch_us(ts) AS t, open, high, low, close, volume FROM candles "
                   f"WHERE {where}")
            params = [symbols, *params]
        else:
            step = parse_timeframe(tf)
            if step < parse_timeframe(stored_tf):
                raise MarketDataError(f"cannot resample {stored_tf} candles to the finer {tf}")
            sql = (
                f"SELECT {cols}"
                "epoch_us(time_bucket(to_microseconds(?::BIGINT), ts, ?::TIMESTAMPTZ)) AS t, "
                "arg_min(open, ts) AS open, max(high) AS high, min(low) AS low, "
                "arg_max(close, ts) AS close, sum(volume) AS volume "
                f"FROM candles WHERE {where} GROUP BY ALL")
            params = [symbols, int(step.value // 1000), BUCKET_ORIGIN.to_pydatetime(), *params]
        # A cursor of its own: DuckDB keeps a relation's result open on the connection it ran on.
        cursor = self.con.cursor()
        try:
            table = _arrow(cursor.sql(sql, params=params))
        finally:
            cursor.close()
        codes = table.column("code").to_numpy().astype(np.int64)
        if exchange is None:
            self._refuse_ambiguous(codes, table.column("ex").to_numpy(), symbols)
        return self._pivot(table, codes, symbols, parse_timeframe(tf), stored_tf, exchange, start, end)

    def _refuse_ambiguous(self, codes: np.ndarray, exchange_hash: np.ndarray, symbols: list[str]) -> None:
        if len(codes) == 0:
            return
        seen = np.zeros(len(symbols), dtype=exchange_hash.dtype)
        seen[codes] = exchange_hash  # one exchange per symbol (any); a row that differs -> ambiguous
        other = exchange_hash != seen[codes]
        if other.any():
            symbol = symbols[int(codes[int(other.argmax())])]
            rows = self.con.execute("SELECT DISTINCT exchange FROM candles WHERE symbol = ? ORDER BY 1",
                                    [symbol]).fetchall()
            raise MarketDataError(f"stored on several exchanges {[r[0] for r in rows]}; pass exchange=",
                                  symbol=symbol, source=self.path)

    def _inventory(self) -> str:
        r = self.ranges()
        if r.empty:
            return "nothing (empty store)"
        return "; ".join(f"{x.exchange}:{x.symbol}:{x.timeframe} {x.start} .. {x.end}"
                         for x in r.itertuples())

    def _pivot(self, table: Any, codes: np.ndarray, symbols: list[str], step: pd.Timedelta,
               stored_tf: str, exchange: str | None, start: object, end: object) -> MarketData:
        """Scatter the fetched rows into T x N arrays on the union of their timestamps (NumPy only)."""
        n = len(symbols)
        present = np.bincount(codes, minlength=n) > 0
        if not present.all():
            self._explain_missing(symbols[int(np.argmin(present))], stored_tf, exchange, start, end)
        ts = table.column("t").to_numpy().astype(np.int64) * 1000
        clock, rows = union_clock(ts, int(step.value))
        flat = rows * n + codes

        def field(name: str) -> np.ndarray:
            out = np.full(len(clock) * n, np.nan)
            out[flat] = table.column(name).to_numpy(zero_copy_only=False)
            return out.reshape(len(clock), n)

        check_common_grid(codes, ts, symbols, step, source=self.path)
        index = pd.DatetimeIndex(clock.view("datetime64[ns]")).tz_localize("UTC")
        return MarketData(index, symbols, *(field(f) for f in ("open", "high", "low", "close", "volume")))

    def _explain_missing(self, symbol: str, tf: str, exchange: str | None, start: object,
                         end: object) -> None:
        r = self.ranges()
        mine = r[(r.symbol == symbol) & (r.timeframe == tf)]
        if exchange is not None:
            mine = mine[mine.exchange == exchange]
        if not mine.empty:
            spans = ", ".join(f"{x.exchange}: {x.start} .. {x.end}" for x in mine.itertuples())
            raise MarketDataError(f"no {tf} candles between {start} and {end}; stored: {spans}",
                                  symbol=symbol, timestamp=start if start is not None else end,
                                  source=self.path)
        other = r[r.symbol == symbol]
        if not other.empty:
            have = ", ".join(sorted({f"{x.exchange}:{x.timeframe}" for x in other.itertuples()}))
            raise MarketDataError(f"no {tf} candles" + (f" on {exchange}" if exchange else "")
                                  + f"; this symbol is stored as {have}", symbol=symbol, source=self.path)
        available = sorted(set(r.symbol[r.timeframe == tf])) or sorted(set(r.symbol))
        raise MarketDataError(f"symbol not in the store; available ({tf}): {', '.join(available) or 'none'}",
                              symbol=symbol, source=self.path)

    # -- maintenance -------------------------------------------------------------------------------
    def resample(self, source_timeframe: str, timeframe: str, symbols: Sequence[str] | None = None,
                 exchange: str | None = None) -> int:
        """Build ``timeframe`` candles from stored ``source_timeframe`` ones, in SQL, and store them.

        Upserts, so re-running after new source candles arrive refreshes the partial last bucket.
        Returns the number of candles written.
        """
        src, dst = canonical_timeframe(source_timeframe), canonical_timeframe(timeframe)
        step = parse_timeframe(dst)
        if step <= parse_timeframe(src):
            raise MarketDataError(f"resample target {dst} must be coarser than {src}")
        clauses, params = ["timeframe = ?"], [src]
        if exchange is not None:
            clauses.append("exchange = ?")
            params.append(exchange)
        if symbols is not None:
            clauses.append("symbol IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(symbols))
        sql = ("INSERT OR REPLACE INTO candles SELECT exchange, symbol, ?, "
               "time_bucket(to_microseconds(?::BIGINT), ts, ?::TIMESTAMPTZ) AS bucket, "
               "arg_min(open, ts), max(high), min(low), arg_max(close, ts), sum(volume) "
               f"FROM candles WHERE {' AND '.join(clauses)} GROUP BY exchange, symbol, bucket")
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql, [dst, int(step.value // 1000), BUCKET_ORIGIN.to_pydatetime(), *params])
            written = con.execute(
                f"SELECT count(DISTINCT (exchange, symbol, time_bucket(to_microseconds(?::BIGINT), ts, "
                f"?::TIMESTAMPTZ))) FROM candles WHERE {' AND '.join(clauses)}",
                [int(step.value // 1000), BUCKET_ORIGIN.to_pydatetime(), *params]).fetchall()[0][0]
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return int(written)
