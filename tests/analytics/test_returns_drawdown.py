"""Returns, annualisation and drawdowns on hand-computed paths."""

from __future__ import annotations

import doctest
import importlib
import math
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mf_results import hourly

from multifolio.analytics import returns as R
from multifolio.analytics.drawdown import (
    drawdown_episodes,
    drawdown_series,
    drawdown_summary,
    max_drawdown_pct,
)


@pytest.mark.parametrize("name", ["analytics.returns", "analytics.drawdown", "analytics.concurrency",
                                  "analytics.kill_switch", "analytics.per_asset", "analytics.five_answers",
                                  "report.json_report", "report.terminal", "report.html"])
def test_docstring_examples_run(name):
    module = importlib.import_module(f"multifolio.{name}")
    failed, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failed == 0


def test_periods_per_year_by_frequency():
    assert R.periods_per_year(hourly(48)) == pytest.approx(365.25 * 24)
    assert R.periods_per_year(pd.date_range("2024-01-01", periods=30, freq="4h", tz="UTC")) == 365.25 * 6
    # 24/7 daily data (weekends present) vs business days (weekends skipped)
    assert R.periods_per_year(pd.date_range("2024-01-01", periods=30, freq="D", tz="UTC")) == 365.25
    assert R.periods_per_year(pd.bdate_range("2024-01-01", periods=30, tz="UTC")) == 252.0
    # an explicit freq wins over the index spacing; a single bar without freq has no frequency
    assert R.periods_per_year(hourly(1), pd.Timedelta("1h")) == pytest.approx(8766.0)
    assert math.isnan(R.periods_per_year(hourly(1)))
    with pytest.raises(ValueError, match="freq must be positive"):
        R.periods_per_year(hourly(3), pd.Timedelta(0))


def test_period_days_counts_the_first_bar():
    assert R.period_days(hourly(2160)) == pytest.approx(90.0)
    assert R.period_days(hourly(0)) == 0.0


def test_bar_returns_start_from_initial_capital():
    eq = pd.Series([99.0, 108.9, 98.01], index=hourly(3))
    assert R.bar_returns(eq, initial=100.0).tolist() == pytest.approx([-0.01, 0.1, -0.1])
    assert R.bar_returns(eq).tolist() == pytest.approx([0.1, -0.1])
    with pytest.raises(ValueError, match="initial capital"):
        R.bar_returns(eq, initial=0.0)


def test_cagr_and_total_return():
    assert R.total_return_pct(121.0, 100.0) == pytest.approx(21.0)
    assert R.cagr_pct(121.0, 100.0, 2 * 365.25) == pytest.approx(10.0)
    assert R.cagr_pct(50.0, 100.0, 365.25) == pytest.approx(-50.0)
    assert R.cagr_pct(0.0, 100.0, 10.0) == -100.0
    assert math.isnan(R.cagr_pct(110.0, 100.0, 0.0))


def test_volatility_sharpe_sortino_match_textbook_formulas():
    r = pd.Series([0.01, -0.02, 0.03, 0.005, -0.01])
    ppy = 8766.0
    mean, sd = statistics.mean(r), statistics.stdev(r)
    assert R.volatility_pct(r, ppy) == pytest.approx(sd * math.sqrt(ppy) * 100)
    assert R.sharpe_ratio(r, ppy) == pytest.approx(mean / sd * math.sqrt(ppy))
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r))
    assert R.sortino_ratio(r, ppy) == pytest.approx(mean / downside * math.sqrt(ppy))
    # degenerate cases: constant returns, no losing bar, too few bars
    assert math.isnan(R.sharpe_ratio(pd.Series([0.01, 0.01, 0.01]), ppy))
    assert R.sortino_ratio(pd.Series([0.01, 0.02]), ppy) == math.inf
    assert math.isnan(R.volatility_pct(pd.Series([0.01]), ppy))


