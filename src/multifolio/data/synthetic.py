"""Synthetic multi-asset OHLCV with the features that break portfolio strategies.

The generator is built for stress-testing shared-capital portfolios, so it reproduces what makes
them fail together:

- a **common market factor** plus **clustered** sector factors (assets in a cluster co-move more),
- **fat tails**: shocks are Student-t (``tail_df`` degrees of freedom, unit variance),
- **volatility clustering**: log-volatility follows a persistent AR(1) process (a common and an
  asset-specific part), computed for all bars at once by FFT convolution instead of a Python loop,
- **scheduled crash episodes**: every ``crash_every_bars`` bars (with jitter) all assets fall together
  over ``crash_bars`` bars (deeper for high-beta assets), then partly recover (``recovery_frac`` of the
  fall over ``recovery_bars``), with volatility and volume raised around the episode. The drift is set
  so that, crashes included, prices have no systematic trend.

Intrabar prices are consistent: ``open`` is the previous close with a small gap, ``high >=
max(open, close)`` and ``low <= min(open, close)`` with wicks proportional to the bar's volatility.
The crash bars are stored as an extra field ``"crash"`` (1.0 on crash bars, 0.0 elsewhere, same for all
assets); :func:`crash_episodes` turns it into (start, end) timestamps.

Output is deterministic for a seed (NumPy ``default_rng``).

>>> md = synthetic(3, 500, seed=7, crash_every_bars=200)
>>> md.n_bars, md.n_assets, bool((md.high >= md.close).all() and (md.low <= md.open).all())
(500, 3, True)
>>> len(crash_episodes(md)) > 0
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from multifolio.data.errors import MarketDataError
from multifolio.data.market_data import MarketData
from multifolio.data.timeframes import parse_timeframe

_YEAR = pd.Timedelta(days=365.25)


def _ar1_paths(rng: np.random.Generator, n_bars: int, n_paths: int, tau: float) -> np.ndarray:
    """n_bars x n_paths stationary AR(1) paths with unit variance and mean-reversion time ``tau`` bars.

    x_t = phi x_{t-1} + sqrt(1 - phi^2) eta_t is a convolution of the noise with phi^k; done by FFT
    over a burn-in so the paths start in the stationary distribution.
    """
    phi = 1.0 - 1.0 / tau
    kernel_len = int(min(max(10 * tau, 10), 20 * n_bars))
    total = n_bars + kernel_len
    noise = rng.standard_normal((total, n_paths))
    kernel = phi ** np.arange(kernel_len)
    size = 1 << int(np.ceil(np.log2(total + kernel_len)))
    conv = np.fft.irfft(np.fft.rfft(noise, size, axis=0) * np.fft.rfft(kernel, size)[:, None], size, axis=0)
    return conv[kernel_len:total] * np.sqrt(1.0 - phi * phi)


def _student_t(rng: np.random.Generator, df: float, shape: tuple[int, ...]) -> np.ndarray:
    """Student-t draws scaled to unit variance (df > 2)."""
    return rng.standard_t(df, shape) * np.sqrt((df - 2.0) / df)


def _per_asset(value: float | Sequence[float], n: int, name: str) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)) if np.ndim(value) == 0 else \
        np.asarray(value, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a number or one value per asset ({n}), got {len(arr)} values")
    return arr


def synthetic(n_assets: int = 10, n_bars: int = 1000, freq: str = "1h", seed: int = 0,
              start: str | pd.Timestamp = "2023-01-01", symbols: Sequence[str] | None = None, *,
              crash_every_bars: int | None = None, crash_bars: int | None = None,
              crash_depth: float = 0.12, recovery_bars: int | None = None, recovery_frac: float = 0.5,
              annual_vol: float | Sequence[float] = 0.6, start_prices: float | Sequence[float] = 100.0,
              n_clusters: int | None = None, market_weight: float = 0.55, cluster_weight: float = 0.45,
              tail_df: float = 4.0, vol_of_vol: float = 0.35, vol_halflife_bars: float | None = None,
              gap_frac: float = 0.05, wick: float = 0.6, base_notional: float = 5e6,
              anchor_halflife_bars: float | None = None) -> MarketData:
    """Generate ``n_bars`` x ``n_assets`` OHLCV bars (see the module docstring).

    Args:
        n_assets, n_bars: shape. freq: bar spacing ("1h", "1d", ...). seed: RNG seed.
        start: first timestamp (UTC). symbols: names (default ``S000``, ``S001``, ...).
        crash_every_bars: mean spacing of crash episodes (default about 45 days of bars; 0 = none).
        crash_bars: length of the falling phase (default about 6 hours, at least 2 bars).
        crash_depth: typical log fall of a crash (scaled per asset by its crash beta, 0.7-1.3).
        recovery_bars, recovery_frac: the rebound after a crash (default 4 x crash_bars, half the fall).
        annual_vol: annualised volatility per asset (number or one per asset; 365.25-day year).
        start_prices: first open per asset. n_clusters: sector clusters (default about N / 5).
        market_weight, cluster_weight: factor loadings (the rest is idiosyncratic).
        tail_df: Student-t degrees of freedom (> 2; smaller = fatter tails).
        vol_of_vol, vol_halflife_bars: size and persistence of the volatility clustering.
        gap_frac: open-vs-previous-close gap as a fraction of the bar volatility.
        wick: size of the high/low wicks in units of the bar volatility.
        base_notional: typical traded notional per bar (volume = notional / price).
        anchor_halflife_bars: if set, log prices mean-revert towards their start level with this
            half-life (keeps long samples at realistic levels); None = a pure random walk.
    """
    if n_assets < 1 or n_bars < 1:
        raise ValueError(f"n_assets and n_bars must be positive, got {n_assets} and {n_bars}")
    if tail_df <= 2:
        raise ValueError(f"tail_df must be > 2 for a finite variance, got {tail_df}")
    step = parse_timeframe(freq)
    T, N = int(n_bars), int(n_assets)
    if symbols is None:
        width = max(3, len(str(N - 1)))
        symbols = [f"S{i:0{width}d}" for i in range(N)]
    symbols = [str(s) for s in symbols]
    if len(symbols) != N:
        raise ValueError(f"got {len(symbols)} symbols for {N} assets")
    rng = np.random.default_rng(seed)
    bars_per_year = _YEAR / step
    bars_per_hour = pd.Timedelta(hours=1) / step
    sigma = _per_asset(annual_vol, N, "annual_vol") / np.sqrt(bars_per_year)
    p0 = _per_asset(start_prices, N, "start_prices")
    if (p0 <= 0).any():
        raise ValueError("start_prices must be positive")

    # --- factor structure: market + cluster + idiosyncratic, unit variance per asset
    K = max(1, int(n_clusters if n_clusters is not None else round(N / 5)))
    cluster = np.arange(N) * K // N
    beta = market_weight * rng.uniform(0.8, 1.2, N)
    gamma = cluster_weight * rng.uniform(0.8, 1.2, N)
    idio = np.sqrt(np.clip(1.0 - beta**2 - gamma**2, 0.05, None))
    norm = np.sqrt(beta**2 + gamma**2 + idio**2)
    beta, gamma, idio = beta / norm, gamma / norm, idio / norm
    market = _student_t(rng, tail_df, (T, 1))
    sectors = _student_t(rng, tail_df, (T, K))[:, cluster]
    own = _student_t(rng, tail_df, (T, N))
    z = beta * market + gamma * sectors + idio * own

    # --- volatility clustering: persistent log-vol, shared and per asset
    halflife = vol_halflife_bars if vol_halflife_bars is not None else max(10.0, 72 * bars_per_hour)
    tau = max(2.0, halflife / np.log(2.0))
    h = _ar1_paths(rng, T, N + 1, tau)
    log_vol = vol_of_vol * (0.7 * h[:, :1] + 0.714 * h[:, 1:])
    vol_mult = np.exp(log_vol - 0.5 * vol_of_vol**2)

    # --- crash schedule
    crash = np.zeros(T, dtype=bool)
    fall = np.zeros(T)       # common per-bar log move (negative), scaled per asset by crash beta
    rebound = np.zeros(T)
    stress = np.zeros(T)     # extra volatility around episodes, decaying after the crash
    D = int(crash_bars if crash_bars is not None else max(2, round(6 * bars_per_hour)))
    R = int(recovery_bars if recovery_bars is not None else 4 * D)
    default_every = max(4 * (D + R), round(45 * 24 * bars_per_hour))
    E = int(crash_every_bars if crash_every_bars is not None else default_every)
    crash_beta = rng.uniform(0.7, 1.3, N)
    n_episodes = 0
    if E > 0 and crash_depth > 0:
        jitter = E // 4
        starts = np.arange(E // 2, T, E)
        starts = starts + rng.integers(-jitter, jitter + 1, len(starts))
        starts = starts[(starts >= 1) & (starts + D <= T)]
        profiles = rng.dirichlet(np.full(D, 1.5), len(starts))  # how the fall spreads over the bars
        n_episodes = len(starts)
        decay = np.arange(T)
        for s, profile in zip(starts, profiles, strict=True):
            crash[s:s + D] = True
            fall[s:s + D] -= crash_depth * profile
            r_end = min(T, s + D + R)
            rebound[s + D:r_end] += recovery_frac * crash_depth / R
            after = decay[s:] - s
            stress[s:] += 2.0 * np.exp(-after / max(R, 1))
    vol_mult = vol_mult * (1.0 + stress[:, None])

    # --- log returns; the drift offsets the expected net crash loss so prices have no trend
    bar_sigma = sigma * vol_mult
    net_crash_loss = (1.0 - recovery_frac) * crash_depth * n_episodes / T if n_episodes else 0.0
    noise_scale = np.where(crash, 0.5, 1.0)[:, None]  # in a crash the common fall dominates the noise
    r = bar_sigma * z * noise_scale + (fall + rebound)[:, None] * crash_beta + net_crash_loss * crash_beta
    r[0] = 0.0 if T == 1 else r[0]
    if anchor_halflife_bars is None:
        log_close = np.log(p0) + np.cumsum(r, axis=0)
    else:
        # x_t = phi x_{t-1} + r_t (log deviation from the start level): a linear filter of the
        # returns, computed as one FFT convolution with phi^k rather than a loop over bars.
        phi = 0.5 ** (1.0 / max(float(anchor_halflife_bars), 1.0))
        size = 1 << int(np.ceil(np.log2(2 * T)))
        kernel = np.fft.rfft(phi ** np.arange(T), size)
        dev = np.fft.irfft(np.fft.rfft(r, size, axis=0) * kernel[:, None], size, axis=0)[:T]
        log_close = np.log(p0) + dev
    gap = gap_frac * bar_sigma * rng.standard_normal((T, N))
    log_open = np.vstack([np.log(p0)[None, :], log_close[:-1]]) + gap
    log_open[0] = np.log(p0)
    top = np.maximum(log_open, log_close)
    bottom = np.minimum(log_open, log_close)
    wick_scale = wick * bar_sigma * (1.0 + crash[:, None])
    log_high = top + wick_scale * np.abs(rng.standard_normal((T, N)))
    log_low = bottom - wick_scale * np.abs(rng.standard_normal((T, N)))

    # --- volume: more in volatile bars and crashes
    base_units = base_notional / p0 * np.exp(rng.normal(0.0, 0.5, N))
    surprise = np.abs(r) / np.maximum(bar_sigma, 1e-12)
    activity = vol_mult * (1.0 + 0.5 * surprise) * (1.0 + 2.0 * crash[:, None])
    volume = base_units * activity * np.exp(0.3 * rng.standard_normal((T, N)))

    index = pd.date_range(pd.Timestamp(start), periods=T, freq=step, tz="UTC") if pd.Timestamp(start).tz \
        is None else pd.date_range(pd.Timestamp(start).tz_convert("UTC"), periods=T, freq=step)
    crash_field = np.repeat(crash.astype(np.float64)[:, None], N, axis=1)
    return MarketData(index, symbols, np.exp(log_open), np.exp(log_high), np.exp(log_low),
                      np.exp(log_close), volume, fields={"crash": crash_field})


def crash_episodes(md: MarketData) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """(first bar, last bar) timestamps of each crash episode recorded in the ``"crash"`` field.

    >>> md = synthetic(2, 300, crash_every_bars=100, crash_bars=3, seed=1)
    >>> eps = crash_episodes(md)
    >>> len(eps), all(end - start == pd.Timedelta(hours=2) for start, end in eps)
    (3, True)
    """
    if "crash" not in md.fields:
        raise MarketDataError("no 'crash' field: this data was not made by the synthetic generator")
    on = np.nan_to_num(md.fields["crash"]).max(axis=1) > 0.5 if md.n_assets else np.zeros(0, bool)
    edges = np.diff(np.r_[0, on.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(md.index[s], md.index[e]) for s, e in zip(starts, ends, strict=True)]
