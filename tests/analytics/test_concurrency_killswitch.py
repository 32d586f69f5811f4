"""Fill concurrency, crash bars and kill-switch episodes on hand-built paths."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mf_results import EVENT_COLS, equity_result, hourly, ledger_result, run_info

from multifolio.analytics.concurrency import (
    concurrency_distribution,
    crash_bars,
    equal_weight_index,
    fill_concurrency,
    window_to_bars,
)
from multifolio.analytics.kill_switch import (
    kill_switch_config,
    kill_switch_episodes,
    kill_switch_events,
    kill_switch_summary,
)
from multifolio.portfolio.risk import KillSwitch


def test_equal_weight_index_skips_missing_bars():
    idx = hourly(4)
    close = pd.DataFrame({"A": [100.0, 110.0, 121.0, 121.0], "B": [np.nan, 50.0, 45.0, np.nan]}, index=idx)
    ew = equal_weight_index(close)
    # bar 1: only A has two closes (+10%); bar 2: mean(+10%, -10%) = 0; bar 3: A flat, B missing
    assert ew.tolist() == pytest.approx([1.0, 1.1, 1.1, 1.1])
    with pytest.raises(ValueError, match="non-positive close for 'B' at 2024-01-01 02:00"):
        equal_weight_index(close.assign(B=[np.nan, 50.0, 0.0, 1.0]))


def test_crash_bars_window_and_threshold():
    idx = hourly(8)
    # the index falls 5% per bar for 3 bars then recovers
    a = [100, 95, 90.25, 85.7375, 100, 100, 100, 100.0]
    close = pd.DataFrame({"A": a, "B": a}, index=idx)
    # over 1 bar the fall is 5% at most; over 2 bars 9.75%; over 3 bars 14.26%
    assert not crash_bars(close, 9.0, 1).any()
    assert crash_bars(close, 9.75, 2).tolist() == [False, False, True, True, False, False, False, False]
    assert crash_bars(close, 14.0, 3).tolist() == [False, False, False, True, False, False, False, False]
    with pytest.raises(ValueError, match="crash_pct"):
        crash_bars(close, 0, 2)
    with pytest.raises(ValueError, match="window_bars"):
        crash_bars(close, 5, 0)
    assert window_to_bars(24, pd.Timedelta("1h")) == 24
    assert window_to_bars(24, pd.Timedelta("4h")) == 6
    assert window_to_bars(1, pd.Timedelta("1D")) == 1


def _crash_run():
    """Three assets; all dip together at bars 10-13 and every one of them gets filled."""
    idx = hourly(24)
    base = np.full(24, 100.0)
    base[10:14] = [92.0, 85.0, 80.0, 85.0]
    close = pd.DataFrame({"A": base, "B": base * 0.5, "C": base * 2.0}, index=idx)
    fills = [(idx[2], "A", 1.0, 100.0, 0.0, "signal"),     # A alone before the crash
             (idx[5], "A", -1.0, 100.0, 0.0, "signal"),
             (idx[11], "A", 1.0, 85.0, 0.0, "signal"),     # all three fill in the crash
             (idx[11], "B", 2.0, 42.5, 0.0, "signal"),
             (idx[12], "C", 1.0, 160.0, 0.0, "signal"),
             (idx[12], "A", 1.0, 80.0, 0.0, "signal"),     # a second level on A
             (idx[15], "A", -2.0, 100.0, 0.0, "take_profit"),
             (idx[15], "B", -2.0, 50.0, 0.0, "take_profit"),
             (idx[16], "C", -1.0, 200.0, 0.0, "take_profit")]
    return ledger_result(close, fills, initial=1000.0), close


def test_concurrency_reaches_n_in_a_crash():
    result, close = _crash_run()
    c = fill_concurrency(result, close, crash_pct=10, window_hours=3)
    assert c["peak_concurrent_assets"] == 3 == c["n_assets"]
    assert c["peak_concurrent_positions"] == 3
    assert c["peak_concurrent_assets_time"] == close.index[12]
    # crash bars (down >= 10% from the high of the last 3 bar moves): bar 11 (85 vs 100) and bar 12
    # (80 vs 100); bar 10 (92) is 8% down and bar 13 (85 vs 92 at bar 10) 7.6%
    assert c["crash_bars"] == 2
    # held on bar 11: A, B; on bar 12: A, B, C
    assert c["crash_mean_assets"] == pytest.approx(2.5)
    assert c["crash_peak_assets"] == 3
    held = result.snapshots["n_assets_with_positions"].to_numpy()
    normal = np.delete(held, [11, 12])
    assert c["normal_mean_assets"] == pytest.approx(normal.mean())
    # A alone on bars 2-4, A+B on 11, all three on 12-14, C alone on 15, nothing on the other 16
    assert c["distribution"] == {0: 16, 1: 4, 2: 1, 3: 3}
    assert sum(c["distribution"].values()) == len(result.equity)


def test_concurrency_reads_result_close_and_run_info():
    result, close = _crash_run()
    no_prices = fill_concurrency(result)
    assert no_prices["crash_bars"] is None and no_prices["crash_mean_assets"] is None
    result = dataclasses.replace(result, close=close, info=dataclasses.replace(
        result.info, crash_pct=10.0, crash_window_hours=3.0))
    assert fill_concurrency(result)["crash_bars"] == 2


def test_distribution_needs_the_column():
    with pytest.raises(KeyError, match="n_assets_with_positions"):
        concurrency_distribution(pd.DataFrame({"x": [1]}))


def _fall(n_flat: int, fall_per_bar: float, n_fall: int, n_after: int, start: float = 100.0) -> list[float]:
    return ([start] * n_flat + [start - fall_per_bar * (k + 1) for k in range(n_fall)]
            + [start - fall_per_bar * n_fall] * n_after)


def test_a_35pct_fall_within_24h_is_exactly_one_episode():
    values = _fall(30, 3.5, 10, 40)          # 100 -> 65 over 10 hours, then flat
    eq = pd.Series(values, index=hourly(len(values)))
    ep = kill_switch_episodes(eq, window=24, threshold_pct=30)
    assert len(ep) == 1
    row = ep.iloc[0]
    # depth >= 30% once 3.5 k >= 30, i.e. k = 9 bars into the fall (bar 38)
    assert row["trigger_time"] == eq.index[38]
    assert row["depth_at_trigger_pct"] == pytest.approx(31.5)
    assert row["depth_pct"] == pytest.approx(35.0)
    # the window's high at the trigger is the last bar at 100, where the fall started
    assert row["peak_time"] == eq.index[29] and row["peak_equity"] == 100.0
    assert row["trough_time"] == eq.index[39] and row["trough_equity"] == pytest.approx(65.0)
    # bar 53 is the last whose 24-bar window still holds a 100; bars 54 and 55 compare 65 with 96.5
    # and 93 (32.6% and 30.1% down); at bar 56 the window high is 89.5 (27.4%): the breach ends at 55
    assert row["end_time"] == eq.index[55] and row["n_bars"] == 55 - 38 + 1
    # the same fall spread over 48 hours never loses 30% within 24 hours
    slow = pd.Series(_fall(30, 35 / 48, 48, 10), index=hourly(88))
    assert len(kill_switch_episodes(slow, window=24, threshold_pct=30)) == 0


def test_two_falls_are_two_episodes_and_window_forms_agree():
    values = _fall(5, 4.0, 10, 30) + _fall(0, 20.0, 2, 5, start=60.0)
    eq = pd.Series(values, index=hourly(len(values)))
    by_hours = kill_switch_episodes(eq, 24, 30)
    assert len(by_hours) == 2
    for form in ("24h", pd.Timedelta(hours=24)):
        pd.testing.assert_frame_equal(kill_switch_episodes(eq, form, 30), by_hours)
    with pytest.raises(ValueError, match="threshold_pct"):
        kill_switch_episodes(eq, 24, 0)
    with pytest.raises(ValueError, match="window"):
        kill_switch_episodes(eq, -1, 30)
    with pytest.raises(ValueError, match="not hours or a duration"):
        kill_switch_episodes(eq, "soon", 30)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=1.0, max_value=100.0), min_size=1, max_size=50),
       st.integers(min_value=1, max_value=6), st.floats(min_value=5.0, max_value=60.0))
def test_episode_triggers_match_a_plain_loop(values, window, threshold):
    eq = pd.Series(values, index=hourly(len(values)))
    triggers, in_breach = [], False
    for t in range(len(values)):
        peak = max(values[max(0, t - window): t + 1])
        breach = (1 - values[t] / peak) * 100 >= threshold - 1e-9
        if breach and not in_breach:
            triggers.append(eq.index[t])
        in_breach = breach
    ep = kill_switch_episodes(eq, window, threshold)
    assert list(ep["trigger_time"]) == triggers


def _events(rows):
    return pd.DataFrame(rows, columns=EVENT_COLS)


def test_summary_of_rule_events_and_cross_check():
    values = _fall(30, 3.5, 10, 40)
    idx = hourly(len(values))
    details = {"start": idx[30], "trough": idx[39], "depth_pct": 35.0, "window_hours": 24,
               "threshold_pct": 30, "action": "record"}
    events = _events([(idx[38], "kill_switch", None, details),
                      (idx[50], "liquidation", None, {"equity": 1.0, "margin_used": 2.0})])
    r = equity_result(values, events=events)
    evs = kill_switch_events(r.events)
    assert len(evs) == 1 and evs.iloc[0]["action"] == "record" and evs.iloc[0]["timestamp"] == idx[38]
    s = kill_switch_summary(r)
    assert s["configured"] and s["triggers"] == 1 == s["rule_triggers"] == s["independent_triggers"]
    assert s["actions"] == {"record": 1} and s["worst_depth_pct"] == 35.0
    assert s["events"][0]["start"] == idx[30]


def test_summary_without_rule_counts_default_episodes():
    values = _fall(30, 3.5, 10, 40)
    s = kill_switch_summary(equity_result(values))
    assert not s["configured"] and s["rule_triggers"] is None
    assert s["triggers"] == 1 and (s["window_hours"], s["threshold_pct"]) == (24.0, 30.0)
    assert s["worst_depth_pct"] == pytest.approx(35.0)


def test_kill_switch_config_from_the_rules_self_description():
    r = equity_result([100.0, 90.0], info=run_info(["A"], 100.0, rules=(KillSwitch(12, 20).describe(),)))
    cfg = kill_switch_config(r)
    assert cfg["configured"] and cfg["window_hours"] == 12 and cfg["threshold_pct"] == 20
    rule = KillSwitch(window=6, threshold=15, mode="flatten")
    r = equity_result([100.0, 90.0], info=run_info(["A"], 100.0, rules=(rule.describe(),)))
    cfg = kill_switch_config(r)
    assert (cfg["window_hours"], cfg["threshold_pct"], cfg["mode"]) == (6.0, 15.0, "flatten")


def test_peak_filled_levels_from_recorded_snapshots():
    r = equity_result([100.0] * 4, snapshots={"n_filled_levels": [0, 3, 7, np.nan]})
    assert fill_concurrency(r)["peak_filled_levels"] == 7
    assert fill_concurrency(equity_result([100.0] * 4))["peak_filled_levels"] is None
