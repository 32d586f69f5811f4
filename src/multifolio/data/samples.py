"""Sample data sets: synthetic crypto pairs (always available) and real S&P 500 closes (via skfolio).

>>> md = crypto_hourly()
>>> md.n_bars, md.n_assets, md.symbols[:3]
(17520, 21, ['BTC/USDT', 'ETH/USDT', 'BNB/USDT'])
"""

from __future__ import annotations

from functools import lru_cache

from multifolio.data.errors import MarketDataError
from multifolio.data.market_data import MarketData
from multifolio.data.synthetic import synthetic

CRYPTO_SEED = 2023
# Prices mean-revert slowly (60-day half-life) towards their start so that two years of bars keep
# realistic levels (BTC within about 20-40k) while hourly behaviour stays a random walk.
CRYPTO_ANCHOR_HALFLIFE_BARS = 60 * 24
# (pair, first open in USDT, annualised volatility): levels and volatilities of early 2023.
CRYPTO_PAIRS: tuple[tuple[str, float, float], ...] = (
    ("BTC/USDT", 28_000.0, 0.45), ("ETH/USDT", 1_900.0, 0.55), ("BNB/USDT", 300.0, 0.50),
    ("SOL/USDT", 22.0, 0.85), ("XRP/USDT", 0.48, 0.75), ("ADA/USDT", 0.35, 0.75),
    ("DOGE/USDT", 0.08, 0.85), ("AVAX/USDT", 17.0, 0.85), ("DOT/USDT", 6.0, 0.75),
    ("LINK/USDT", 7.0, 0.80), ("MATIC/USDT", 0.90, 0.85), ("LTC/USDT", 85.0, 0.70),
    ("TRX/USDT", 0.065, 0.50), ("ATOM/USDT", 10.5, 0.75), ("UNI/USDT", 5.8, 0.80),
    ("ETC/USDT", 19.0, 0.75), ("XLM/USDT", 0.10, 0.70), ("NEAR/USDT", 1.9, 0.90),
    ("FIL/USDT", 4.8, 0.85), ("APT/USDT", 9.0, 0.95), ("ARB/USDT", 1.2, 0.95),
)
CRYPTO_SYMBOLS: tuple[str, ...] = tuple(p[0] for p in CRYPTO_PAIRS)


@lru_cache(maxsize=1)
def _crypto_hourly() -> MarketData:
    return synthetic(len(CRYPTO_PAIRS), 2 * 365 * 24, freq="1h", seed=CRYPTO_SEED, start="2023-01-01",
                     symbols=CRYPTO_SYMBOLS, annual_vol=[p[2] for p in CRYPTO_PAIRS],
                     start_prices=[p[1] for p in CRYPTO_PAIRS], n_clusters=5, base_notional=2e6,
                     anchor_halflife_bars=CRYPTO_ANCHOR_HALFLIFE_BARS)


def crypto_hourly() -> MarketData:
    """21 crypto-like USDT pairs, hourly from 2023-01-01 for two years (17,520 bars), synthetic.

    Built by :func:`multifolio.data.synthetic.synthetic` with a fixed seed, starting from early-2023
    price levels (BTC ~28k, ETH ~1.9k, DOGE ~0.08, ...) and per-pair volatilities; includes the
    generator's crash episodes (field ``"crash"``). The data are not real market prices. Generated once
    per process; each call returns an independent copy.
    """
    return _crypto_hourly().copy()


@lru_cache(maxsize=1)
def _sp500_daily() -> MarketData:
    try:
        from skfolio.datasets import load_sp500_dataset
    except ImportError as exc:
        raise MarketDataError("the S&P 500 sample needs skfolio: pip install 'multifolio[optimize]'") from exc
    prices = load_sp500_dataset()
    return MarketData.from_frames(close=prices.astype("float64"))


def sp500_daily() -> MarketData:
    """Daily closes of 20 real S&P 500 stocks, 1990-2022, as bundled with skfolio (extra ``[optimize]``).

    The source has closing prices only, so open, high and low equal the close and volume is NaN:
    intrabar orders (limits, stops) and next-open execution see no intraday range on this data.
    Raises MarketDataError naming the ``[optimize]`` extra when skfolio is not installed.
    """
    return _sp500_daily().copy()


def sample(name: str) -> MarketData:
    """A sample by name: ``"crypto_hourly"`` or ``"sp500_daily"``."""
    loaders = {"crypto_hourly": crypto_hourly, "sp500_daily": sp500_daily}
    try:
        return loaders[name]()
    except KeyError:
        raise MarketDataError(f"unknown sample {name!r}; available: {', '.join(loaders)}") from None


__all__ = ["CRYPTO_SYMBOLS", "crypto_hourly", "sample", "sp500_daily"]
