"""Top-k momentum target weights, computed for all bars at once (no loop over bars or assets).

The benchmark feeds the same weight frame to multifolio ``from_weights``, vectorbt, bt and backtrader,
so that differences in the results come from the engines, not from the signal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def topn_momentum_weights(close: pd.DataFrame, k: int = 25, lookback: int = 20) -> pd.DataFrame:
    """Equal weights 1/k on the k assets with the highest ``lookback``-bar momentum at each bar.

    Momentum at bar t is ``close[t] / close[t - lookback] - 1``, so it uses data up to t only.
    Rules (chosen to be deterministic and NaN-safe):

    - An asset whose momentum is NaN (missing close at t or t - lookback) cannot be selected.
    - Ties are broken by column order (the earlier column wins): a stable sort on momentum.
    - When fewer than k assets have a momentum, only those are held, still at 1/k each (the rest of
      the capital stays in cash), so a weight never exceeds 1/k.
    - A bar where no asset has a momentum (the warm-up) is an all-NaN row: "do not rebalance".
    - An asset without a close at t gets NaN ("leave it alone"): it cannot be traded then anyway.

    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D")
    >>> c = pd.DataFrame({"A": [1.0, 2.0, 4.0], "B": [1.0, 3.0, 3.0], "C": [1.0, 1.0, 8.0]}, index=idx)
    >>> topn_momentum_weights(c, k=1, lookback=1).to_numpy().tolist()
    [[nan, nan, nan], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if not isinstance(close, pd.DataFrame):
        raise TypeError(f"topn_momentum_weights: close must be a DataFrame, got {type(close).__name__}")
    if k < 1 or lookback < 1:
        raise ValueError(f"topn_momentum_weights: k and lookback must be >= 1, got k={k}, "
                         f"lookback={lookback}")
    px = close.to_numpy(dtype=np.float64)
    n_bars, n_assets = px.shape
    mom = np.full_like(px, np.nan)
    if n_bars > lookback:
        with np.errstate(divide="ignore", invalid="ignore"):
            mom[lookback:] = px[lookback:] / px[:-lookback] - 1.0
    mom[~np.isfinite(mom)] = np.nan
    valid = ~np.isnan(mom)
    # Sort key: descending momentum, NaN last. A stable sort keeps column order among equal keys.
    key = np.where(valid, -mom, np.inf)
    order = np.argsort(key, axis=1, kind="stable")[:, : min(k, n_assets)]
    weights = np.zeros_like(px)
    rows = np.arange(n_bars)[:, None]
    chosen_valid = valid[rows, order]
    weights[rows, order] = np.where(chosen_valid, 1.0 / k, 0.0)
    weights[np.isnan(px)] = np.nan
    weights[~valid.any(axis=1)] = np.nan
    return pd.DataFrame(weights, index=close.index, columns=close.columns)
