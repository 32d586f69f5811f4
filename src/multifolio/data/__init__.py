"""Market data: aligned multi-asset OHLCV, loaders, validation, the DuckDB candle store, sample data.

>>> from multifolio.data import MarketData, synthetic, samples
>>> md = synthetic(3, 100, seed=1)
>>> md.resample("4h").n_bars
25
"""

from multifolio.data import samples
from multifolio.data.errors import MarketDataError
from multifolio.data.exchange import fetch_ohlcv_to_store, make_exchange
from multifolio.data.files import read_csv, read_parquet
from multifolio.data.long import from_long
from multifolio.data.market_data import MarketData, tradable_bars
from multifolio.data.resample import resample
from multifolio.data.store import CandleStore, default_store_path
from multifolio.data.synthetic import crash_episodes, synthetic
from multifolio.data.timeframes import canonical_timeframe, parse_timeframe

__all__ = [
    "CandleStore",
    "MarketData",
    "MarketDataError",
    "canonical_timeframe",
    "crash_episodes",
    "default_store_path",
    "fetch_ohlcv_to_store",
    "from_long",
    "make_exchange",
    "parse_timeframe",
    "read_csv",
    "read_parquet",
    "resample",
    "samples",
    "synthetic",
    "tradable_bars",
]
