"""Load MarketData from CSV and Parquet files, one file or a folder of them.

Accepted shapes (``layout="auto"`` tells them apart; pass ``layout="long"``/``"wide"`` to say so):

- **long**: one row per candle, ``timestamp, symbol, open, high, low, close, volume`` (see
  :func:`multifolio.data.long.from_long` for the aliases). Without a ``symbol`` column the file holds
  one symbol, named after the file (``BTC-USDT.csv`` -> ``"BTC-USDT"``): this is a folder of
  per-symbol files, including what ``DataFrame.to_csv()`` writes by default (an unnamed first index
  column, capitalised ``Open/High/Low/Close/Volume``; ``Adj Close`` is ignored).
- **wide**: the time column first, then one column of closes per symbol (``Date,AAPL,MSFT``). Chosen
  automatically when no column is a symbol or an OHLCV name (single letters ``O/H/L/C/V`` count as
  OHLCV: a wide file of tickers ``C`` and ``V`` needs ``layout="wide"``).

The time column is found per file (``timestamp``, ``Date``, ``Time``, ``datetime``, ... or an unnamed
first column), and each file's timestamps are read with one format for the whole column (see
:mod:`multifolio.data.timestamps`; ``date_format`` and ``epoch_unit`` pin it). Errors name the file.

Files of a folder must share one bar size. With ``timeframe`` given, files on a finer timeframe are
resampled to it (as :func:`multifolio.data.resample.resample`); without it, files of different bar
sizes are an error naming them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from multifolio.data.errors import MarketDataError
from multifolio.data.long import OnDuplicate, canonical_names, find_time_column, from_long
from multifolio.data.timeframes import format_timeframe, parse_timeframe
from multifolio.data.timestamps import timestamps_to_ns

if TYPE_CHECKING:
    from multifolio.data.market_data import MarketData

Layout = Literal["auto", "long", "wide"]
_SYMBOL_COLUMNS = ("symbol", "ticker", "asset", "pair")
_OHLCV_NAMES = {"open", "high", "low", "close", "price", "volume", "vol"}
_OHLCV_LETTERS = {"o", "h", "l", "c", "v"}


def _has_symbol_column(names: list[str]) -> bool:
    return any(str(c).strip().lower() in _SYMBOL_COLUMNS for c in names)


def _symbol_column(names: list[str]) -> str:
    return next(c for c in names if str(c).strip().lower() in _SYMBOL_COLUMNS)


def detect_layout(names: list[str], layout: Layout = "auto") -> Literal["long", "wide"]:
    """"long" or "wide" for a file with these column names (see the module docstring)."""
    if layout not in ("auto", "long", "wide"):
        raise MarketDataError(f"layout must be 'auto', 'long' or 'wide', got {layout!r}")
    if layout != "auto":
        return layout
    time_col = find_time_column(names)
    others = [str(c).strip().lower() for c in names if c != time_col]
    if _has_symbol_column(names) or any(c in _OHLCV_NAMES for c in others):
        return "long"
    if others and all(c in _OHLCV_LETTERS for c in others):
        return "long"
    return "wide"


def _read_one_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, engine="pyarrow")
    except Exception as exc:  # the pyarrow parser raises its own error types
        raise MarketDataError(f"cannot read CSV: {exc}", source=str(path)) from exc
    if frame.empty:
        raise MarketDataError("file has no rows", source=str(path))
    return frame


def normalise_frame(frame: pd.DataFrame, source: str, symbol: str, layout: Layout = "auto",
                    date_format: str | None = None, epoch_unit: str | None = None) -> pd.DataFrame:
    """A long frame with a ``timestamp`` column (datetime64[ns, UTC]) and a ``symbol`` column.

    ``symbol`` names the rows of a long file without a symbol column; the time column is found and
    parsed here, per file, so files of one folder may name and format it differently.
    """
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    names = list(frame.columns)
    kind = detect_layout(names, layout)
    time_col = find_time_column(names)
    if time_col is None:
        if kind == "wide" and names:
            time_col = names[0]  # wide files carry the time first, whatever its name
        else:
            raise MarketDataError(f"no timestamp column: name it timestamp, date, time or datetime, or "
                                  f"put it first without a name; the file has {names}", source=source)
    ts = timestamps_to_ns(frame[time_col], source, date_format=date_format, epoch_unit=epoch_unit,
                          column=time_col)
    stamps = pd.DatetimeIndex(ts.view("datetime64[ns]")).tz_localize("UTC")
    body = frame.drop(columns=time_col)
    if kind == "long":
        body = body.rename(columns=canonical_names(list(body.columns)))
        if not _has_symbol_column(list(body.columns)):
            body.insert(0, "symbol", symbol)
        body.insert(0, "timestamp", stamps)
        return body
    if body.shape[1] == 0:
        raise MarketDataError(f"wide file has no symbol columns after its time column {time_col!r}",
                              source=source)
    closes = []
    for col in body.columns:
        try:
            closes.append(body[col].to_numpy(dtype=np.float64, na_value=np.nan))
        except (TypeError, ValueError) as exc:
            raise MarketDataError(f"column {col!r} holds non-numeric values ({exc})",
                                  source=source) from exc
    values = np.concatenate(closes)
    keep = ~np.isnan(values)  # a symbol without a value at a time has no bar there
    n = len(stamps)
    return pd.DataFrame({"timestamp": np.tile(stamps, len(closes))[keep],
                         "symbol": np.repeat(np.asarray(body.columns, dtype=object), n)[keep],
                         "close": values[keep]})


def _files(path: str | Path, pattern: str) -> list[Path]:
    p = Path(path)
    if not p.exists():
        raise MarketDataError("no such file or folder", source=str(p))
    files = sorted(f for f in p.glob(pattern) if f.is_file()) if p.is_dir() else [p]
    if not files:
        raise MarketDataError(f"folder holds no files matching {pattern!r}", source=str(p))
    return files


def iter_csv_frames(path: str | Path, pattern: str = "*.csv", *, layout: Layout = "auto",
                    date_format: str | None = None,
                    epoch_unit: str | None = None) -> Iterator[tuple[Path, pd.DataFrame]]:
    """(file, long frame) pairs, each normalised by :func:`normalise_frame` (symbol from the file name)."""
    for f in _files(path, pattern):
        yield f, normalise_frame(_read_one_csv(f), str(f), f.stem, layout, date_format, epoch_unit)


def _bar_size(frame: pd.DataFrame) -> pd.Timedelta | None:
    """The most common spacing between consecutive bars of one symbol in a normalised frame."""
    ts = pd.DatetimeIndex(frame["timestamp"]).asi8
    codes = pd.factorize(frame[_symbol_column(list(frame.columns))])[0]
    order = np.lexsort((ts, codes))
    ts, codes = ts[order], codes[order]
    diffs = np.diff(ts)[(codes[1:] == codes[:-1]) & (np.diff(ts) > 0)]
    if len(diffs) == 0:
        return None
    values, counts = np.unique(diffs, return_counts=True)
    return pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")


def _fmt(td: pd.Timedelta) -> str:
    try:
        return format_timeframe(td)
    except MarketDataError:
        return str(td)


def combine_files(pairs: list[tuple[Path, pd.DataFrame]], path: str | Path, on_duplicate: OnDuplicate,
                  timeframe: str | None) -> MarketData:
    """MarketData from normalised per-file frames; resamples finer files to ``timeframe`` when given."""
    from multifolio.data.resample import resample

    tf = parse_timeframe(timeframe) if timeframe is not None else None
    # One file cannot disagree with itself (its own timeframe check runs in from_long).
    sizes = {f: _bar_size(frame) if len(pairs) > 1 or tf is not None else None for f, frame in pairs}
    found = sorted({s for s in sizes.values() if s is not None})
    if tf is None and len(found) > 1:
        groups = "; ".join(f"{_fmt(s)}: " + ", ".join(f.name for f, z in sizes.items() if z == s)
                           for s in found)
        raise MarketDataError(f"files have different bar sizes ({groups}); pass timeframe= (e.g. "
                              f"{_fmt(found[-1])!r}) to resample the finer files to it", source=str(path))
    frames = []
    for f, frame in pairs:
        size = sizes[f]
        if tf is not None and size is not None and size != tf:
            if size > tf:
                raise MarketDataError(f"file has {_fmt(size)} bars, coarser than the requested "
                                      f"{_fmt(tf)}; finer bars cannot be made from them", source=str(f))
            frame = resample(from_long(frame, on_duplicate=on_duplicate, source=str(f)), tf).to_long()
        frames.append(frame)
    sources: dict[str, str] = {}
    for (f, _), frame in zip(pairs, frames, strict=True):
        for sym in pd.unique(frame[_symbol_column(list(frame.columns))]):
            sources.setdefault(str(sym), str(f))
    table = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return from_long(table, on_duplicate=on_duplicate, timeframe=timeframe, source=str(path),
                     sources=sources)


def read_csv(path: str | Path, on_duplicate: OnDuplicate = "error", timeframe: str | None = None,
             pattern: str = "*.csv", *, layout: Layout = "auto", date_format: str | None = None,
             epoch_unit: str | None = None) -> MarketData:
    """MarketData from one CSV file or a folder of them (long or wide; see the module docstring).

    A long file needs a timestamp column and at least ``close`` (see :func:`from_long` for the
    columns and checks). Without a ``symbol`` column the symbol is the file name without extension
    (``BTC-USDT.csv`` -> ``"BTC-USDT"``); this is how a folder of per-symbol files is read.
    ``timeframe`` resamples files on a finer timeframe to it (and pins it). ``date_format``
    (``"dayfirst"``, ``"monthfirst"`` or a strftime format) and ``epoch_unit`` (``"s"``, ``"ms"``,
    ``"us"``, ``"ns"``) say how to read the time column. Errors name the offending file.
    """
    pairs = list(iter_csv_frames(path, pattern, layout=layout, date_format=date_format,
                                 epoch_unit=epoch_unit))
    return combine_files(pairs, path, on_duplicate, timeframe)


def read_parquet_table(path: str | Path) -> Any:
    """The Arrow table of a Parquet file or a folder (dataset) of Parquet files."""
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.exists():
        raise MarketDataError("no such file or folder", source=str(p))
    try:
        return pq.read_table(p)
    except Exception as exc:  # pyarrow raises ArrowInvalid and OSError variants
        raise MarketDataError(f"cannot read Parquet: {exc}", source=str(p)) from exc


def _parquet_parts(path: str | Path) -> list[Path]:
    """The files of a Parquet folder read one by one (plain ``*.parquet`` files), else [path]."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.glob("*.parquet") if f.is_file())
        if files:
            return files
    return [p]


