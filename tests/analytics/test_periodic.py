"""Tearsheet analytics against hand calculations on constructed equity curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from mf_results import hourly, ledger_result

from multifolio.analytics.benchmark import asset_pnl_paths, equal_weight_buy_and_hold, series_benchmark
from multifolio.analytics.periodic import (
    monthly_returns,
    rolling_sharpe,
    rolling_volatility,
    rolling_window,
    top_drawdowns,
    var_cvar,
    yearly_returns,
)


def _daily_curve() -> pd.Series:
    """Daily equity over 2023-11-01 .. 2024-02-29 with known month-end values."""
    idx = pd.date_range("2023-11-01", "2024-02-29", freq="D", tz="UTC")
    eq = pd.Series(np.linspace(1000.0, 1500.0, len(idx)), index=idx)
    eq.loc["2023-11-30"] = 1100.0
    eq.loc["2023-12-31"] = 990.0
    eq.loc["2024-01-31"] = 1188.0
    eq.iloc[-1] = 1306.8
    return eq


def test_monthly_and_yearly_returns_equal_a_hand_computation():
    eq = _daily_curve()
    m = monthly_returns(eq, initial=1000.0)
    # month-end over previous month-end (the first month from the initial capital)
    assert m.loc[2023, 11] == pytest.approx(10.0)
    assert m.loc[2023, 12] == pytest.approx(-10.0)
    assert m.loc[2024, 1] == pytest.approx(20.0)
    assert m.loc[2024, 2] == pytest.approx((1306.8 / 1188.0 - 1) * 100)
    assert m.loc[2023, [1, 2, 10]].isna().all() and m.loc[2024, 3:].isna().all()
    y = yearly_returns(eq, initial=1000.0)
    assert y.loc[2023] == pytest.approx(-1.0) and y.loc[2024] == pytest.approx((1306.8 / 990 - 1) * 100)
    # months compound to the year, and the same as compounding the bar returns
    r = eq / eq.shift(1).fillna(1000.0) - 1
    by_month = (1 + r).groupby([r.index.year, r.index.month]).prod() - 1
    assert np.allclose(m.stack().dropna().to_numpy() / 100, by_month.to_numpy())


def test_monthly_returns_of_hourly_data_and_a_missing_month():
    idx = hourly(24 * 31, "2024-01-01").append(hourly(24, "2024-03-01"))
    eq = pd.Series(100.0, index=idx)
    eq.iloc[24 * 31 - 1] = 105.0
    eq.iloc[-24:] = 84.0
    m = monthly_returns(eq, initial=100.0)
    assert m.loc[2024, 1] == pytest.approx(5.0)
    assert math.isnan(m.loc[2024, 2])  # no bar in February: missing, not zero
    assert m.loc[2024, 3] == pytest.approx(-20.0)


def test_top_drawdowns_on_a_hand_made_curve():
    idx = pd.date_range("2024-01-01", periods=12, freq="D", tz="UTC")
    eq = pd.Series([100, 90, 80, 100, 110, 99, 110, 120, 60, 90, 100, 110.0], index=idx)
    dd = top_drawdowns(eq, initial=100.0, n=5)
    assert dd.attrs["unit"] == "days"
    assert dd["depth_pct"].round(9).tolist() == [50.0, 20.0, 10.0]
    deep = dd.iloc[0]
    assert deep["start"] == idx[7] and deep["trough"] == idx[8] and pd.isna(deep["recovery"])
    assert deep["length"] == 4.0 and deep["to_trough"] == 1.0 and not deep["recovered"]
    second = dd.iloc[1]
    assert second["start"] == idx[0] and second["trough"] == idx[2]
    assert second["recovery"] == idx[3] and second["length"] == 3.0 and second["to_trough"] == 2.0
    third = dd.iloc[2]
    assert (third["start"], third["trough"], third["recovery"]) == (idx[4], idx[5], idx[6])
    assert top_drawdowns(eq, initial=100.0, n=2).shape[0] == 2
    # a loss on the first bar is measured from the initial capital, one bar before it
    first = top_drawdowns(pd.Series([90.0, 95, 101], index=idx[:3]), initial=100.0)
    assert first.iloc[0]["start"] == idx[0] - pd.Timedelta(days=1) and first.iloc[0]["length"] == 3.0
    hourly_dd = top_drawdowns(pd.Series(eq.to_numpy(), index=hourly(12)), initial=100.0)
    assert hourly_dd.attrs["unit"] == "hours" and hourly_dd.iloc[0]["length"] == 4.0


def test_rolling_window_follows_the_bar_frequency_and_rolling_stats():
    assert rolling_window(hourly(10))[0] == 720
    assert rolling_window(pd.date_range("2024-01-01", periods=10, freq="4h", tz="UTC"))[0] == 180
    assert rolling_window(pd.bdate_range("2024-01-01", periods=10, tz="UTC"))[0] == 63
    assert rolling_window(pd.date_range("2024-01-01", periods=10, freq="W", tz="UTC")) == (52, "1 year")
    r = pd.Series(np.random.default_rng(1).normal(0.001, 0.01, 50))
    vol = rolling_volatility(r, 10, 252)
    sh = rolling_sharpe(r, 10, 252)
    assert vol.iloc[:9].isna().all() and sh.iloc[:9].isna().all()
    w = r.iloc[20:30].to_numpy()
    assert vol.iloc[29] == pytest.approx(np.std(w, ddof=1) * math.sqrt(252) * 100)
    assert sh.iloc[29] == pytest.approx(np.mean(w) / np.std(w, ddof=1) * math.sqrt(252))


def test_var_and_cvar_are_historical_tail_losses():
    # the metrics' (empyrical's) definitions as positive losses: the 10th percentile (linear between
    # ranks 9 and 10: -0.10 + 0.9 x 0.06) and the mean of the lowest int(99 x 0.1) + 1 = 10 returns
    r = np.array([-0.10, -0.04, -0.02, 0.0, 0.01, 0.02, 0.03, 0.03, 0.04, 0.05] * 10)
    var, cvar = var_cvar(r, 0.9)
    assert var == pytest.approx(4.6) and cvar == pytest.approx(10.0)
    # a tail of unequal losses: the lowest 3 of 21 (int(20 x 0.1) + 1), not every return below the cut
    r2 = np.r_[-0.09, -0.06, -0.03, np.zeros(18)]
    assert var_cvar(r2, 0.9)[1] == pytest.approx(6.0)
    assert cvar >= var
    with pytest.raises(ValueError, match="level"):
        var_cvar(r, 1.0)


def test_benchmarks_and_asset_paths_sum_to_the_portfolio():
    idx = hourly(6)
    close = pd.DataFrame(
        {"A": [10.0, 11, 12, 9, 10, 12], "B": [np.nan, 50.0, 40, 45, 50, 55], "C": [5.0, 5, 6, 7, 8, 9]},
        index=idx,
    )
    bench = equal_weight_buy_and_hold(close, 1000.0)
    # B has no price at the first bar: A and C share the capital
    assert bench.iloc[0] == pytest.approx(1000.0)
    assert bench.iloc[-1] == pytest.approx(500 / 10 * 12 + 500 / 5 * 9)
    assert series_benchmark(close["B"], 1000.0).iloc[-1] == pytest.approx(1100.0)
    fills = [
        (idx[0], "A", 10.0, 10.0, 0.1, "signal"),
        (idx[1], "B", 2.0, 50.0, 0.1, "signal"),
        (idx[3], "A", -10.0, 9.0, 0.09, "stop_loss"),
        (idx[4], "C", 20.0, 8.0, 0.16, "signal"),
    ]
    r = ledger_result(close.ffill().bfill(), fills, initial=1000.0)
    paths = asset_pnl_paths(r, close.ffill().bfill())
    assert np.allclose(paths.sum(axis=1).to_numpy(), (r.equity - 1000.0).to_numpy())
    assert paths.loc[idx[3], "A"] == pytest.approx(-100 - 0.1 + 90 - 0.09)
    # open positions marked at the last close: B 2 x (55 - 50) - 0.1, C 20 x (9 - 8) - 0.16
    assert np.allclose(paths.iloc[-1].to_numpy(), [-10.19, 9.9, 19.84])
    with pytest.raises(ValueError, match="closes"):
        asset_pnl_paths(r)
