"""`multifolio optimize`: the example runs; JSON, HTML, --write-params and the optimize: section."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from multifolio.cli.config import load_config, run_config

from .conftest import EXAMPLES

EXAMPLE = EXAMPLES / "optimize_grid.yaml"


def test_the_example_runs_and_writes_a_pasteable_per_asset_block(cli, tmp_path: Path):
    params = tmp_path / "tuned.yaml"
    html = tmp_path / "opt.html"
    out = tmp_path / "opt.json"
    res = cli("optimize", EXAMPLE, "--workers", "1", "--checkpoint", tmp_path / "cp.duckdb", "--quiet",
              "--write-params", params, "--html", html, "--output", out)
    assert res.exit_code == 0, res.stderr
    assert "Summary: the shared pool out of sample" in res.stdout
    assert "deflated Sharpe ratio" in res.stdout and "probability of backtest overfitting" in res.stdout
    doc = json.loads(out.read_text())
    assert doc["modes"] == ["per-asset", "portfolio"]
    assert {r["mode"] for r in doc["per_window"]} == {"per-asset", "portfolio"}
    assert doc["evaluations"]["run"] > 0 and doc["evaluations"]["cached"] == 0
    assert 'id="optimize"' in html.read_text()
    # the block pastes into the config: the final per-asset choices run as a normal backtest
    block = yaml.safe_load(params.read_text())["per_asset"]
    cfg = load_config(EXAMPLE)
    assert set(block) == set(cfg.data.symbols)
    last = max(r["window"] for r in doc["choices"])
    for r in doc["choices"]:
        if r["mode"] == "per-asset" and r["window"] == last:
            assert block[r["symbol"]]["num_levels"] == r["num_levels"]
    tuned = cfg.model_copy(update={"strategy": cfg.strategy.model_copy(update={"per_asset": block})})
    assert len(run_config(tuned).equity) > 0
    # resume: everything comes from the checkpoint
    again = cli("optimize", EXAMPLE, "--workers", "1", "--checkpoint", tmp_path / "cp.duckdb", "--resume",
                "--json")
    assert again.exit_code == 0, again.stderr
    redo = json.loads(again.stdout)
    assert redo["evaluations"]["run"] == 0 and redo["evaluations"]["cached"] == doc["evaluations"]["run"]
    assert redo["summary"] == doc["summary"]


def test_command_line_options_override_the_section(cli, write_config, tmp_path: Path):
    path = write_config("""
        data: {sample: crypto_hourly, symbols: [BTC/USDT, ETH/USDT], days: 20, warmup_bars: 60}
        capital: 2000
        strategy: {name: sma_cross, params: {fast: 5, slow: 40}}
        optimize: {params: {fast: [5, 10]}, train: 10d, test: 5d, mode: per-asset}
    """)
    res = cli("optimize", path, "--param", "fast=3:9:3", "--mode", "portfolio", "--objective",
              "-max_drawdown_pct", "--train", "8d", "--test", "4d", "--no-checkpoint", "--json",
              "--workers", "1")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["modes"] == ["portfolio"] and doc["grid"] == {"fast": [3, 6, 9]}
    assert doc["objective"] == "-max_drawdown_pct" and len(doc["windows"]) == 3


def test_bad_input_is_one_line_and_exit_2(cli, write_config):
    path = write_config("""
        data: {sample: crypto_hourly, symbols: [BTC/USDT], days: 20}
        strategy: {name: sma_cross}
    """)
    assert cli("optimize", path, "--no-checkpoint").exit_code == 2          # nothing to optimise
    res = cli("optimize", path, "--param", "fast", "--no-checkpoint")
    assert res.exit_code == 2 and "NAME=v1" in res.stderr
    res = cli("optimize", path, "--param", "fast=5", "--mode", "per-asset", "--no-checkpoint")
    assert res.exit_code == 2 and "per-asset parameters" in res.stderr
    bad = write_config("""
        data: {sample: crypto_hourly, days: 20}
        strategy: {name: sma_cross}
        optimize: {trian: 10d}
    """, name="bad.yaml")
    res = cli("optimize", bad)
    assert res.exit_code == 2 and "trian" in res.stderr


_KILL_CLI = """
import os, signal, sys
from multifolio.cli import optimize_cmd
from multifolio.cli.main import app

def die_halfway(self, done, total):
    if done >= {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)

optimize_cmd.ProgressBar.__call__ = die_halfway
sys.argv = ["multifolio", "optimize", {config!r}, "--workers", "1", "--checkpoint", {cp!r}]
app()
"""


def test_sigkill_halfway_then_resume_from_the_command_line(cli, write_config, tmp_path: Path):
    config = write_config("""
        data: {sample: crypto_hourly, symbols: [BTC/USDT, ETH/USDT], days: 30, warmup_bars: 60}
        capital: 2000
        strategy: {name: grid_atr, params: {ma_period: 24}}
        optimize: {params: {num_levels: [2, 4]}, train: 10d, test: 5d, n_blocks: 4}
    """)
    cp = tmp_path / "cp.duckdb"
    full = json.loads(cli("optimize", config, "--no-checkpoint", "--json", "--workers", "1").stdout)
    total = full["evaluations"]["run"]
    kill_at = total // 2
    script = tmp_path / "kill.py"
    script.write_text(_KILL_CLI.format(kill_at=kill_at, config=str(config), cp=str(cp)))
    src = str(Path(__file__).resolve().parents[2] / "src")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": src})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    res = cli("optimize", config, "--checkpoint", cp, "--resume", "--json", "--workers", "1")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["evaluations"] == {"run": total - kill_at, "cached": kill_at, "total": total}
    assert doc["choices"] == full["choices"] and doc["equity"] == full["equity"]
