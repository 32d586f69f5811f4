"""Every examples/*.yaml runs through `multifolio run` (shortened with --days), and the JSON agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from multifolio.cli.config import load_config, run_config

from .conftest import EXAMPLES

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
# Enough days for every example's strategy to trade, few enough to keep the suite quick.
DAYS = {"equal_weight_sp500.yaml": "120", "csv_portfolio.yaml": "60"}


def test_examples_exist() -> None:
    names = {p.name for p in EXAMPLE_FILES}
    assert {"grid_portfolio.yaml", "top_n_crypto.yaml", "sma_cross_crypto.yaml", "equal_weight_sp500.yaml",
            "csv_portfolio.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_example_runs_through_the_cli(cli, path: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)                    # output.html of an example lands here
    out = tmp_path / "report.json"
    days = DAYS.get(path.name, "10")
    result = cli("run", path, "--days", days, "--quiet", "--output", out)
    assert result.exit_code == 0, result.stderr + result.stdout
    assert result.stdout.strip(), "the terminal report is printed"
    report = json.loads(out.read_text())

    raw = yaml.safe_load(path.read_text())
    cfg = load_config(path)
    if cfg.portfolios is not None:       # several portfolios: each one's report, and the combined book's
        assert set(report["portfolios"]) == {p.id for p in cfg.portfolios}
        report = report["combined"]
        raw = {"capital": sum(p.capital for p in cfg.portfolios)}
    assert report["initial_capital"] == pytest.approx(raw.get("capital", 10_000))
    if cfg.data.symbols:
        assert report["assets"] == cfg.data.symbols
        assert report["n_assets"] == len(cfg.data.symbols)
    assert report["period_days"] <= float(days) + 1
    # The CLI runs exactly what run_config runs.
    direct = run_config(cfg, days=float(days))
    direct = getattr(direct, "combined", direct)
    assert report["final_equity"] == pytest.approx(float(direct.equity.iloc[-1]), rel=1e-12)
    assert report["total_return_pct"] == pytest.approx(
        (report["final_equity"] / report["initial_capital"] - 1) * 100, rel=1e-9)


def test_json_flag_prints_only_json(cli, tmp_path: Path) -> None:
    result = cli("run", EXAMPLES / "top_n_crypto.yaml", "--days", "5", "--json", "--capital", "2500",
                 "--assets", "4")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["initial_capital"] == 2500
    assert report["n_assets"] == 4 and len(report["assets"]) == 4


def test_kill_switch_flags_reach_the_rule(cli, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = cli("run", EXAMPLES / "top_n_crypto.yaml", "--days", "5", "--quiet", "--output", out,
                 "--kill-switch-pct", "12.5", "--kill-switch-window", "6")
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text())
    flat = json.dumps(report)
    assert '"kill_switch_threshold_pct": 12.5' in flat and '"kill_switch_window_hours": 6.0' in flat


def test_demo_writes_the_json(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("demo", "--days", "5", "--quiet")
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "multifolio-demo.json").read_text())
    assert report["n_assets"] == 21
    assert result.stdout.strip()


SCRIPTS = sorted(EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_script_runs(path: Path, capsys) -> None:
    import runpy

    namespace = runpy.run_path(str(path), run_name="example")   # not __main__: call main() ourselves
    result = namespace["main"](10)
    assert "return" in capsys.readouterr().out
    assert len(result.equity) == 10 * 24


def test_breakout_brackets_exits_by_their_brackets() -> None:
    import runpy

    result = runpy.run_path(str(EXAMPLES / "breakout_brackets.py"), run_name="example")["main"](20)
    trades = result.trades
    assert len(trades) > 0
    reasons = set(trades["exit_reason"].astype(str))
    assert reasons <= {"stop_loss", "take_profit", "end_of_data"}
    # A 6% take-profit beats 0.2% of fees and slippage; a 3% stop-loss never ends in profit.
    assert (trades.loc[trades["exit_reason"] == "take_profit", "pnl"] > 0).all()
    assert (trades.loc[trades["exit_reason"] == "stop_loss", "pnl"] < 0).all()
