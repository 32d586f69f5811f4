"""Sample data sets: synthetic crypto pairs (always available) and real S&P 500 closes (via skfolio).

>>> md = crypto_hourly()
>>> md.n_bars, md.n_assets, md.symbols[:3]
(17520, 21, ['BTC/USDT', 'ETH/USDT', 'BNB/USDT'])
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

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


FX_SEED = 15
#: (symbol, first price, annualised volatility, typical spread in price units, quote currency)
FX_PAIRS: tuple[tuple[str, float, float, float, str], ...] = (
    ("EURUSD", 1.09, 0.07, 0.00008, "USD"), ("GBPUSD", 1.27, 0.08, 0.00012, "USD"),
    ("USDJPY", 148.0, 0.09, 0.010, "JPY"), ("AUDUSD", 0.66, 0.10, 0.00010, "USD"),
    ("EURGBP", 1.09 / 1.27, 0.05, 0.00012, "GBP"), ("XAUUSD", 2_000.0, 0.15, 0.30, "USD"),
    ("JP225", 33_000.0, 0.18, 7.0, "JPY"),
)
FX_SYMBOLS: tuple[str, ...] = tuple(p[0] for p in FX_PAIRS)
#: Each symbol's quote currency (``multifolio.backtest(instruments=...)`` converts it into USD).
FX_QUOTES: dict[str, str] = {p[0]: p[4] for p in FX_PAIRS}
# correlations of the hourly log returns of EURUSD, GBPUSD, USDJPY, AUDUSD, XAUUSD, JP225 (EURGBP is the
# cross EURUSD / GBPUSD): the dollar drives the majors, gold leans against the dollar, the Nikkei
# rises with USDJPY
_FX_CORR = np.array([
    [1.00, 0.65, -0.35, 0.55, 0.35, -0.10],
    [0.65, 1.00, -0.25, 0.50, 0.25, -0.05],
    [-0.35, -0.25, 1.00, -0.20, -0.25, 0.35],
    [0.55, 0.50, -0.20, 1.00, 0.35, 0.10],
    [0.35, 0.25, -0.25, 0.35, 1.00, -0.05],
    [-0.10, -0.05, 0.35, 0.10, -0.05, 1.00],
])


@lru_cache(maxsize=4)
def _fx_hourly(days: int, seed: int) -> MarketData:
    rng = np.random.default_rng(seed)
    hours = pd.date_range("2024-01-01", periods=days * 24, freq="1h", tz="UTC")
    # the FX week: Sunday 22:00 to Friday 22:00 UTC (no bars at the weekend: Monday opens with a gap)
    wd, hr = hours.day_of_week, hours.hour
    open_hours = ~((wd == 5) | ((wd == 4) & (hr >= 22)) | ((wd == 6) & (hr < 22)))
    index = hours[open_hours]
    n = len(index)
    base = [p for p in FX_PAIRS if p[0] != "EURGBP"]
    vol = np.array([p[2] for p in base]) / np.sqrt(252 * 24)
    # volatility clusters: a slow common multiplier (London/New York hours busier than Asia)
    session = np.where((index.hour >= 7) & (index.hour < 17), 1.25, 0.75)
    regime = np.exp(0.3 * np.convolve(rng.standard_normal(n + 200), np.ones(200) / np.sqrt(200),
                                      "valid")[:n])
    shocks = rng.standard_t(5, size=(n, len(base))) / np.sqrt(5 / 3) @ np.linalg.cholesky(_FX_CORR).T
    gap = np.ones(n)
    gap[1:][np.diff(index.asi8) > 3_600_000_000_000] = 4.0     # the weekend's news at Monday's open
    r = shocks * vol * (session * regime * gap)[:, None]
    # prices wander but mean-revert slowly (a 20-day half-life): ranges, the mean-reversion trader's market
    k = np.log(2) / (20 * 24)
    logp = np.empty((n, len(base)))
    x = np.zeros(len(base))
    for t in range(n):          # one pass over the bars at build time (cached)
        x = x * (1 - k) + r[t]
        logp[t] = x
    close = np.exp(logp) * np.array([p[1] for p in base])
    names = [p[0] for p in base]
    eurgbp = close[:, names.index("EURUSD")] / close[:, names.index("GBPUSD")]
    close = np.column_stack([close[:, :4], eurgbp, close[:, 4:]])
    prev = np.vstack([close[:1], close[:-1]])
    spread = np.array([p[3] for p in FX_PAIRS])
    op = prev + rng.normal(0, 0.1, close.shape) * spread        # the open: the last close, give or take
    bar_vol = np.abs(np.log(close / prev)) + np.append(vol, vol[0] * 0.7)[None, :] * 0.5
    high = np.maximum(op, close) * np.exp(np.abs(rng.normal(0, 0.6, close.shape)) * bar_vol)
    low = np.minimum(op, close) * np.exp(-np.abs(rng.normal(0, 0.6, close.shape)) * bar_vol)
    digits = np.array([5, 5, 3, 5, 5, 2, 0])
    scale = 10.0 ** digits
    frames = {name: pd.DataFrame(np.round(a * scale) / scale, index=index, columns=list(FX_SYMBOLS))
              for name, a in (("open", op), ("high", high), ("low", low), ("close", close))}
    frames["high"] = np.maximum(frames["high"], np.maximum(frames["open"], frames["close"]))
    frames["low"] = np.minimum(frames["low"], np.minimum(frames["open"], frames["close"]))
    spreads = pd.DataFrame(spread * (1 + 0.5 * (session < 1))[:, None] * gap[:, None], index=index,
                           columns=list(FX_SYMBOLS))
    return MarketData.from_frames(frames["close"], open=frames["open"], high=frames["high"],
                                  low=frames["low"], spread=spreads)


def fx_hourly(days: int = 365, seed: int = FX_SEED) -> MarketData:
    """Synthetic hourly FX majors, a cross, gold and a JPY index CFD: ``EURUSD``, ``GBPUSD``, ``USDJPY``,
    ``AUDUSD``, ``EURGBP`` (the cross of EURUSD and GBPUSD), ``XAUUSD`` and ``JP225`` (quoted in JPY),
    from 2024-01-01 over ``days`` calendar days.

    Realistic hourly volatility (5-18% a year), correlated through the dollar (Student-t shocks), busier
    London/New York hours, volatility regimes, a slow mean reversion of levels (20-day half-life), the FX
    week (Sunday 22:00 to Friday 22:00 UTC: no weekend bars, larger gaps at Monday's open), prices on
    each pair's usual decimals and a ``spread`` field (price units, wider in Asian hours and at the
    open). ``FX_QUOTES`` gives each symbol's quote currency. Synthetic (not market prices), no network,
    reproducible from ``seed``.

    >>> md = fx_hourly(days=14)
    >>> md.symbols, md.n_bars
    (['EURUSD', 'GBPUSD', 'USDJPY', 'AUDUSD', 'EURGBP', 'XAUUSD', 'JP225'], 240)
    """
    return _fx_hourly(int(days), int(seed)).copy()


def sample(name: str) -> MarketData:
    """A sample by name: ``"crypto_hourly"``, ``"sp500_daily"`` or ``"fx_hourly"``."""
    loaders = {"crypto_hourly": crypto_hourly, "sp500_daily": sp500_daily, "fx_hourly": fx_hourly}
    try:
        return loaders[name]()
    except KeyError:
        raise MarketDataError(f"unknown sample {name!r}; available: {', '.join(loaders)}") from None


__all__ = ["CRYPTO_SYMBOLS", "FX_QUOTES", "FX_SYMBOLS", "crypto_hourly", "fx_hourly", "sample", "sp500_daily"]
