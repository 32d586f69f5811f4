"""run_config: the config wired to the data, strategy, risk rules and engine (small hand-checked runs)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.cli.config import ConfigError, load_config, parse_config, run_config
from multifolio.strategies import EqualWeight

CSV = """\
timestamp,symbol,open,high,low,close,volume
2024-01-01,A,10,10,10,10,1
2024-01-02,A,11,11,11,11,1
2024-01-03,A,12,12,12,12,1
2024-01-04,A,12,12,12,12,1
2024-01-01,B,20,20,20,20,1
2024-01-02,B,20,20,20,20,1
2024-01-03,B,10,10,10,10,1
2024-01-04,B,10,10,10,10,1
2024-01-01,C,5,5,5,5,1
2024-01-02,C,5,5,5,5,1
2024-01-03,C,5,5,5,5,1
2024-01-04,C,5,5,5,5,1
"""


@pytest.fixture
def csv_config(tmp_path: Path):
    (tmp_path / "p.csv").write_text(CSV)

    def make(extra: str = "", symbols: str = "[A, B]") -> Path:
        path = tmp_path / "run.yaml"
        path.write_text(textwrap.dedent(f"""
            data: {{csv: p.csv, symbols: {symbols}, warmup_bars: 0}}
            capital: 1000
            execution: close
            strategy: {{name: equal_weight, params: {{schedule: every_bar}}}}
        """) + textwrap.dedent(extra))
        return path

    return make


def test_equal_weight_every_close_matches_hand_computation(csv_config) -> None:
    res = run_config(load_config(csv_config()))
    # 50 A + 25 B at the first close; rebalanced to 525/525 at 1050; then A 12, B 10.
    after = 525 / 11 * 12 + 525 / 20 * 10
    assert res.equity.round(9).tolist() == pytest.approx([1000.0, 1050.0, after, after], rel=1e-12)
    assert res.symbols == ["A", "B"]
    assert res.initial_capital == 1000.0


def test_same_as_calling_backtest_directly(csv_config, tmp_path: Path) -> None:
    cfg = load_config(csv_config("fees: {A: 0.01}\nslippage: 0.002\n", symbols="[A, B, C]"))
    res = run_config(cfg)
    md = mf.MarketData.read_csv(tmp_path / "p.csv")
    direct = mf.backtest(md, EqualWeight(schedule="every_bar"), cash=1000.0, fees={"A": 0.01},
                         slippage=0.002, execution="close")
    pd.testing.assert_series_equal(res.equity, direct.equity)
    assert res.metrics["fees_paid"] == pytest.approx(direct.metrics["fees_paid"], rel=1e-12)
    assert res.metrics["fees_paid"] > 0


def test_overrides_capital_assets_and_period(csv_config) -> None:
    cfg = load_config(csv_config(symbols="[C, A, B]"))
    res = run_config(cfg, capital=500, assets=2, days=2)
    assert res.symbols == ["C", "A"]                  # the first two in config order
    assert res.initial_capital == 500.0
    assert list(res.equity.index.strftime("%Y-%m-%d")) == ["2024-01-03", "2024-01-04"]
    res = run_config(cfg, assets=["B"], start="2024-01-02", end="2024-01-03")
    assert res.symbols == ["B"]
    assert list(res.equity.index.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03"]


def test_warmup_bars_are_seen_not_traded(csv_config) -> None:
    cfg = load_config(csv_config())
    cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"warmup_bars": 5, "days": 2})})
    res = run_config(cfg)
    assert list(res.equity.index.strftime("%Y-%m-%d")) == ["2024-01-03", "2024-01-04"]
    # Nothing bought before the period: the first fill is at the period's first close.
    assert res.fills["timestamp"].min() == pd.Timestamp("2024-01-03", tz="UTC")
    assert res.equity.iloc[0] == pytest.approx(1000.0)


def test_per_asset_settings_follow_the_selected_assets(csv_config) -> None:
    cfg = load_config(csv_config("fees: {A: 0.01, C: 0.5}\n", symbols="[A, B, C]"))
    res = run_config(cfg, assets=["A", "B"])          # C's fee is dropped with C
    assert res.info.account.fees == {"A": 0.01}
    bad = load_config(csv_config("fees: {A: 0.01, ZZZ: 0.5}\n"))
    with pytest.raises(ConfigError, match="fees: unknown symbol 'ZZZ'"):
        run_config(bad)


def test_kill_switch_rule_and_analytics_settings(csv_config) -> None:
    cfg = load_config(csv_config("risk: [{rule: kill_switch, window: 48, threshold: 10}]\n"
                                 "crash_pct: 7\ncrash_window: 48\n"))
    res = run_config(cfg)
    assert res.info.rule("kill_switch").params["threshold"] == 10
    assert res.info.crash_pct == 7 and res.info.crash_window_hours == 48
    assert res.metrics["kill_switch_threshold_pct"] == 10


def test_bad_strategy_parameter_value_is_refused_before_any_data_is_read() -> None:
    with pytest.raises(ConfigError, match=r"strategy.params(.fast|.slow)?: .*fast"):
        parse_config({"data": {"csv": "no-such-file.csv"},
                      "strategy": {"name": "sma_cross", "params": {"fast": 50, "slow": 10}}})


def test_progress_callback_reaches_the_end(csv_config) -> None:
    seen: list[tuple[int, int]] = []
    run_config(load_config(csv_config()), progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]
    assert np.all(np.diff([d for d, _ in seen]) >= 0)


def test_without_a_source_the_default_store_is_read(csv_config, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store_path = tmp_path / "default.duckdb"
    monkeypatch.setenv("MULTIFOLIO_STORE", str(store_path))
    cfg_text = csv_config().read_text().replace("csv: p.csv, ", "")
    no_source = tmp_path / "nosource.yaml"
    no_source.write_text(cfg_text)

    with pytest.raises(ConfigError, match=f"default candle store {store_path} does not exist"):
        run_config(load_config(no_source))

    from multifolio.data import CandleStore

    with CandleStore(store_path) as store:
        store.write(mf.MarketData.read_csv(tmp_path / "p.csv"), timeframe="1d")
    from_store = run_config(load_config(no_source))
    from_csv = run_config(load_config(csv_config()))
    np.testing.assert_allclose(from_store.equity.to_numpy(), from_csv.equity.to_numpy(), rtol=1e-12)
    assert from_store.symbols == ["A", "B"]
