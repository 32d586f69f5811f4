"""Load MarketData from CSV and Parquet files (long format), one file or a folder of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from multifolio.data.errors import MarketDataError
from multifolio.data.long import OnDuplicate, from_long

if TYPE_CHECKING:
    from multifolio.data.market_data import MarketData

_SYMBOL_COLUMNS = ("symbol", "ticker", "asset", "pair")


def _has_symbol_column(frame: pd.DataFrame) -> bool:
    return any(str(c).lower() in _SYMBOL_COLUMNS for c in frame.columns)


def _read_one_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, engine="pyarrow")
    except Exception as exc:  # the pyarrow parser raises its own error types
        raise MarketDataError(f"cannot read CSV: {exc}", source=str(path)) from exc
    if frame.empty:
        raise MarketDataError("file has no rows", source=str(path))
    return frame


def iter_csv_frames(path: str | Path, pattern: str = "*.csv") -> Iterator[tuple[Path, pd.DataFrame]]:
    """(file, long frame) pairs; files without a symbol column get one from their file name."""
    p = Path(path)
    if not p.exists():
        raise MarketDataError("no such file or folder", source=str(p))
    files = sorted(p.glob(pattern)) if p.is_dir() else [p]
    if not files:
        raise MarketDataError(f"folder holds no files matching {pattern!r}", source=str(p))
    for f in files:
        frame = _read_one_csv(f)
        if not _has_symbol_column(frame):
            frame.insert(0, "symbol", f.stem)
        yield f, frame


def read_csv(path: str | Path, on_duplicate: OnDuplicate = "error", timeframe: str | None = None,
             pattern: str = "*.csv") -> MarketData:
    """MarketData from one long CSV file or a folder with one CSV file per symbol.

    A file needs a timestamp column and at least ``close`` (see :func:`from_long` for the columns and
    checks). Without a ``symbol`` column the symbol is the file name without extension
    (``BTC-USDT.csv`` -> ``"BTC-USDT"``); this is how a folder of per-symbol files is read. Errors name
    the offending file.
    """
    frames, sources = [], {}
    for f, frame in iter_csv_frames(path, pattern):
        frames.append(frame)
        for sym in pd.unique(frame[[c for c in frame.columns if str(c).lower() in _SYMBOL_COLUMNS][0]]):
            sources.setdefault(str(sym), str(f))
    table = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return from_long(table, on_duplicate=on_duplicate, timeframe=timeframe, source=str(path),
                     sources=sources)


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


def read_parquet(path: str | Path, on_duplicate: OnDuplicate = "error",
                 timeframe: str | None = None) -> MarketData:
    """MarketData from a long Parquet file (or a folder of them); columns as in :func:`from_long`.

    A file without a ``symbol`` column takes its symbol from the file name.
    """
    table = read_parquet_table(path)
    symbol = None if any(c.lower() in _SYMBOL_COLUMNS for c in table.column_names) else Path(path).stem
    return from_long(table, on_duplicate=on_duplicate, timeframe=timeframe, source=str(path), symbol=symbol)
