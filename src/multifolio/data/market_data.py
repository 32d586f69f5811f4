"""MarketData: many assets on one clock, as aligned T x N float64 arrays."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from multifolio.data.errors import MarketDataError
from multifolio.data.timeframes import format_timeframe
from multifolio.data.validation import check_candles, check_timeframes

if TYPE_CHECKING:
    from multifolio.data.files import Layout
    from multifolio.data.long import OnDuplicate

PRICE_FIELDS = ("open", "high", "low", "close")
OHLCV_FIELDS = ("open", "high", "low", "close", "volume")


def tradable_bars(open: np.ndarray, close: np.ndarray) -> np.ndarray:
    """THE tradable rule: a bar is tradable when its open AND its close are present (finite).

    An order can only fill at a price the bar has (the open for ``next_open``, the close for
    ``close``), so a bar missing either is not tradable; a bar with a close but no open is a price
    to mark at, not to trade at. ``MarketData.tradable`` is built from this rule (an explicit mask
    can only narrow it).
    """
    return np.isfinite(open) & np.isfinite(close)


_NO_TIMESTAMPS = ("{name} has no timestamps: its index is {kind}; give it a DatetimeIndex "
                  "(e.g. df.set_index('timestamp') or pd.to_datetime(df.index, unit='ms')) "
                  "or a timestamp column")


def _to_utc_index(index: pd.Index, source: str, date_format: str | None = None) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        index = pd.Index(index)
        kind = "a RangeIndex" if isinstance(index, pd.RangeIndex) else f"of dtype {index.dtype}"
        if _is_numeric(index):
            # Bar numbers (or epochs of unknown unit) read as datetimes are nanoseconds from 1970.
            name = source if source != "MarketData" else "the index"
            raise MarketDataError(_NO_TIMESTAMPS.format(name=name, kind=kind), source=source)
        from multifolio.data.timestamps import timestamps_to_ns

        ns = timestamps_to_ns(index, source, date_format=date_format, column="index")
        return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")
    # Timezone-naive timestamps are taken as UTC (documented behaviour).
    idx = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    if idx.hasnans:
        raise MarketDataError("missing timestamp (NaT) in the index", source=source)
    return idx.as_unit("ns")


def _with_time_index(frame: pd.DataFrame, name: str, date_format: str | None) -> pd.DataFrame:
    """``frame`` indexed by UTC timestamps: its own index, or its timestamp column when the index is
    a plain RangeIndex / numbers (bar numbers are never read as times)."""
    out = frame.copy()
    if _is_numeric(out.index):
        from multifolio.data.long import find_time_column

        names = [str(c) for c in out.columns]
        col = find_time_column(names)
        if col is None:
            kind = "a RangeIndex" if isinstance(out.index, pd.RangeIndex) else f"of dtype {out.index.dtype}"
            raise MarketDataError(_NO_TIMESTAMPS.format(name=name, kind=kind), source=name)
        from multifolio.data.timestamps import timestamps_to_ns

        key = out.columns[names.index(col)]
        ns = timestamps_to_ns(out[key], name, date_format=date_format, column=col)
        out = out.drop(columns=key)
        out.index = pd.DatetimeIndex(ns.view("datetime64[ns]"))
    out.index = _to_utc_index(out.index, name, date_format)
    return out


def _is_numeric(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) or index.dtype.kind in "iufb"


class MarketData:
    """Aligned OHLCV (plus extra fields) for N assets on one UTC clock of T bars.

    >>> import pandas as pd
    >>> close = pd.DataFrame({"A": [1.0, 2.0], "B": [3.0, None]},
    ...                      index=pd.date_range("2024-01-01", periods=2, freq="D"))
    >>> md = MarketData.from_frames(close=close)
    >>> md.n_bars, md.n_assets, md.tradable[:, 1].tolist()
    (2, 2, [True, False])
    >>> md.first_bar.tolist(), md.last_bar.tolist()
    ([0, 0], [1, 0])

    One clock: the index is the union of all assets' timestamps. Where an asset has no bar its prices
    are NaN and it is not tradable; before its first bar (listing) and after its last (delisting) it is
    not tradable either (``first_bar``/``last_bar`` give those positions). ``tradable`` follows one
    rule, :func:`tradable_bars`: a bar is tradable when its open and its close are present.
    Timezone-naive timestamps are taken as UTC; an index of bar numbers is refused.
    """

    def __init__(self, index: pd.DatetimeIndex, symbols: Iterable[str], open: np.ndarray,
                 high: np.ndarray, low: np.ndarray, close: np.ndarray,
                 volume: np.ndarray | None = None, fields: Mapping[str, np.ndarray] | None = None,
                 tradable: np.ndarray | None = None) -> None:
        self.index = _to_utc_index(index, "MarketData")
        self.symbols = [str(s) for s in symbols]
        if len(set(self.symbols)) != len(self.symbols):
            raise MarketDataError("duplicate symbols", source="MarketData")
        shape = (len(self.index), len(self.symbols))

        def arr(name: str, a: np.ndarray | None) -> np.ndarray:
            if a is None:
                return np.full(shape, np.nan)
            out = np.ascontiguousarray(a, dtype=np.float64)
            if out.shape != shape:
                raise MarketDataError(f"field {name!r} has shape {out.shape}, expected {shape}")
            return out

        self.open = arr("open", open)
        self.high = arr("high", high)
        self.low = arr("low", low)
        self.close = arr("close", close)
        self.volume = arr("volume", volume)
        self.fields = {str(k): arr(str(k), v) for k, v in (fields or {}).items()}
        rule = tradable_bars(self.open, self.close)
        self.tradable = rule if tradable is None else np.ascontiguousarray(tradable, dtype=bool) & rule
        if len(self.index) > 1:
            diffs = np.diff(self.index.asi8)
            if (diffs <= 0).any():
                raise MarketDataError("timestamps must be strictly increasing and unique",
                                      timestamp=self.index[1:][diffs <= 0][0])
            self.freq: pd.Timedelta | None = pd.Timedelta(int(np.median(diffs)), unit="ns")
        else:
            self.freq = None

    # -- shape -----------------------------------------------------------------------------------
    @property
    def n_bars(self) -> int:
        return len(self.index)

    @property
    def n_assets(self) -> int:
        return len(self.symbols)

    def __repr__(self) -> str:
        span = f"{self.index[0]} .. {self.index[-1]}" if self.n_bars else "empty"
        return f"MarketData({self.n_bars} bars x {self.n_assets} assets, {span})"

    def field(self, name: str) -> np.ndarray:
        """The T x N array of a price field or an extra field."""
        if name in OHLCV_FIELDS:
            return getattr(self, name)
        try:
            return self.fields[name]
        except KeyError:
            known = ", ".join([*OHLCV_FIELDS, *self.fields])
            raise MarketDataError(f"unknown field {name!r}; known fields: {known}") from None

    def symbol_index(self, symbol: str) -> int:
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise MarketDataError(f"unknown symbol; available: {', '.join(self.symbols)}",
                                  symbol=symbol) from None

    @cached_property
    def first_bar(self) -> np.ndarray:
        """Per asset, the row of its first bar with a close (listing); -1 if it never has one."""
        valid = ~np.isnan(self.close)
        has = valid.any(axis=0)
        return np.where(has, valid.argmax(axis=0), -1).astype(np.int64)

    @cached_property
    def last_bar(self) -> np.ndarray:
        """Per asset, the row of its last bar with a close (delisting); -1 if it never has one."""
        valid = ~np.isnan(self.close)
        has = valid.any(axis=0)
        return np.where(has, self.n_bars - 1 - valid[::-1].argmax(axis=0), -1).astype(np.int64)

    def copy(self) -> MarketData:
        """A deep copy (arrays are copied, so the copy can be modified freely)."""
        return MarketData(self.index.copy(), list(self.symbols), self.open.copy(), self.high.copy(),
                          self.low.copy(), self.close.copy(), self.volume.copy(),
                          {k: v.copy() for k, v in self.fields.items()}, self.tradable.copy())

    def validate(self, source: str | None = None) -> MarketData:
        """Check the candles (see :func:`multifolio.data.validation.check_candles`); returns self."""
        n = self.n_assets

        def locate(pos: int) -> tuple[str, pd.Timestamp]:
            return self.symbols[pos % n], self.index[pos // n]

        check_candles(self.open, self.high, self.low, self.close, self.volume, locate, source)
        return self

    def to_long(self) -> pd.DataFrame:
        """The present bars as a long table ``timestamp, symbol, open, high, low, close, volume, ...``."""
        present = ~np.isnan(self.close)
        rows, cols = np.nonzero(present)
        out = {"timestamp": self.index[rows],
               "symbol": np.asarray(self.symbols, dtype=object)[cols]}
        for name in ("open", "high", "low", "close", "volume", *self.fields):
            out[name] = self.field(name)[rows, cols]
        return pd.DataFrame(out)

    def resample(self, timeframe: str | pd.Timedelta) -> MarketData:
        """Coarser bars: first open, max high, min low, last close, summed volume, last extra fields.

        See :func:`multifolio.data.resample.resample`.
        """
        from multifolio.data.resample import resample

        return resample(self, timeframe)

    def frame(self, name: str) -> pd.DataFrame:
        """A field as a wide DataFrame (index = timestamps, columns = symbols)."""
        return pd.DataFrame(self.field(name), index=self.index, columns=self.symbols)

    # -- constructors ----------------------------------------------------------------------------
    @classmethod
    def from_frames(cls, close: pd.DataFrame, open: pd.DataFrame | None = None,
                    high: pd.DataFrame | None = None, low: pd.DataFrame | None = None,
                    volume: pd.DataFrame | None = None, *, date_format: str | None = None,
                    **fields: pd.DataFrame) -> MarketData:
        """Build from wide DataFrames (index = timestamps, columns = symbols).

        Each frame needs timestamps: a DatetimeIndex, an index of date strings (read with one format
        per index, see :mod:`multifolio.data.timestamps`; ``date_format`` pins it), or — when the
        index is a plain RangeIndex — a timestamp column (``timestamp``/``date``/...). A frame with
        bar numbers only is refused (they would read as nanoseconds after 1970).
        Frames are aligned on the union of their indexes (one clock) and the columns of ``close``.
        A missing open defaults to close; a missing high/low to max/min(open, close) (so close-only
        data has OHLC = close); a missing volume is NaN. Candles are validated (MarketDataError), and
        the open/high/low/volume frames must be on the timeframe of ``close`` (a daily close with an
        hourly open is "mixed timeframes").
        """
        if not isinstance(close, pd.DataFrame):
            raise MarketDataError("close must be a wide DataFrame (index = timestamps, columns = symbols)")
        frames = {"open": open, "high": high, "low": low, "close": close, "volume": volume, **fields}
        present: dict[str, pd.DataFrame] = {}
        index = None
        for name, frame in frames.items():
            if frame is None:
                continue
            if not isinstance(frame, pd.DataFrame):
                raise MarketDataError(f"{name} must be a DataFrame, got {type(frame).__name__}")
            f = _with_time_index(frame, name, date_format)
            idx = f.index
            if idx.has_duplicates:
                raise MarketDataError("duplicate timestamp", timestamp=idx[idx.duplicated()][0],
                                      source=name)
            f.columns = [str(c) for c in f.columns]
            present[name] = f
            index = idx if index is None else index.union(idx)
        assert index is not None
        index = index.sort_values()
        symbols = [str(c) for c in present["close"].columns]

        def aligned(name: str) -> np.ndarray | None:
            f = present.get(name)
            if f is None:
                return None
            missing = [s for s in symbols if s not in f.columns]
            if missing and name in OHLCV_FIELDS:
                raise MarketDataError(f"{name} frame lacks symbols present in close",
                                      symbol=missing[0])
            f = f.reindex(index=index, columns=symbols)
            try:
                return f.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError) as exc:
                raise MarketDataError(f"{name} holds non-numeric values: {exc}") from exc

        c = aligned("close")
        assert c is not None
        given = {k: aligned(k) for k in ("open", "high", "low", "volume")}
        o, h, lo = (given[k] for k in ("open", "high", "low"))
        o = c if o is None else o
        # A missing high/low is the bar's body (max/min of open and close), so open-and-close data
        # stays consistent; with close only, all four prices are the close.
        with np.errstate(invalid="ignore"):
            h = np.fmax(o, c) if h is None else h
            lo = np.fmin(o, c) if lo is None else lo
        md = cls(index, symbols, open=o, high=h, low=lo, close=c, volume=given["volume"],
                 fields={k: aligned(k) for k in fields})
        md.validate()
        # One timeframe, judged like long tables: each symbol's bars are the rows with a close.
        cols, rows = np.nonzero(~np.isnan(c).T)
        step = check_timeframes(cols, index.asi8[rows], symbols, source="close")
        # The other price frames must be on close's clock: timestamps close does not have are bars of
        # another timeframe (a daily close with hourly opens). A missing value on a shared timestamp is
        # only a partial bar (not tradable).
        close_index = present["close"].index
        for name in ("open", "high", "low", "volume"):
            f = present.get(name)
            if f is None or step is None:
                continue
            extra = f.index.difference(close_index)
            if len(extra):
                theirs = pd.Series(f.index.sort_values()).diff().median()
                raise MarketDataError(f"mixed timeframes: {name} has {len(extra)} timestamp(s) close does "
                                      f"not have ({name} bars {format_timeframe(theirs)} apart, "
                                      f"close has {format_timeframe(step)} bars)", timestamp=extra[0],
                                      source=name)
        return md

    @classmethod
    def from_long(cls, table: Any, on_duplicate: OnDuplicate = "error",
                  timeframe: str | None = None, *, date_format: str | None = None,
                  epoch_unit: str | None = None) -> MarketData:
        """Build from a long table ``timestamp, symbol, open, high, low, close, volume`` (+ extra fields).

        See :func:`multifolio.data.long.from_long` for columns, sorting, duplicates and checks.
        """
        from multifolio.data.long import from_long

        return from_long(table, on_duplicate=on_duplicate, timeframe=timeframe, date_format=date_format,
                         epoch_unit=epoch_unit)

    @classmethod
    def read_csv(cls, path: str | Path, on_duplicate: OnDuplicate = "error",
                 timeframe: str | None = None, *, layout: Layout = "auto", date_format: str | None = None,
                 epoch_unit: str | None = None) -> MarketData:
        """Load a CSV file or a folder of them; see :func:`multifolio.data.files.read_csv`."""
        from multifolio.data.files import read_csv

        return read_csv(path, on_duplicate=on_duplicate, timeframe=timeframe, layout=layout,
                        date_format=date_format, epoch_unit=epoch_unit)

    @classmethod
    def read_parquet(cls, path: str | Path, on_duplicate: OnDuplicate = "error",
                     timeframe: str | None = None, *, layout: Layout = "auto",
                     date_format: str | None = None, epoch_unit: str | None = None) -> MarketData:
        """Load a Parquet file (or a folder of them); see :func:`multifolio.data.files.read_parquet`."""
        from multifolio.data.files import read_parquet

        return read_parquet(path, on_duplicate=on_duplicate, timeframe=timeframe, layout=layout,
                            date_format=date_format, epoch_unit=epoch_unit)

    # -- selection -------------------------------------------------------------------------------
    def _take(self, rows: slice, cols: list[int] | slice) -> MarketData:
        """Rows and columns of data already checked: nothing to validate again (a sweep takes a window
        of one asset thousands of times), only the bar spacing is the subset's own."""
        out = object.__new__(MarketData)
        out.index = self.index[rows]
        out.symbols = np.asarray(self.symbols, dtype=object)[cols].tolist()

        def take(a: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(a[rows][:, cols])

        out.open, out.high, out.low, out.close = (take(a) for a in (self.open, self.high, self.low,
                                                                      self.close))
        out.volume = take(self.volume)
        out.fields = {k: take(v) for k, v in self.fields.items()}
        out.tradable = take(self.tradable)
        diffs = np.diff(out.index.asi8)
        out.freq = pd.Timedelta(int(np.median(diffs)), unit="ns") if len(diffs) else None
        return out

    def window(self, symbols: Iterable[str] | None = None, start: object = None,
               end: object = None) -> MarketData:
        """``select(symbols).slice(start, end)`` in one copy (either part optional)."""
        return self._take(self._rows(start, end), slice(None) if symbols is None else self._cols(symbols))

    def _cols(self, symbols: Iterable[str]) -> list[int]:
        cols = [self.symbol_index(s) for s in symbols]
        if len(set(cols)) != len(cols):
            raise MarketDataError("duplicate symbols", source="MarketData")
        return cols

    def slice(self, start: object = None, end: object = None) -> MarketData:
        """Bars with start <= timestamp <= end (either bound optional).

        An ``end`` written as a date without a time of day (``"2024-01-03"``, a ``datetime.date``)
        includes that whole day, as a configuration's ``data.end`` does; a Timestamp or a string with a
        time (``"2024-01-03 00:00"``) is that instant.
        """
        return self._take(self._rows(start, end), slice(None))

    def _rows(self, start: object, end: object) -> slice:
        lo = 0 if start is None else int(self.index.searchsorted(_ts(start), side="left"))
        if end is None:
            hi = self.n_bars
        elif is_date_only(end):  # through the end of that day
            hi = int(self.index.searchsorted(_ts(end) + pd.Timedelta(days=1), side="left"))
        else:
            hi = int(self.index.searchsorted(_ts(end), side="right"))
        if hi <= lo:
            available = f"{self.index[0]} .. {self.index[-1]}" if self.n_bars else "no bars at all"
            raise MarketDataError(f"no bars between {start} and {end}; available: {available}",
                                  timestamp=start if start is not None else end)
        return slice(lo, hi)

    def select(self, symbols: Iterable[str]) -> MarketData:
        """Only the given symbols, in the given order."""
        return self._take(slice(None), self._cols(symbols))


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_date_only(value: Any) -> bool:
    """``2024-01-31`` (no time of day): as a period end it means through the end of that day.

    >>> is_date_only("2024-01-31"), is_date_only("2024-01-31 00:00"), is_date_only(pd.Timestamp("2024-01-31"))
    (True, False, False)
    """
    return value is not None and bool(_DATE_ONLY.fullmatch(str(value).strip()))


def _ts(value: object) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
