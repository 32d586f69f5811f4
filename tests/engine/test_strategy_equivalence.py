"""A Strategy replaying a weights table through ``ctx.target_weights`` equals ``from_weights``.

Must show (issue 2): the same weights give the same equity through the Strategy API as through the
vectorised entry point, to 1e-12, in both execution modes, with the weights passed as an array
aligned to ``ctx.symbols`` or as a ``{symbol: weight}`` dict.

The data has NaN gaps, late listings and a delisting, the weights have NaN cells ("leave alone") and
all-NaN rows ("no rebalance"), and costs are on so that buy scaling is exercised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mf_testdata import random_market, random_weights

import multifolio as mf
from multifolio.engine.strategy import Strategy

TOL = 1e-12


def replay_strategy(weights: pd.DataFrame, form: str):
    """A Strategy that submits row ``ctx.bar`` of ``weights`` at every bar.

    ``form="array"`` passes the row as an array aligned to ``ctx.symbols`` (NaN = leave alone);
    ``form="dict"`` passes ``{symbol: weight}`` holding the row's non-NaN cells only (an asset
    absent from the dict is left alone, like a NaN cell). An all-NaN row submits nothing.
    """
    class ReplayWeights(Strategy):
        schedule = "every_bar"

        def __init__(self) -> None:
            super().__init__()
            self.table = weights
            self.rows: np.ndarray | None = None
            self.calls = 0

        def init(self, ctx) -> None:
            # align the table to the engine's symbol order once (the engine may order columns)
            self.rows = self.table.reindex(columns=list(ctx.symbols)).to_numpy(float)

        def on_bar(self, ctx) -> None:
            self.calls += 1
            row = self.rows[ctx.bar]
            if np.isnan(row).all():
                return
            if form == "array":
                ctx.target_weights(row)
            else:
                ctx.target_weights({s: float(w) for s, w in zip(ctx.symbols, row, strict=True)
                                    if not np.isnan(w)})

    return ReplayWeights()


def _same(a: np.ndarray, b: np.ndarray, scale: float, what: str) -> None:
    np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL * scale, err_msg=what)


SETTINGS = [
    # (seed, fees, fixed_fees, slippage)
    (31, 0.0, 0.0, 0.0),
    (32, 0.001, 0.0, 0.0005),
    (33, 0.002, 1.0, 0.001),
]


@pytest.mark.parametrize("form", ["array", "dict"])
@pytest.mark.parametrize("execution", ["next_open", "close"])
@pytest.mark.parametrize("seed,fees,fixed_fees,slippage", SETTINGS)
def test_strategy_target_weights_equals_from_weights(seed, fees, fixed_fees, slippage, execution,
                                                     form):
    open_, high, low, close = random_market(seed, n_bars=70, n_assets=5, delisting=True)
    weights = random_weights(seed, close)
    cash = 250_000.0
    kw = dict(cash=cash, fees=fees, fixed_fees=fixed_fees, slippage=slippage, execution=execution)

    vec = mf.from_weights(close, weights, open=open_, **kw)
    data = mf.MarketData.from_frames(close, open=open_, high=high, low=low)
    strat = replay_strategy(weights, form)
    res = mf.backtest(data, strat, **kw)

    assert strat.calls == len(close)            # every_bar: on_bar ran once per bar
    assert list(res.equity.index) == list(vec.equity.index) == list(close.index)
    _same(res.equity.to_numpy(float), vec.equity.to_numpy(float), cash, "equity")
    for col in ("cash", "fees_paid", "total_equity"):
        _same(res.snapshots[col].to_numpy(float), vec.snapshots[col].to_numpy(float), cash, col)
    pos_a = res.positions.reindex(columns=list(close.columns)).to_numpy(float)
    pos_b = vec.positions.reindex(columns=list(close.columns)).to_numpy(float)
    _same(pos_a, pos_b, float(np.abs(pos_b).max()), "positions")
    # the same fills, one by one
    assert len(res.fills) == len(vec.fills) > 20
    fa = res.fills.sort_values(["timestamp", "symbol"], kind="stable")
    fb = vec.fills.sort_values(["timestamp", "symbol"], kind="stable")
    assert fa["timestamp"].tolist() == fb["timestamp"].tolist()
    assert fa["symbol"].tolist() == fb["symbol"].tolist()
    for col in ("qty", "price", "fee"):
        _same(fa[col].to_numpy(float), fb[col].to_numpy(float),
              float(np.abs(fb[col].to_numpy(float)).max()), f"fills.{col}")


def test_replay_is_not_trivially_equal():
    """Guard against a vacuous pass: replaying the weights shifted by one bar changes the equity."""
    open_, high, low, close = random_market(32, n_bars=70, n_assets=5)
    weights = random_weights(32, close)
    data = mf.MarketData.from_frames(close, open=open_, high=high, low=low)
    vec = mf.from_weights(close, weights, open=open_, cash=1e5, fees=0.001)
    res = mf.backtest(data, replay_strategy(weights.shift(1), "array"), cash=1e5, fees=0.001)
    rel = np.abs(res.equity.to_numpy(float) / vec.equity.to_numpy(float) - 1.0)
    assert rel.max() > 1e-6


@pytest.mark.parametrize("execution", ["next_open", "close"])
def test_scheduled_strategy_equals_sparse_weights(execution):
    """A Strategy deciding every 5th bar (``schedule = 5``) equals from_weights with the other rows
    all-NaN (no rebalance): the bars without a decision cost nothing and change nothing."""
    open_, high, low, close = random_market(34, n_bars=60, n_assets=4)
    weights = random_weights(34, close, nan_rows=0.0)
    sparse = weights.copy()
    sparse.iloc[np.arange(len(sparse)) % 5 != 0] = np.nan
    kw = dict(cash=100_000.0, fees=0.001, slippage=0.0005, execution=execution)
    vec = mf.from_weights(close, sparse, open=open_, **kw)
    strat = replay_strategy(weights, "array")
    strat.schedule = 5
    res = mf.backtest(mf.MarketData.from_frames(close, open=open_, high=high, low=low), strat,
                      **kw)
    assert strat.calls == len(range(0, 60, 5))
    _same(res.equity.to_numpy(float), vec.equity.to_numpy(float), 100_000.0, "equity")
    assert len(res.fills) == len(vec.fills) > 10
