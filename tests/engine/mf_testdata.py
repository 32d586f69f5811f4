"""Random market data and weights for the engine tests (plain NumPy, seeded)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def random_market(seed: int, n_bars: int = 60, n_assets: int = 5, *, gaps: bool = True,
                  late_listing: bool = True, delisting: bool = False, freq: str = "D",
                  full_last_bar: bool = False
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """OHLC wide frames (UTC index) with consistent bars and NaN gaps.

    Returns (open, high, low, close) DataFrames. Gaps: an asset lists late (NaN before its first
    bar), some bars are missing (open, high, low and close all NaN together), optionally an asset
    delists (NaN after some bar). A random gap on the final bar also ends an asset's data early,
    which the engine treats as a delisting; ``full_last_bar=True`` gives every asset a final bar.
    """
    rng = np.random.default_rng(seed)
    index = pd.date_range("2021-01-04", periods=n_bars, freq=freq, tz="UTC")
    symbols = [f"S{j}" for j in range(n_assets)]
    rets = rng.normal(0.0005, 0.02, size=(n_bars, n_assets))
    close = 20.0 * rng.uniform(0.5, 5.0, size=n_assets) * np.exp(np.cumsum(rets, axis=0))
    gap = rng.normal(0.0, 0.01, size=(n_bars, n_assets))
    open_ = np.empty_like(close)
    open_[0] = close[0] * np.exp(gap[0])
    open_[1:] = close[:-1] * np.exp(gap[1:])
    hi_ext = np.abs(rng.normal(0.0, 0.01, size=(n_bars, n_assets)))
    lo_ext = np.abs(rng.normal(0.0, 0.01, size=(n_bars, n_assets)))
    high = np.maximum(open_, close) * (1.0 + hi_ext)
    low = np.minimum(open_, close) * (1.0 - lo_ext)
    missing = np.zeros((n_bars, n_assets), dtype=bool)
    if late_listing and n_assets > 1:
        for j in range(1, n_assets, 2):
            missing[: int(rng.integers(1, n_bars // 3)), j] = True
    if gaps:
        holes = rng.random((n_bars, n_assets)) < 0.06
        holes[0, 0] = False
        missing |= holes
    if delisting and n_assets > 2:
        missing[int(rng.integers(n_bars // 2, n_bars - 3)):, 2] = True
    # the first asset always trades on the last bar so that every test has a clean final price
    missing[-1, 0] = False
    if full_last_bar:
        missing[-1, :] = False
    frames = []
    for arr in (open_, high, low, close):
        a = arr.copy()
        a[missing] = np.nan
        frames.append(pd.DataFrame(a, index=index, columns=symbols))
    return frames[0], frames[1], frames[2], frames[3]


def random_weights(seed: int, close: pd.DataFrame, *, nan_cells: float = 0.15,
                   nan_rows: float = 0.2, full_invest: float = 0.5) -> pd.DataFrame:
    """Long-only weights: rows summing to <= 1 (exactly 1 about half the time, which forces the
    buy-scaling path when there are fees), NaN cells and whole NaN rows, zeros now and then."""
    rng = np.random.default_rng(seed + 10_000)
    n_bars, n_assets = close.shape
    w = rng.dirichlet(np.ones(n_assets), size=n_bars)
    total = np.where(rng.random(n_bars) < full_invest, 1.0, rng.uniform(0.3, 1.0, size=n_bars))
    w = w * total[:, None]
    w[rng.random((n_bars, n_assets)) < 0.1] = 0.0
    w[rng.random((n_bars, n_assets)) < nan_cells] = np.nan
    w[rng.random(n_bars) < nan_rows] = np.nan
    return pd.DataFrame(w, index=close.index, columns=close.columns)


def script(steps: dict[int, Callable]):
    """A Strategy that runs ``steps[bar](ctx)`` at the given bars and nothing else."""
    from multifolio.engine.strategy import Strategy

    class Script(Strategy):
        def on_bar(self, ctx) -> None:
            step = steps.get(ctx.bar)
            if step is not None:
                step(ctx)

    return Script()
