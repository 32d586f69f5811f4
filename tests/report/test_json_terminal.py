"""JSON report (keys, JSON-safety) and the Rich terminal report (order of sections, content)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from mf_results import EVENT_COLS, equity_result, hourly, ledger_result, two_asset_result
from rich.console import Console

from multifolio.report.json_report import result_to_dict, result_to_json, to_jsonable
from multifolio.report.terminal import fmt, render_report

REQUIRED_KEYS = {"initial_capital", "n_assets", "period_days", "assets", "final_equity", "total_return_pct",
                 "total_trades", "win_rate", "max_drawdown_pct", "max_drawdown_duration_hours",
                 "peak_margin_ratio", "peak_concurrent_positions", "peak_concurrent_assets",
                 "kill_switch_triggers", "kill_switch_events", "per_asset_results", "five_answers", "metrics"}


def _with_kill_switch():
    idx = hourly(60)
    values = [100.0] * 30 + [65.0] * 30
    details = {"start": idx[29], "peak": 100.0, "trigger_equity": 65.0, "trigger_depth_pct": 35.0,
               "trough": 65.0, "trough_time": idx[30], "depth_pct": 35.0, "end": None, "window_hours": 24.0,
               "threshold_pct": 30.0, "action": "flatten"}
    ev = pd.DataFrame([(idx[30], "kill_switch", None, details)], columns=EVENT_COLS)
    return equity_result(values, events=ev)


def test_json_has_the_required_keys_and_values():
    r = two_asset_result()
    d = result_to_dict(r)
    assert REQUIRED_KEYS <= set(d)
    assert d["assets"] == ["BTC", "ETH"] and d["n_assets"] == 2
    assert d["final_equity"] == pytest.approx(9938.2)
    assert d["peak_margin_ratio"] == pytest.approx(0.286)
    assert d["per_asset_results"]["BTC"]["pnl"] == pytest.approx(116.0)
    assert d["per_asset_results"]["ETH"]["rejected_min_notional"] == 1
    assert set(d["five_answers"]) == {"max_drawdown", "fill_correlation", "margin_peak", "kill_switch",
                                      "sizing"}
    assert d["five_answers"]["fill_correlation"]["distribution"] == {"0": 2, "1": 4, "2": 2}
    assert d["start"] == "2024-01-01T00:00:00+00:00"
    assert d["metrics"]["max_drawdown_peak_time"] == "2024-01-01T01:00:00+00:00"
    assert [t["exit_reason"] for t in d["recent_trades"]] == ["stop_loss", "take_profit", "end_of_data"]
    # the Result method gives the same dict
    assert r.to_dict() == d


def test_json_is_strict_json_with_nulls_for_nan_and_inf():
    idx = hourly(3)
    close = pd.DataFrame({"A": [10.0, 11.0, 12.0], "B": [1.0, 1.0, 1.0]}, index=idx)
    r = ledger_result(close, [(idx[0], "A", 1.0, 10.0, 0.0, "s"), (idx[2], "A", -1.0, 12.0, 0.0, "s")],
                      initial=100.0)
    assert r.metrics["profit_factor"] == math.inf
    text = result_to_json(r)
    assert "NaN" not in text and "Infinity" not in text
    d = json.loads(text)
    assert d["metrics"]["profit_factor"] is None            # inf: no losing trade
    assert d["per_asset_results"]["B"]["win_rate"] is None  # NaN: no trades
    assert d["metrics"]["sharpe"] is not None


def test_json_written_to_a_path(tmp_path):
    r = _with_kill_switch()
    path = tmp_path / "report.json"
    text = r.to_json(str(path))
    d = json.loads(path.read_text())
    assert d == json.loads(text)
    assert d["kill_switch_triggers"] == 1
    ev = d["kill_switch_events"][0]
    assert ev["action"] == "flatten" and ev["start"] == "2024-01-02T05:00:00+00:00"
    assert ev["timestamp"] == "2024-01-02T06:00:00+00:00" and ev["depth_pct"] == 35.0
    with pytest.raises(FileNotFoundError, match="does not exist"):
        result_to_json(r, tmp_path / "missing" / "r.json")


def test_to_jsonable_types():
    class Rule:
        def __repr__(self):
            return "Rule()"

    obj = {"f": np.float32(1.5), "i": np.int64(2), "b": np.bool_(True), "nan": float("nan"),
           "inf": -math.inf, "ts": pd.Timestamp("2024-01-01 12:00", tz="UTC"), "nat": pd.NaT,
           "td": pd.Timedelta(hours=1), 3: (1, 2), "arr": np.array([1.0, np.nan]), "obj": Rule(),
           "series": pd.Series([1.0], index=["x"])}
    out = to_jsonable(obj)
    json.dumps(out, allow_nan=False)
    assert out == {"f": 1.5, "i": 2, "b": True, "nan": None, "inf": None, "ts": "2024-01-01T12:00:00+00:00",
                   "nat": None, "td": "P0DT1H0M0S", "3": [1, 2], "arr": [1.0, None], "obj": "Rule()",
                   "series": {"x": 1.0}}


def _render(result, width=120) -> str:
    console = Console(record=True, width=width, force_terminal=False)
    render_report(result, console)
    return console.export_text()


def test_terminal_report_puts_the_five_answers_first():
    text = _render(two_asset_result())
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line[:3] in ("1. ", "2. ", "3. ", "4. ", "5. ")]
    assert [lines[i][:2] for i in starts] == ["1.", "2.", "3.", "4.", "5."]
    assert lines[starts[0]].startswith("1. Max drawdown on shared capital: 4.01%")
    order = [text.index(s) for s in ("1. Max drawdown", "5. Sizing", "Per-asset results", "Recent trades",
                                     "Kill-switch events", "Metrics")]
    assert order == sorted(order)
    for reason in ("stop_loss", "take_profit", "end_of_data"):
        assert reason in text
    assert "-177.80" in text and "116.00" in text
    assert "Max drawdown %" in text and "Fees paid" in text


def test_terminal_report_lists_kill_switch_events():
    text = _render(_with_kill_switch())
    assert "fired 1 time" in text
    section = text[text.index("Kill-switch events"):text.index("Metrics")]
    assert "2024-01-02 06:00" in section and "flatten" in section and "35.0" in section
    assert "65.00" in section and "100.00" in section


def test_fmt():
    assert fmt(None) == "-" and fmt(float("nan")) == "-" and fmt(-math.inf) == "-inf"
    assert fmt(2.0, "{:d}") == "2" and fmt("x", "{:.2f}") == "x"


@pytest.mark.parametrize("n_bars", [0, 1])
def test_empty_and_single_bar_results_still_report(n_bars):
    r = equity_result([100.0], initial=100.0)
    if n_bars == 0:
        r.equity, r.snapshots, r.positions = r.equity.iloc[:0], r.snapshots.iloc[:0], r.positions.iloc[:0]
    d = json.loads(result_to_json(r))
    assert d["final_equity"] == 100.0 and d["total_return_pct"] == 0.0 and d["max_drawdown_pct"] == 0.0
    assert d["metrics"]["sharpe"] is None and d["total_trades"] == 0
    assert "1. Max drawdown on shared capital: 0.00%" in _render(r)
