"""Interventions per rule and per asset, in the JSON and terminal reports, and the CLI flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from risk_kit import market, run
from typer.testing import CliRunner

from multifolio.analytics.interventions import cuts_by_asset, intervention_table, intervention_times
from multifolio.cli.main import app
from multifolio.portfolio import risk as R
from multifolio.report.terminal import render_report

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _cut_run():
    md = market(A=[10.0, 10.0, 20.0, 20.0], B=[10.0, 10.0, 5.0, 5.0], C=[10.0] * 4)
    steps = {0: lambda ctx: (ctx.order("A", 50.0), ctx.order("B", 10.0)),
             2: lambda ctx: (ctx.order("B", 10.0), ctx.order("C", 30.0))}
    return run(md, steps, [R.MaxWeight(limit=30), R.MaxPositions(limit=2)], cash=1_000.0)


def test_notional_cut_per_rule_and_per_asset_by_hand() -> None:
    res = _cut_run()
    table = intervention_table(res)
    # bar 0: max_weight cuts A from 50 to 30 units at 10 (200 cut of 500 asked)
    # bar 2: equity 30 x 20 + 10 x 5 + 600 cash = 1250; C is the third asset: dropped (30 x 10 = 300)
    assert list(table.index) == ["max_weight", "max_positions"]
    assert table.loc["max_weight", "interventions"] == 1
    assert table.loc["max_weight", "notional_cut"] == pytest.approx(200.0)
    assert table.loc["max_weight", "cut_pct"] == pytest.approx(40.0)
    assert table.loc["max_positions", "dropped"] == 1
    assert table.loc["max_positions", "notional_cut"] == pytest.approx(300.0)
    by_asset = cuts_by_asset(res)
    assert by_asset.loc["A", "max_weight"] == pytest.approx(200.0)
    assert by_asset.loc["C", "max_positions"] == pytest.approx(300.0)
    assert by_asset.loc["B"].sum() == 0.0
    assert res.per_asset.loc["A", "cut_max_weight"] == pytest.approx(200.0)
    times = intervention_times(res)
    assert times["notional_cut"].tolist() == [pytest.approx(200.0), pytest.approx(300.0)]


def test_reports_show_the_interventions() -> None:
    res = _cut_run()
    d = json.loads(res.to_json())
    assert d["risk_interventions"]["max_positions"]["dropped"] == 1
    assert d["per_asset_results"]["C"]["cut_max_positions"] == pytest.approx(300.0)
    from rich.console import Console

    console = Console(record=True, width=120)
    render_report(res, console=console)
    text = console.export_text()
    assert "Risk interventions per rule" in text and "max_positions" in text


def test_a_run_without_rules_has_no_interventions() -> None:
    res = run(market(A=[10.0] * 3), {0: lambda ctx: ctx.order("A", 1.0)}, [])
    assert len(intervention_table(res)) == 0
    assert json.loads(res.to_json())["risk_interventions"] == {}
    assert not any(c.startswith("cut_") for c in res.per_asset.columns)


def test_run_flags_add_the_common_rules(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "top_n_crypto.yaml"), "--days", "10", "--quiet",
                                      "--max-positions", "2", "--var-limit", "1.5",
                                      "--correlation-threshold", "0.6", "--max-drawdown", "12",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    rules = {r["name"]: r["params"] for r in report["run"]["rules"]}
    assert rules["max_positions"]["limit"] == 2 and rules["var_limit"]["limit"] == 1.5
    assert rules["correlation_sizing"]["threshold"] == 0.6 and rules["portfolio_stop"]["threshold"] == 12
    assert report["risk_interventions"]["max_positions"]["interventions"] > 0
    bad = CliRunner().invoke(app, ["run", str(EXAMPLES / "top_n_crypto.yaml"), "--max-positions", "0"])
    assert bad.exit_code == 2 and "max_positions limit" in bad.output