def test_drawdown_on_a_known_path():
    # initial 100; peaks 110 then 121; falls of 20% (00:00 -> 03:00) and 50% (03:00 -> 05:00)
    eq = pd.Series([110.0, 88.0, 99.0, 121.0, 60.5, 121.0, 130.0], index=hourly(7))
    dd = drawdown_series(eq, initial=100.0)
    assert dd.tolist() == pytest.approx([0.0, -20.0, -10.0, 0.0, -50.0, 0.0, 0.0])
    ep = drawdown_episodes(eq, initial=100.0)
    assert len(ep) == 2
    first, second = ep.iloc[0], ep.iloc[1]
    t = eq.index
    assert (first["peak_time"], first["trough_time"], first["recovery_time"]) == (t[0], t[1], t[3])
    assert first["depth_pct"] == pytest.approx(20.0) and first["duration_hours"] == 3.0
    assert (second["peak_time"], second["trough_time"], second["recovery_time"]) == (t[3], t[4], t[5])
    assert second["depth_pct"] == pytest.approx(50.0) and second["duration_hours"] == 2.0
    s = drawdown_summary(eq, initial=100.0)
    # the deepest episode is 50%, the longest one (3 h) is the first
    assert s["max_drawdown_pct"] == pytest.approx(50.0)
    assert s["max_drawdown_duration_hours"] == 3.0 and s["deepest_drawdown_duration_hours"] == 2.0
    assert s["max_drawdown_peak_time"] == t[3] and s["max_drawdown_recovery_time"] == t[5]
    assert s["time_underwater_pct"] == pytest.approx(3 / 7 * 100)


def test_unrecovered_drawdown_runs_to_the_last_bar():
    eq = pd.Series([100.0, 90.0, 95.0, 92.0], index=hourly(4))
    ep = drawdown_episodes(eq, initial=100.0)
    assert len(ep) == 1
    row = ep.iloc[0]
    assert row["peak_time"] == eq.index[0] and pd.isna(row["recovery_time"]) and not row["recovered"]
    assert row["end_time"] == eq.index[-1] and row["duration_hours"] == 3.0
    assert row["depth_pct"] == pytest.approx(10.0)
    assert drawdown_summary(eq, initial=100.0)["max_drawdown_recovery_time"] is None


def test_loss_on_the_first_bar_is_a_drawdown_from_the_initial_capital():
    eq = pd.Series([95.0, 100.0, 101.0], index=hourly(3))
    ep = drawdown_episodes(eq, initial=100.0)
    assert len(ep) == 1
    # the path starts one bar before the first bar, at the initial capital
    assert ep.iloc[0]["peak_time"] == eq.index[0] - pd.Timedelta("1h")
    assert ep.iloc[0]["recovery_time"] == eq.index[1]
    assert ep.iloc[0]["duration_hours"] == 2.0
    assert ep.iloc[0]["depth_pct"] == pytest.approx(5.0)
    # without the initial capital, the first bar is its own peak
    assert len(drawdown_episodes(eq)) == 0


def test_flat_and_noisy_paths_have_no_drawdown():
    flat = pd.Series(1000.0, index=hourly(10))
    assert max_drawdown_pct(flat, initial=1000.0) == 0.0
    assert len(drawdown_episodes(flat, initial=1000.0)) == 0
    noisy = pd.Series([1000.0, 1000.0 * (1 - 1e-15), 1000.0], index=hourly(3))
    assert len(drawdown_episodes(noisy, initial=1000.0)) == 0
    s = drawdown_summary(flat, initial=1000.0)
    assert s["max_drawdown_pct"] == 0.0 and s["max_drawdown_duration_hours"] == 0.0


def test_bad_equity_is_named():
    eq = pd.Series([100.0, np.nan, 90.0], index=hourly(3))
    with pytest.raises(ValueError, match="non-finite value at 2024-01-01 01:00"):
        drawdown_episodes(eq)
    with pytest.raises(TypeError, match="pandas Series"):
        drawdown_series([1.0, 2.0])
    with pytest.raises(ValueError, match="DatetimeIndex"):
        drawdown_series(pd.Series([1.0, 2.0]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1.0, max_value=1000.0), min_size=1, max_size=40),
       st.floats(min_value=1.0, max_value=1000.0))
def test_max_drawdown_equals_brute_force(values, initial):
    eq = pd.Series(values, index=hourly(len(values)))
    path = [initial] + list(values)
    brute = max(1 - path[j] / max(path[: j + 1]) for j in range(len(path))) * 100
    assert max_drawdown_pct(eq, initial) == pytest.approx(brute, abs=1e-9)
    ep = drawdown_episodes(eq, initial)
    if brute > 1e-8:
        assert ep["depth_pct"].max() == pytest.approx(brute, abs=1e-9)
    # episodes do not overlap, and each recovery reaches its peak again
    for (_, a), (_, b) in zip(ep.iloc[:-1].iterrows(), ep.iloc[1:].iterrows(), strict=True):
        assert a["end_time"] <= b["peak_time"]
    for _, row in ep[ep["recovered"]].iterrows():
        assert eq[row["recovery_time"]] >= row["peak_equity"] * (1 - 1e-12)