def iter_parquet_tables(path: str | Path, *, layout: Layout = "auto", date_format: str | None = None,
                        epoch_unit: str | None = None) -> Iterator[tuple[Path, Any]]:
    """(file, long table) pairs of a Parquet file or folder: Arrow tables with a UTC ``timestamp``
    and a ``symbol`` column (the file name when it has none); wide files become long frames."""
    import pyarrow as pa

    for f in _parquet_parts(path):
        table = read_parquet_table(f)
        names = list(table.column_names)
        if detect_layout(names, layout) == "wide":
            frame = table.to_pandas()
            if not isinstance(frame.index, pd.RangeIndex):  # pandas metadata restored the index
                frame = frame.reset_index()
            yield f, normalise_frame(frame, str(f), f.stem, "wide", date_format, epoch_unit)
            continue
        time_col = find_time_column(names)
        if time_col is None:
            raise MarketDataError(f"no timestamp column: name it timestamp, date, time or datetime; "
                                  f"the file has {names}", source=str(f))
        ts = timestamps_to_ns(table.column(time_col), str(f), date_format=date_format,
                              epoch_unit=epoch_unit, column=time_col)
        table = table.drop_columns([time_col])
        table = table.add_column(0, "timestamp", pa.array(ts, pa.timestamp("ns", tz="UTC")))
        if not _has_symbol_column(names):
            table = table.append_column("symbol", pa.array([f.stem] * table.num_rows, pa.string()))
        yield f, table


def read_parquet(path: str | Path, on_duplicate: OnDuplicate = "error",
                 timeframe: str | None = None, *, layout: Layout = "auto", date_format: str | None = None,
                 epoch_unit: str | None = None) -> MarketData:
    """MarketData from a Parquet file or a folder of them; long or wide as :func:`read_csv`.

    A file without a ``symbol`` column takes its symbol from the file name; a pandas-written index
    (``__index_level_0__``) is the time column. ``timeframe``, ``date_format`` and ``epoch_unit`` as
    in :func:`read_csv`.
    """
    pairs = list(iter_parquet_tables(path, layout=layout, date_format=date_format, epoch_unit=epoch_unit))
    if len(pairs) == 1 and not isinstance(pairs[0][1], pd.DataFrame) and timeframe is None:
        # One long table: straight to the vectorised loader, no pandas round trip.
        return from_long(pairs[0][1], on_duplicate=on_duplicate, source=str(path))
    frames = [(f, t if isinstance(t, pd.DataFrame) else t.to_pandas()) for f, t in pairs]
    return combine_files(frames, path, on_duplicate, timeframe)
