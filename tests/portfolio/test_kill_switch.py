"""Kill switch and drawdown breaker on the engine: triggers, episodes, and the three modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.data import MarketData
from multifolio.engine.strategy import Strategy
from multifolio.portfolio.risk import RISK_RULES, KillSwitch, MaxDrawdownBreaker, make_rule


class Hold(Strategy):
    """Fully invested, equal weight, re-targeted on every decision bar."""

    def on_bar(self, ctx):
        ctx.target_weights(np.full(ctx.n_assets, 1.0 / ctx.n_assets))


def hourly(close: np.ndarray) -> MarketData:
    close = np.asarray(close, dtype=np.float64).reshape(len(close), -1)
    idx = pd.date_range("2024-03-01", periods=len(close), freq="h", tz="UTC")
    cols = [f"S{j}" for j in range(close.shape[1])]
    return MarketData.from_frames(close=pd.DataFrame(close, index=idx, columns=cols))


def fall_path(depth: float = 0.35, bars: int = 24, before: int = 30, after: int = 60) -> np.ndarray:
    """Flat at 100, a linear fall of ``depth`` over ``bars`` hours, then flat."""
    fall = 100.0 * (1.0 - depth * np.arange(1, bars + 1) / bars)
    return np.r_[np.full(before, 100.0), fall, np.full(after, fall[-1])]


def events_of(res, kind="kill_switch") -> pd.DataFrame:
    ev = res.events
    return ev[ev["kind"] == kind] if len(ev) else ev


def test_a_35pct_fall_within_24h_fires_exactly_once_with_hand_computed_details():
    md = hourly(fall_path())
    rule = KillSwitch(window=24, threshold=30)
    res = mf.backtest(md, Hold(), cash=10_000.0, execution="close", risk=[rule])
    ev = events_of(res)
    assert len(ev) == 1
    # equity = 100 x price; the first price <= 70 is 100 - 35 x 21/24 = 69.375, at bar 30 + 20
    assert ev["timestamp"].iloc[0] == md.index[50]
    d = ev["details"].iloc[0]
    assert d["start"] == md.index[29]          # the last bar at the 10,000 peak
    assert d["peak"] == pytest.approx(10_000.0)
    assert d["trigger_equity"] == pytest.approx(6_937.5)
    assert d["trigger_depth_pct"] == pytest.approx(30.625)
    # the episode's trough: the fall ends at 65 (bar 30 + 23), still in breach -> 6,500, 35% below peak
    assert d["trough"] == pytest.approx(6_500.0)
    assert d["trough_time"] == md.index[53]
    assert d["depth_pct"] == pytest.approx(35.0)
    assert (d["window_hours"], d["threshold_pct"], d["action"]) == (24.0, 30.0, "record")
    # record mode changes nothing: still invested at the end of the fall
    assert res.positions["S0"].iloc[60] == pytest.approx(100.0)
    assert rule.triggers == 1
    assert rule.episodes[0] is d  # the event shows what the rule knows at the end of the run
    # re-armed on the first bar whose 24 h window no longer holds a peak 30% above the equity
    eq = res.equity.to_numpy()
    peak = pd.Series(eq).rolling(25, min_periods=1).max().to_numpy()
    rearm = next(t for t in range(51, len(eq)) if eq[t] > 0.7 * peak[t])
    assert 53 < rearm < 53 + 24
    assert rule.episodes[0]["end"] == md.index[rearm]


def test_a_slow_fall_of_the_same_depth_does_not_fire():
    md = hourly(fall_path(depth=0.5, bars=200))
    res = mf.backtest(md, Hold(), cash=10_000.0, execution="close", risk=[KillSwitch(24, 30)])
    assert len(events_of(res)) == 0


def test_two_separate_crashes_are_two_episodes():
    path = np.r_[fall_path(after=40), fall_path(before=0, after=40)[:] * 0.65]
    md = hourly(path)
    res = mf.backtest(md, Hold(), cash=10_000.0, execution="close", risk=[KillSwitch(24, 30)])
    assert len(events_of(res)) == 2


def test_flatten_closes_everything_and_pauses_the_strategy_for_the_window():
    path = np.column_stack([fall_path(), fall_path() * 2.0])
    md = hourly(path)
    res = mf.backtest(md, Hold(), cash=10_000.0, execution="close",
                      risk=[KillSwitch(24, 30, mode="flatten")])
    ev = events_of(res)
    assert len(ev) == 1 and ev["details"].iloc[0]["action"] == "flatten"
    t = md.index.get_loc(ev["timestamp"].iloc[0])
    closes = res.fills[res.fills["reason"] == "kill_switch"]
    assert sorted(closes["symbol"]) == ["S0", "S1"]
    pos = res.positions.to_numpy()
    flat_from = md.index.get_loc(closes["timestamp"].max())
    assert (pos[flat_from: t + 24] == 0.0).all()            # nothing held while paused
    buys_after = res.fills[(res.fills["qty"] > 0) & (res.fills["timestamp"] > md.index[t])]
    assert buys_after["timestamp"].min() >= md.index[t + 24]  # decisions resume after the window
    assert (pos[-2] > 0).all()          # ... and the strategy re-enters (the last bar closes at end)


def test_halt_closes_everything_and_stops_trading():
    md = hourly(fall_path())
    res = mf.backtest(md, Hold(), cash=10_000.0, execution="close", risk=[KillSwitch(24, 30, mode="halt")])
    ev = events_of(res)
    assert len(ev) == 1
    t = md.index.get_loc(ev["timestamp"].iloc[0])
    assert (res.fills["timestamp"] > md.index[t + 1]).sum() == 0
    assert res.positions["S0"].iloc[-1] == 0.0
    assert res.fills["reason"].iloc[-1] == "kill_switch"


def test_triggers_match_a_brute_force_rolling_peak_on_a_volatile_path():
    rng = np.random.default_rng(11)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.04, size=(1500, 3)), axis=0))
    md = hourly(close)
    window, thr = 12, 15.0
    res = mf.backtest(md, Hold(), cash=10_000.0, execution="close", leverage=2.0,
                      risk=[KillSwitch(window, thr)])
    eq = res.equity.to_numpy()
    peak = pd.Series(eq).rolling(window + 1, min_periods=1).max().to_numpy()
    breach = eq <= peak * (1 - thr / 100)
    expected = md.index[breach & ~np.r_[False, breach[:-1]]]
    got = pd.DatetimeIndex(events_of(res)["timestamp"])
    assert len(expected) >= 3
    assert got.equals(expected)


def test_max_drawdown_breaker_fires_once_from_the_all_time_peak():
    path = fall_path(depth=0.5, bars=200)  # slow: the 24 h kill switch would never fire
    md = hourly(path)
    res = mf.backtest(md, Hold(), cash=10_000.0, execution="close",
                      risk=[MaxDrawdownBreaker(threshold=25, mode="halt")])
    ev = events_of(res, "max_drawdown")
    assert len(ev) == 1
    first = int(np.flatnonzero(path <= 75.0)[0])
    assert ev["timestamp"].iloc[0] == md.index[first]
    assert res.positions["S0"].iloc[-1] == 0.0


@pytest.mark.parametrize("kwargs, msg", [
    ({"window": 0}, "window must be > 0"), ({"threshold": 0}, r"threshold .* \(0, 100\)"),
    ({"threshold": 120}, r"\(0, 100\)"), ({"mode": "stop"}, "mode must be one of"),
])
def test_kill_switch_rejects_bad_parameters(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        KillSwitch(**kwargs)


def test_registry_and_rule_specs():
    assert RISK_RULES["kill_switch"] is KillSwitch
    rule = make_rule({"rule": "kill_switch", "window": 48, "threshold": 20, "mode": "flatten"})
    assert (rule.window, rule.threshold, rule.mode) == (48.0, 20.0, "flatten")
    with pytest.raises(ValueError, match="unknown risk rule 'kill'"):
        make_rule("kill")
