"""Benchmarks and per-asset equity paths for the tearsheet.

* :func:`equal_weight_buy_and_hold`: the run's universe bought in equal parts at the first bar's close
  and held (no rebalancing, no costs). Assets without a close at the first bar are left out; an asset
  whose prices stop is held at its last close.
* :func:`series_benchmark`: any price series (a symbol's closes, an index) scaled to the capital.
* :func:`asset_pnl_paths`: each asset's cumulative PnL at every bar, from the fills (cash flows, fees
  included) and the held quantity marked at the close; with every position priced, the columns sum to
  ``equity - initial capital`` bar by bar.

>>> import pandas as pd
>>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
>>> close = pd.DataFrame({"A": [10.0, 11.0, 12.0], "B": [100.0, 90.0, 80.0]}, index=idx)
>>> equal_weight_buy_and_hold(close, 1000.0).tolist()
[1000.0, 1000.0, 1000.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["asset_pnl_paths", "equal_weight_buy_and_hold", "series_benchmark"]


def equal_weight_buy_and_hold(close: pd.DataFrame, capital: float) -> pd.Series:
    """Equity of ``capital`` split equally over the assets priced at the first bar and held."""
    if len(close) == 0:
        return pd.Series(dtype=float, name="benchmark")
    prices = close.astype(float).ffill()
    first = prices.iloc[0]
    held = first[np.isfinite(first.to_numpy()) & (first.to_numpy() > 0)]
    if len(held) == 0:
        return pd.Series(np.nan, index=close.index, name="benchmark")
    qty = float(capital) / len(held) / held
    value = prices[held.index].mul(qty, axis=1).sum(axis=1, min_count=1)
    return value.rename("benchmark")


def series_benchmark(prices: pd.Series, capital: float, index: pd.DatetimeIndex | None = None) -> pd.Series:
    """``prices`` scaled so that its first valid value equals ``capital`` (reindexed to ``index``).

    >>> import pandas as pd
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    >>> series_benchmark(pd.Series([50.0, 55.0, 45.0], index=idx), 1000.0).tolist()
    [1000.0, 1100.0, 900.0]
    """
    s = prices.astype(float)
    if index is not None:
        s = s.reindex(index, method="ffill")
    valid = s.dropna()
    if len(valid) == 0 or not valid.iloc[0] > 0:
        return pd.Series(np.nan, index=s.index, name="benchmark")
    return (s / float(valid.iloc[0]) * float(capital)).rename("benchmark")


def asset_pnl_paths(result: Any, close: pd.DataFrame | None = None) -> pd.DataFrame:
    """T x N cumulative PnL per asset (account currency); needs the closes (``result.close``).

    PnL_i(t) = sum of the asset's fill cash flows up to t (``-qty x price - fee``) + held_i(t) x
    close_i(t) (last known close). Raises ``ValueError`` without closes.
    """
    close = close if close is not None else getattr(result, "close", None)
    if close is None:
        raise ValueError("asset_pnl_paths needs the run's closes (result.close)")
    index = pd.DatetimeIndex(result.equity.index)
    symbols = list(result.symbols)
    prices = close.reindex(index).reindex(columns=symbols).astype(float).ffill()
    fills = result.fills
    flows = pd.DataFrame(0.0, index=index, columns=symbols)
    if len(fills):
        f = fills.assign(
            cf=-fills["qty"].astype(float) * fills["price"].astype(float) - fills["fee"].astype(float)
        )
        g = f.groupby([pd.DatetimeIndex(f["timestamp"]), "symbol"])["cf"].sum().unstack("symbol")
        g = g.reindex(columns=symbols, fill_value=0.0)
        # a fill always lands on a bar of the result; anything else joins the next bar
        pos = index.searchsorted(g.index, side="left").clip(0, len(index) - 1)
        add = g.fillna(0.0).groupby(pos).sum()
        flows.iloc[add.index.to_numpy()] = add.to_numpy()
    positions = result.positions.reindex(index).reindex(columns=symbols).fillna(0.0).astype(float)
    marked = (positions * prices).where(positions != 0, 0.0)
    return flows.cumsum() + marked
