"""run_spec: a frozen RunSpec on data loaded once gives what the YAML path gives, for many specs."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.cli.config import load_config, load_data, run_config, to_spec
from multifolio.portfolio.spec import AccountSpec, RuleSpec, RunSpec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def same(a: mf.Result, b: mf.Result) -> None:
    pd.testing.assert_frame_equal(a.snapshots, b.snapshots)
    pd.testing.assert_frame_equal(a.fills, b.fills)
    pd.testing.assert_frame_equal(a.orders, b.orders)
    assert a.events["kind"].tolist() == b.events["kind"].tolist()
    assert a.info == b.info


@pytest.mark.parametrize("name", ["grid_portfolio.yaml", "top_n_crypto.yaml"])
def test_specs_on_data_loaded_once_equal_the_yaml_path(name: str) -> None:
    cfg = load_config(EXAMPLES / name)
    spec = to_spec(cfg)
    data = load_data(cfg)                       # once, for every run below
    before = data.close.copy()
    for capital, n_assets, days in [(10_000.0, None, 10.0), (3_000.0, 3, 5.0)]:
        via_yaml = run_config(cfg, capital=capital, assets=n_assets, days=days)
        variant = spec.replace(account=spec.account.replace(capital=capital), days=days,
                               symbols=spec.symbols[:n_assets] if n_assets and spec.symbols else
                               (tuple(data.symbols[:n_assets]) if n_assets else spec.symbols))
        via_spec = mf.run_spec(variant, data)
        same(via_yaml, via_spec)
        assert via_spec.initial_capital == capital
    # the shared data was only read, never changed
    np.testing.assert_array_equal(data.close, before)


def test_a_spec_is_frozen_picklable_and_describes_the_run() -> None:
    spec = RunSpec(strategy="top_n", params={"k": 2, "lookback": 24, "schedule": "daily"},
                   account=AccountSpec(capital=5_000.0, fees=0.001),
                   symbols=("BTC/USDT", "ETH/USDT", "SOL/USDT"),
                   rules=(RuleSpec("kill_switch", {"window": 24, "threshold": 20}),), days=20,
                   warmup_bars=24, crash_pct=6.0, crash_window_hours=12.0)
    with pytest.raises(AttributeError):
        spec.strategy = "other"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(spec)) == spec
    data = mf.data.samples.crypto_hourly()
    res = mf.run_spec(spec, data)
    info = res.info
    assert info.symbols == spec.symbols and info.account.capital == 5_000.0 and info.account.fees == 0.001
    assert info.strategy.name == "top_n" and info.strategy.params["k"] == 2
    assert info.rule("kill_switch").params == {"window": 24.0, "threshold": 20.0, "mode": "record"}
    assert (info.crash_pct, info.crash_window_hours) == (6.0, 12.0)
    assert len(res.equity) == 20 * 24
    # the same run through backtest() on the window by hand
    md = data.select(list(spec.symbols))
    start = md.index[-20 * 24]
    by_hand = mf.backtest(md.slice(md.index[-20 * 24 - 24], None), mf.strategies.TopN(k=2, lookback=24,
                          schedule="daily"), cash=5_000.0, fees=0.001, start=start,
                          risk=[mf.portfolio.KillSwitch(window=24, threshold=20)])
    pd.testing.assert_series_equal(by_hand.equity, res.equity)


def test_with_rule_adds_or_updates_a_rule() -> None:
    spec = RunSpec(strategy="equal_weight")
    one = spec.with_rule("kill_switch", threshold=10)
    two = one.with_rule("kill_switch", window=48)
    assert spec.rules == () and one.rules == (RuleSpec("kill_switch", {"threshold": 10}),)
    assert two.rules == (RuleSpec("kill_switch", {"threshold": 10, "window": 48}),)


def test_bad_specs_are_named() -> None:
    data = mf.data.samples.crypto_hourly()
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        mf.run_spec(RunSpec(strategy="nope"), data)
    with pytest.raises(ValueError, match="data.symbols: unknown symbol 'BTC/USD'; did you mean 'BTC/USDT'"):
        mf.run_spec(RunSpec(strategy="equal_weight", symbols=("BTC/USD",)), data)
    with pytest.raises(ValueError, match="fees: unknown symbol 'ZZZ'"):
        mf.run_spec(RunSpec(strategy="equal_weight", account=AccountSpec(fees={"ZZZ": 0.1})), data)
    with pytest.raises(ValueError, match="unknown risk rule 'stop_everything'"):
        mf.run_spec(RunSpec(strategy="equal_weight", rules=(RuleSpec("stop_everything"),)), data)
    with pytest.raises(ValueError, match="spec must be a RunSpec"):
        mf.run_spec({"strategy": "equal_weight"}, data)  # type: ignore[arg-type]
