"""Where a run's candles come from: a :class:`DataSource` and :func:`load_market_data`.

A source is one of a bundled sample, a CSV file or folder, a Parquet file, or the DuckDB candle store
(the default when none is named). Configuration files describe a source; the CLI turns the YAML into a
``DataSource`` and loads it here, once, before any run (a sweep's workers receive the loaded data).

>>> md = load_market_data(DataSource(sample="crypto_hourly"), symbols=["BTC/USDT"])
>>> md.symbols
['BTC/USDT']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from multifolio.data.market_data import MarketData
from multifolio.data.selection import DataSourceError, check_symbols

__all__ = ["DataSource", "DataSourceError", "SAMPLES", "load_market_data"]

SAMPLES = ("crypto_hourly", "sp500_daily", "fx_hourly")


@dataclass(frozen=True)
class DataSource:
    """At most one of ``sample``, ``csv``, ``parquet``, ``store`` (none: the default candle store).

    ``exchange`` narrows a store read; ``timeframe`` resamples file and sample data to a coarser bar (a
    folder mixing bar sizes is resampled file by file) and picks the bar size of a store that holds
    several; ``date_format`` and ``epoch_unit`` say how file timestamps read (see
    :mod:`multifolio.data.timestamps`).
    """

    sample: str | None = None
    csv: str | None = None
    parquet: str | None = None
    store: str | None = None
    exchange: str | None = None
    timeframe: str | None = None
    date_format: str | None = None
    epoch_unit: str | None = None

    def __post_init__(self) -> None:
        given = [k for k in ("sample", "csv", "parquet", "store") if getattr(self, k) is not None]
        if len(given) > 1:
            raise DataSourceError("data", "give one data source (sample, csv, parquet or store), or none "
                                  f"for the default candle store; found {', '.join(given)}")
        if self.sample is not None and self.sample not in SAMPLES:
            raise DataSourceError("data.sample", f"unknown sample {self.sample!r}; known: {list(SAMPLES)}")


def load_market_data(source: DataSource, symbols: Sequence[str] | None = None) -> MarketData:
    """Read the candles ``source`` names; of ``symbols`` only (in that order), when given."""
    from multifolio.data.files import read_csv, read_parquet
    from multifolio.data.resample import resample

    if source.sample is None and source.csv is None and source.parquet is None:
        return _read_store(source, symbols)
    files = dict(timeframe=source.timeframe, date_format=source.date_format, epoch_unit=source.epoch_unit)
    if source.sample is not None:
        from multifolio.data import samples

        md = getattr(samples, source.sample)()
        md = md if source.timeframe is None else resample(md, source.timeframe)
    elif source.csv is not None:
        _require_path(source.csv, "data.csv")
        md = read_csv(source.csv, **files)
    else:
        _require_path(source.parquet, "data.parquet")
        md = read_parquet(source.parquet, **files)
    if symbols is not None:
        check_symbols(list(symbols), list(md.symbols), "data.symbols")
        if list(symbols) != list(md.symbols):
            md = md.select(list(symbols))
    return md


def _read_store(source: DataSource, symbols: Sequence[str] | None) -> MarketData:
    from multifolio.data.store import CandleStore, default_store_path

    path = source.store
    if path is None:
        path = str(default_store_path())
        if not Path(path).exists():
            raise DataSourceError("data", f"no source given (sample, csv, parquet or store) and the default "
                                  f"candle store {path} does not exist; fill it with `multifolio data "
                                  "import` / `data fetch`, or name a source")
    else:
        _require_path(path, "data.store")
    with CandleStore(path, read_only=True) as store:
        timeframe = source.timeframe
        if timeframe is None:
            # One timeframe stored for these symbols: use it; several: the source must say which.
            ranges = store.ranges()
            if source.exchange is not None:
                ranges = ranges[ranges["exchange"] == source.exchange]
            if symbols is not None:
                ranges = ranges[ranges["symbol"].isin(list(symbols))]
            found = sorted(set(ranges["timeframe"]))
            if len(found) != 1:
                raise DataSourceError("data.timeframe", f"the store {path} holds "
                                      + (f"timeframes {', '.join(found)} for these symbols; say which"
                                         if found else "no candles for these symbols"))
            timeframe = found[0]
        return store.read(list(symbols) if symbols is not None else None, timeframe,
                          exchange=source.exchange)


def _require_path(path: str, key: str) -> None:
    if not Path(path).exists():
        raise DataSourceError(key, f"file not found: {path}")
