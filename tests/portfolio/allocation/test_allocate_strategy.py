"""The ``allocate`` strategy in backtests: first investment, weights from the model on the causal window,
constraints, drift trigger, dust trades, and what it records for the analytics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.portfolio.allocation import make_model
from multifolio.strategies.allocate import Allocate
from multifolio.strategies.registry import STRATEGIES


def _close(n_bars: int = 300, n_assets: int = 6, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2021-01-04", periods=n_bars, freq="B", tz="UTC")
    vol = np.linspace(0.005, 0.03, n_assets)
    rets = rng.normal(0.0003, 1.0, size=(n_bars, n_assets)) * vol
    return pd.DataFrame(100.0 * np.exp(np.cumsum(rets, axis=0)), index=idx,
                        columns=[f"A{j}" for j in range(n_assets)])


def _rebalances(res: mf.Result) -> pd.DataFrame:
    return res.events[res.events["kind"] == "rebalance"]


def test_registered_and_described():
    assert STRATEGIES["allocate"] is Allocate
    info = Allocate(model="min_variance", schedule="weekly", max_weight=0.4).describe()
    assert info.name == "allocate" and info.params["model"]["name"] == "min_variance"
    assert info.params["schedule"] == "weekly" and info.params["max_weight"] == 0.4
    with pytest.raises(ValueError, match="lookback"):
        Allocate(lookback=0)
    with pytest.raises(ValueError, match="unknown allocation model"):
        Allocate(model="nope")


def test_invests_at_first_bar_with_history_with_the_models_weights():
    close = _close()
    lookback = 40
    res = mf.backtest(close, Allocate(model="risk_parity", lookback=lookback, schedule="monthly"))
    ev = _rebalances(res)
    first = ev.iloc[0]
    # bar 40 is the first with 40 returns, mid-month (the first month end would be bar 19 or 40+)
    assert first["timestamp"] == close.index[lookback]
    window = close.iloc[: lookback + 1].pct_change().iloc[1:].to_numpy()
    expect = make_model("risk_parity").weights(window)
    np.testing.assert_allclose(first["details"]["weights"], expect, rtol=1e-12)
    np.testing.assert_allclose(first["details"]["cov"], np.cov(window, rowvar=False), rtol=1e-12)
    buys = res.fills[res.fills["timestamp"] == close.index[lookback + 1]]
    assert len(buys) == close.shape[1]                 # filled at the next open
    # later rebalances on month ends only
    later = pd.DatetimeIndex(ev["timestamp"].iloc[1:])
    nxt = close.index[close.index.get_indexer(later) + 1] if len(later) and later[-1] != close.index[-1] \
        else None
    if nxt is not None:
        assert all(a.month != b.month for a, b in zip(later, nxt, strict=True))


def test_max_weight_and_cash_buffer_in_targets():
    close = _close(n_assets=5)
    res = mf.backtest(close, Allocate(model="inverse_volatility", lookback=30, max_weight=0.25,
                                      cash_buffer=0.1))
    for d in _rebalances(res)["details"]:
        w = np.asarray(d["weights"])
        assert w.max() <= 0.25 * 0.9 + 1e-12 and abs(w.sum() - 0.9) < 1e-12


def test_drift_trigger_rebalances_only_beyond_the_threshold():
    close = _close(n_bars=400, n_assets=4)
    strat = Allocate(model="equal_weight", lookback=20, schedule="none", drift=0.03)
    res = mf.backtest(close, strat, execution="close")
    ev = _rebalances(res)
    assert len(ev) > 1
    px = close.to_numpy()
    qty = res.positions.to_numpy()
    eq = res.snapshots["total_equity"].to_numpy()
    target = np.full(4, 0.25)
    times = set(pd.DatetimeIndex(ev["timestamp"]))
    for t in range(21, len(close)):
        # execution="close": positions at t-1 are what the decision at t sees before trading
        held_w = qty[t - 1] * px[t] / (eq[t - 1] + (qty[t - 1] * (px[t] - px[t - 1])).sum())
        drift = np.max(np.abs(held_w - target))
        assert (close.index[t] in times) == (drift > 0.03), (t, drift)


def test_min_trade_skips_dust():
    close = _close(n_assets=4)
    big = mf.backtest(close, Allocate(model="equal_weight", lookback=20, schedule=5, min_trade=0.2))
    trade_days = big.fills.loc[big.fills["reason"] != "end_of_data", "timestamp"].unique()
    assert len(trade_days) == 1       # only the first investment (0 -> 0.25); later changes are small
    small = mf.backtest(close, Allocate(model="equal_weight", lookback=20, schedule=5))
    assert len(small.fills["timestamp"].unique()) > 10


def test_top_n_universe_by_field():
    close = _close(n_assets=6)
    score = pd.DataFrame(np.tile(np.arange(6.0), (len(close), 1)), index=close.index, columns=close.columns)
    md = mf.MarketData.from_frames(close, score=score)
    res = mf.backtest(md, Allocate(model="equal_weight", lookback=20, top_n=2, score="score"))
    for d in _rebalances(res)["details"]:
        assert d["symbols"] == ["A4", "A5"]
    held = res.positions.abs().sum()
    assert set(held[held > 0].index) == {"A4", "A5"}
