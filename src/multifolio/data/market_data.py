"""MarketData: many assets on one clock, as aligned T x N float64 arrays."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from multifolio.data.errors import MarketDataError
from multifolio.data.validation import check_candles, check_timeframes

if TYPE_CHECKING:
    from multifolio.data.long import OnDuplicate

PRICE_FIELDS = ("open", "high", "low", "close")
OHLCV_FIELDS = ("open", "high", "low", "close", "volume")


def _to_utc_index(index: pd.Index, source: str) -> pd.DatetimeIndex:
    try:
        idx = pd.DatetimeIndex(index)
    except (TypeError, ValueError) as exc:
        raise MarketDataError(f"index is not made of timestamps: {exc}", source=source) from exc
    # Timezone-naive timestamps are taken as UTC (documented behaviour).
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return idx.as_unit("ns")


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
    not tradable either (``first_bar``/``last_bar`` give those positions). Timezone-naive timestamps are
    taken as UTC.
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
        if tradable is None:
            tradable = np.isfinite(self.close) & np.isfinite(self.open)
        self.tradable = np.ascontiguousarray(tradable, dtype=bool)
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
                    volume: pd.DataFrame | None = None, **fields: pd.DataFrame) -> MarketData:
        """Build from wide DataFrames (index = timestamps, columns = symbols).

        Frames are aligned on the union of their indexes (one clock) and the columns of ``close``.
        A missing open defaults to close; a missing high/low to max/min(open, close) (so close-only
        data has OHLC = close); a missing volume is NaN. Candles are validated (MarketDataError).
        """
        if not isinstance(close, pd.DataFrame):
            raise MarketDataError("close must be a wide DataFrame (index = timestamps, columns = symbols)")
        frames = {"open": open, "high": high, "low": low, "close": close, "volume": volume, **fields}
        present = {k: v for k, v in frames.items() if v is not None}
        index = None
        for name, frame in present.items():
            if not isinstance(frame, pd.DataFrame):
                raise MarketDataError(f"{name} must be a DataFrame, got {type(frame).__name__}")
            idx = _to_utc_index(frame.index, name)
            if idx.has_duplicates:
                raise MarketDataError("duplicate timestamp", timestamp=idx[idx.duplicated()][0],
                                      source=name)
            index = idx if index is None else index.union(idx)
        assert index is not None
        index = index.sort_values()
        symbols = [str(c) for c in close.columns]

        def aligned(name: str, frame: pd.DataFrame | None) -> np.ndarray | None:
            if frame is None:
                return None
            f = frame.copy()
            f.index = _to_utc_index(f.index, name)
            f.columns = [str(c) for c in f.columns]
            missing = [s for s in symbols if s not in f.columns]
            if missing and name in OHLCV_FIELDS:
                raise MarketDataError(f"{name} frame lacks symbols present in close",
                                      symbol=missing[0])
            f = f.reindex(index=index, columns=symbols)
            try:
                return f.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError) as exc:
                raise MarketDataError(f"{name} holds non-numeric values: {exc}") from exc

        c = aligned("close", close)
        o = aligned("open", open)
        h = aligned("high", high)
        lo = aligned("low", low)
        o = c if o is None else o
        # A missing high/low is the bar's body (max/min of open and close), so open-and-close data
        # stays consistent; with close only, all four prices are the close.
        with np.errstate(invalid="ignore"):
            h = np.fmax(o, c) if h is None else h
            lo = np.fmin(o, c) if lo is None else lo
        md = cls(index, symbols, open=o, high=h, low=lo, close=c, volume=aligned("volume", volume),
                 fields={k: aligned(k, v) for k, v in fields.items()})
        md.validate()
        # One timeframe, judged like long tables: each symbol's bars are the rows with a close.
        cols, rows = np.nonzero(~np.isnan(c).T)
        check_timeframes(cols, index.asi8[rows], symbols, source="close")
        return md

    @classmethod
    def from_long(cls, table: Any, on_duplicate: OnDuplicate = "error",
                  timeframe: str | None = None) -> MarketData:
        """Build from a long table ``timestamp, symbol, open, high, low, close, volume`` (+ extra fields).

        See :func:`multifolio.data.long.from_long` for columns, sorting, duplicates and checks.
        """
        from multifolio.data.long import from_long

        return from_long(table, on_duplicate=on_duplicate, timeframe=timeframe)

    @classmethod
    def read_csv(cls, path: str | Path, on_duplicate: OnDuplicate = "error",
                 timeframe: str | None = None) -> MarketData:
        """Load one long CSV file or a folder of per-symbol CSV files (symbol = file name)."""
        from multifolio.data.files import read_csv

        return read_csv(path, on_duplicate=on_duplicate, timeframe=timeframe)

    @classmethod
    def read_parquet(cls, path: str | Path, on_duplicate: OnDuplicate = "error",
                     timeframe: str | None = None) -> MarketData:
        """Load a long Parquet file (or a folder of them)."""
        from multifolio.data.files import read_parquet

        return read_parquet(path, on_duplicate=on_duplicate, timeframe=timeframe)

    # -- selection -------------------------------------------------------------------------------
    def _take(self, rows: slice | np.ndarray, cols: list[int] | slice) -> MarketData:
        return MarketData(self.index[rows], np.asarray(self.symbols, dtype=object)[cols].tolist(),
                          self.open[rows][:, cols], self.high[rows][:, cols], self.low[rows][:, cols],
                          self.close[rows][:, cols], self.volume[rows][:, cols],
                          {k: v[rows][:, cols] for k, v in self.fields.items()},
                          self.tradable[rows][:, cols])

    def slice(self, start: object = None, end: object = None) -> MarketData:
        """Bars with start <= timestamp <= end (either bound optional)."""
        lo = 0 if start is None else int(self.index.searchsorted(_ts(start), side="left"))
        hi = self.n_bars if end is None else int(self.index.searchsorted(_ts(end), side="right"))
        if hi <= lo:
            available = f"{self.index[0]} .. {self.index[-1]}" if self.n_bars else "no bars at all"
            raise MarketDataError(f"no bars between {start} and {end}; available: {available}",
                                  timestamp=start if start is not None else end)
        return self._take(slice(lo, hi), slice(None))

    def select(self, symbols: Iterable[str]) -> MarketData:
        """Only the given symbols, in the given order."""
        cols = [self.symbol_index(s) for s in symbols]
        return self._take(slice(None), cols)


def _ts(value: object) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
