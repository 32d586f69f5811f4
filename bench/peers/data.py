"""Benchmark input data: synthetic daily closes, shared by every engine of a case.

``multifolio.data.synthetic`` is used when it exists (the project's generator); otherwise a plain
lognormal random walk stands in, so the peers can be measured before the data layer lands.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def random_walk_close(n_assets: int, n_bars: int, *, seed: int = 42, start: str = "2015-01-01",
                      freq: str = "1D") -> pd.DataFrame:
    """Lognormal random-walk closes, T x N, deterministic for a seed.

    Daily log returns are normal with a small drift and a per-asset volatility between 1% and 3%,
    which gives a realistic spread of momentum ranks (the top-N case depends on that, not on tails).

    >>> c = random_walk_close(3, 4, seed=1)
    >>> c.shape, bool((c > 0).all().all()), str(c.index.tz)
    ((4, 3), True, 'UTC')
    """
    if n_assets < 1 or n_bars < 1:
        raise ValueError(f"random_walk_close: n_assets and n_bars must be >= 1, got {n_assets}, {n_bars}")
    rng = np.random.default_rng(seed)
    vol = rng.uniform(0.01, 0.03, n_assets)
    log_ret = rng.normal(0.0002, 1.0, (n_bars, n_assets)) * vol
    log_ret[0] = 0.0
    start_px = rng.uniform(10.0, 200.0, n_assets)
    close = start_px * np.exp(np.cumsum(log_ret, axis=0))
    index = pd.date_range(start, periods=n_bars, freq=freq, tz="UTC")
    cols = [f"A{i:04d}" for i in range(n_assets)]
    return pd.DataFrame(close, index=index, columns=cols)


def synthetic_market_data(n_assets: int, n_bars: int, *, seed: int = 42, freq: str = "1D") -> Any:
    """``multifolio.data.synthetic.synthetic(...)`` as a MarketData, or None when it is not available."""
    try:
        from multifolio.data.synthetic import synthetic
    except ImportError:
        return None
    return synthetic(n_assets, n_bars, freq=freq, seed=seed)


def synthetic_close(n_assets: int, n_bars: int, *, seed: int = 42,
                    freq: str = "1D") -> tuple[pd.DataFrame, str]:
    """Closes for a benchmark case and the name of the generator that made them.

    Uses ``multifolio.data.synthetic(n_assets, n_bars, freq=freq, seed=seed)`` when the data layer
    provides it, else :func:`random_walk_close`. The second item says which one was used, so the
    results file can state it.
    """
    md = synthetic_market_data(n_assets, n_bars, seed=seed, freq=freq)
    if md is not None:
        close = pd.DataFrame(md.close, index=md.index, columns=md.symbols)
        return close, f"multifolio.data.synthetic(seed={seed}, freq={freq!r})"
    return random_walk_close(n_assets, n_bars, seed=seed, freq=freq), f"lognormal random walk (seed={seed})"
