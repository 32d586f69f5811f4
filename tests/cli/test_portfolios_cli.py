"""Several portfolios from a config, the trace, and shared vs isolated (`multifolio compare`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from multifolio.cli.config import ConfigError, load_config, run_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SINGLE = """
data: {sample: crypto_hourly, symbols: [BTC/USDT, ETH/USDT, SOL/USDT], days: 20, warmup_bars: 100}
capital: 5000
fees: {BTC/USDT: 0.001, ETH/USDT: 0.002, SOL/USDT: 0.001}
strategy: {name: top_n, params: {k: 2, lookback: 48, schedule: daily}}
risk: [{rule: kill_switch, window: 24, threshold: 5}]
"""
ONE_ENTRY = """
data: {sample: crypto_hourly, symbols: [BTC/USDT, ETH/USDT, SOL/USDT], days: 20, warmup_bars: 100}
fees: {BTC/USDT: 0.001, ETH/USDT: 0.002, SOL/USDT: 0.001}
portfolios:
  - id: only
    capital: 5000
    strategy: {name: top_n, params: {k: 2, lookback: 48, schedule: daily}}
    risk: [{rule: kill_switch, window: 24, threshold: 5}]
"""


def test_the_one_entry_portfolios_form_equals_the_single_portfolio_config(write_config) -> None:
    single = run_config(load_config(write_config(SINGLE)))
    multi = run_config(load_config(write_config(ONE_ENTRY, name="one.yaml")))
    only = multi.portfolios["only"]
    np.testing.assert_array_equal(single.equity.to_numpy(), only.equity.to_numpy())
    pd.testing.assert_frame_equal(single.fills, only.fills, check_exact=True)
    assert single.events["kind"].tolist() == only.events["kind"].tolist()
    np.testing.assert_array_equal(multi.combined.equity.to_numpy(), single.equity.to_numpy())


def test_multi_portfolio_example_runs_with_a_trace(cli, tmp_path: Path) -> None:
    out, trace = tmp_path / "multi.json", tmp_path / "trace.jsonl"
    result = cli("run", EXAMPLES / "multi_portfolio.yaml", "--days", "30", "-q", "-o", out, "--trace", trace)
    assert result.exit_code == 0, result.stderr
    assert "Combined book" in result.stdout and "Portfolios on one clock" in result.stdout
    doc = json.loads(out.read_text())
    assert set(doc["portfolios"]) == {"grid", "momentum", "trend"}
    combined = doc["combined"]
    assert combined["final_equity"] == pytest.approx(
        sum(p["final_equity"] for p in doc["portfolios"].values()))
    lines = [json.loads(x) for x in trace.read_text().splitlines()]
    assert {row["portfolio_id"] for row in lines} == {"grid", "momentum", "trend"}
    assert {"order", "fill", "transfer"} <= {row["type"] for row in lines}
    times = [pd.Timestamp(row["time"]) for row in lines]
    assert times == sorted(times)
    # every fill of the JSON reports is in the trace, once
    n_fills = sum(1 for row in lines if row["type"] == "fill")
    assert n_fills == sum(p["metrics"]["n_fills"] for p in doc["portfolios"].values())
    transfers = [row for row in lines if row["type"] == "transfer"]
    assert len(transfers) == len(combined["transfers"])


def test_compare_shared_vs_isolated(cli, write_config, tmp_path: Path) -> None:
    path = write_config(SINGLE)
    out = tmp_path / "cmp.json"
    result = cli("compare", path, "-q", "-o", out, "--html", tmp_path / "cmp.html")
    assert result.exit_code == 0, result.stderr
    assert "Hidden drawdown" in result.stdout
    doc = json.loads(out.read_text())
    cmp = doc["comparison"]
    assert set(doc["portfolios"]) == {"shared", "BTC/USDT", "ETH/USDT", "SOL/USDT"}
    # the shared pool is the config run as it is
    single = run_config(load_config(path))
    assert cmp["shared"]["final_equity"] == pytest.approx(float(single.equity.iloc[-1]), rel=1e-12)
    # each isolated portfolio trades one asset on a third of the capital
    for sym in ("BTC/USDT", "ETH/USDT", "SOL/USDT"):
        assert doc["portfolios"][sym]["initial_capital"] == pytest.approx(5000 / 3)
        assert doc["portfolios"][sym]["assets"] == [sym]
    iso_final = sum(doc["portfolios"][s]["final_equity"] for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT"))
    assert cmp["isolated_sum"]["final_equity"] == pytest.approx(iso_final)
    assert cmp["hidden_drawdown_pct"] == pytest.approx(
        cmp["shared"]["max_drawdown_pct"] - cmp["isolated_sum"]["max_drawdown_pct"])
    assert cmp["isolated_worst_drawdown_pct"] == pytest.approx(
        max(doc["portfolios"][s]["max_drawdown_pct"] for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT")))
    assert (tmp_path / "cmp.html").read_text().count("<h1>") == 1


def test_portfolio_config_errors_point_at_the_line(write_config) -> None:
    both = SINGLE + "portfolios: [{id: a, capital: 1, strategy: {name: top_n}}]\n"
    with pytest.raises(ConfigError, match="give a strategy .* or a portfolios: list, not both"):
        load_config(write_config(both, name="b.yaml"))
    bad = ONE_ENTRY.replace("name: top_n, params: {k: 2", "name: top_n, params: {kk: 2")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: unknown parameter "
                                          r"'portfolios\[0\].strategy.params.kk'"):
        load_config(write_config(bad, name="bad.yaml"))
    with pytest.raises(ConfigError, match="allocator.weights names unknown portfolio"):
        load_config(write_config(ONE_ENTRY + "allocator: {weights: {zz: 1}}\n", name="c.yaml"))
