"""Built-in strategies (EqualWeight, TopN, SmaCross), schedules and the registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.engine.strategy import decision_mask
from multifolio.strategies import EqualWeight, SmaCross, TopN
from multifolio.strategies.registry import STRATEGIES
from multifolio.strategies.top_n import momentum, top_k_weight_matrix, top_k_weights


def _close(n_bars: int = 60, n_assets: int = 4, seed: int = 0, freq: str = "D") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-01", periods=n_bars, freq=freq, tz="UTC")
    rets = rng.normal(0.0005, 0.02, size=(n_bars, n_assets))
    return pd.DataFrame(50.0 * np.exp(np.cumsum(rets, axis=0)), index=idx,
                        columns=[f"A{j}" for j in range(n_assets)])


def test_decision_mask_calendar_and_every_n():
    idx = pd.date_range("2024-01-29", periods=10, freq="D", tz="UTC")   # Mon 29 Jan .. Wed 7 Feb
    monthly = decision_mask(idx, "monthly")
    # the run's first bar, the month end, the last bar
    assert idx[monthly].strftime("%m-%d").tolist() == ["01-29", "01-31", "02-07"]
    weekly = decision_mask(idx, "weekly")
    assert idx[weekly].strftime("%a %m-%d").tolist() == ["Mon 01-29", "Sun 02-04", "Wed 02-07"]
    assert decision_mask(idx, 3).nonzero()[0].tolist() == [0, 3, 6, 9]
    hourly = pd.date_range("2024-01-01 22:00", periods=4, freq="h", tz="UTC")
    assert decision_mask(hourly, "daily").tolist() == [True, True, False, True]
    # a run starting at bar 3 (Thu 1 Feb) after three warm-up bars: its first bar, then the calendar
    # (bars before the start are warm-up; the simulator clears them, month end 31 Jan included)
    assert idx[decision_mask(idx, "monthly", start_bar=3)].strftime("%m-%d").tolist() == \
        ["01-31", "02-01", "02-07"]
    assert decision_mask(idx, 3, start_bar=1).nonzero()[0].tolist() == [1, 4, 7]
    with pytest.raises(ValueError, match=r"start_bar must be in \[0, 9\], got 10"):
        decision_mask(idx, "monthly", start_bar=10)
    with pytest.raises(ValueError, match="schedule"):
        decision_mask(idx, "yearly")
    with pytest.raises(ValueError, match="schedule"):
        decision_mask(idx, 0)


def test_equal_weight_monthly_equals_from_weights_on_month_ends():
    close = _close(90)
    res = mf.backtest(close, EqualWeight(schedule="monthly"), cash=100_000.0, fees=0.001)
    mask = decision_mask(close.index, "monthly")
    w = pd.DataFrame(np.where(mask[:, None], np.full(close.shape, 0.25), np.nan), index=close.index,
                     columns=close.columns)
    ref = mf.from_weights(close, w, cash=100_000.0, fees=0.001)
    np.testing.assert_allclose(res.equity.to_numpy(), ref.equity.to_numpy(), rtol=1e-12)
    # decisions on the first bar (1 Jan) and each month end (31 Jan, 29 Feb; 30 Mar is the last bar,
    # nothing fills after it): fills at the next opens
    days = sorted(set(res.fills.loc[res.fills["reason"] == "rebalance", "timestamp"]))
    assert [d.strftime("%m-%d") for d in days] == ["01-02", "02-01", "03-01"]


def test_top_k_matrix_matches_row_by_row_selection_with_ties():
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(1, 10))
        k = int(rng.integers(1, 6))
        s = rng.integers(0, 3, size=(4, n)).astype(float)   # many ties
        s[rng.random((4, n)) < 0.3] = np.nan
        m = top_k_weight_matrix(s, k)
        for t in range(4):
            if not np.isfinite(s[t]).any():
                assert np.isnan(m[t]).all()
            else:
                np.testing.assert_array_equal(m[t], top_k_weights(s[t], k))
    assert top_k_weights(np.array([1.0, 2.0, 2.0, 0.5]), 2).tolist() == [0.0, 0.5, 0.5, 0.0]
    assert top_k_weights(np.array([2.0, 2.0, 2.0]), 2).tolist() == [0.5, 0.5, 0.0]


def test_top_n_holds_the_momentum_leaders():
    close = _close(80, 6, seed=3)
    res = mf.backtest(close, TopN(k=2, lookback=10, schedule="every_bar"), cash=10_000.0,
                      execution="close", close_at_end=False)
    mom = momentum(close.to_numpy(), 10)
    held = res.positions.to_numpy() > 0
    for t in range(10, 80):
        leaders = set(np.argsort(-mom[t], kind="stable")[:2])
        assert set(np.nonzero(held[t])[0]) == leaders, t
    assert not held[:10].any()                   # nothing before the lookback is warm


def test_top_n_by_score_field_and_equivalence_with_from_weights():
    close = _close(50, 5, seed=4)
    score = pd.DataFrame(np.random.default_rng(9).normal(size=close.shape), index=close.index,
                         columns=close.columns)
    data = mf.MarketData.from_frames(close=close, signal=score)
    res = mf.backtest(data, TopN(k=2, score="signal", schedule="every_bar"), cash=5_000.0, fees=0.002)
    w = pd.DataFrame(top_k_weight_matrix(score.to_numpy(), 2), index=close.index, columns=close.columns)
    ref = mf.from_weights(close, w, cash=5_000.0, fees=0.002)
    np.testing.assert_allclose(res.equity.to_numpy(), ref.equity.to_numpy(), rtol=1e-12)


def test_sma_cross_enters_and_exits_on_crosses_only():
    idx = pd.date_range("2024-01-01", periods=12, freq="D", tz="UTC")
    # rises (fast SMA above slow from bar 3), then falls below (exit)
    prices = [10, 10, 10, 11, 12, 13, 14, 13, 11, 9, 8, 7]
    close = pd.DataFrame({"X": prices, "Y": [20.0] * 12}, index=idx, dtype=float)
    res = mf.backtest(close, SmaCross(fast=2, slow=3), cash=1_000.0, execution="close",
                      close_at_end=False)
    f = res.fills
    assert f["symbol"].astype(str).tolist() == ["X", "X"]
    buy, sell = f.iloc[0], f.iloc[1]
    # fast SMA(2) > slow SMA(3) first at bar 3 (10.5 > 10.33); weight 1/2 of 1000 at 11
    assert buy["timestamp"] == idx[3] and buy["qty"] == pytest.approx(500.0 / 11.0)
    # bar 8: SMA2 = 12 < SMA3 = 12.33 -> exit the whole position at 11
    assert sell["timestamp"] == idx[8] and sell["qty"] == pytest.approx(-500.0 / 11.0)
    assert res.trades["pnl"].iloc[0] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("cls,kwargs,param", [
    (TopN, {"k": 0}, "k"), (TopN, {"lookback": -1}, "lookback"), (TopN, {"schedule": "hourly"}, "schedule"),
    (SmaCross, {"fast": 20, "slow": 10}, "fast"), (EqualWeight, {"schedule": 0}, "schedule"),
])
def test_bad_parameters_name_the_parameter(cls, kwargs, param):
    with pytest.raises(ValueError, match=param):
        cls(**kwargs)


def test_registry_lists_every_builtin_with_documented_params():
    assert {"equal_weight", "top_n", "sma_cross", "grid_atr"} <= set(STRATEGIES)
    for name, cls in STRATEGIES.items():
        assert cls.PARAMS, name
        for pname, spec in cls.PARAMS.items():
            assert len(spec) == 3 and isinstance(spec[2], str) and spec[2], (name, pname)
