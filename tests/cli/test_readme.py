"""The README stays true: its Python examples run, its CLI lines parse, CI runs its test command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_quick_start_is_two_commands_and_ci_runs_the_test_one() -> None:
    quick = README.split("## Quick start", 1)[1]
    commands = [line.split("#")[0].strip() for line in _blocks("bash")[0].splitlines() if line.strip()]
    commands = [c for c in commands if c]
    assert commands[0] == "pip install -e . && multifolio demo"
    assert commands[1] == "pip install -e '.[test]' && python -m pytest -n 2 -q"
    assert len(commands) == 2 and _blocks("bash")[0] in quick
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    ci_lines = [line.strip() for line in ci.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert commands[1] in ci_lines


def test_python_examples_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)                     # the example writes topn.html
    namespace: dict[str, object] = {"__name__": "readme"}
    for code in _blocks("python"):
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert (tmp_path / "topn.html").stat().st_size > 0
    res = namespace["result"]
    assert res.initial_capital == 10_000          # the last example's run
    assert len(res.equity) > 0


CLI_LINES = [line.split("  #")[0].strip() for block in _blocks("bash")[1:] for line in block.splitlines()
             if line.strip().startswith("multifolio ")]


@pytest.mark.parametrize("line", CLI_LINES)
def test_cli_examples_parse(cli, line: str) -> None:
    # --help after the real options: click parses every option first (unknown ones fail), then shows help.
    words = shlex.split(line.split(">")[0])[1:]
    result = cli(*words, "--help")
    assert result.exit_code == 0, (line, result.stderr)
    assert "Usage:" in result.stdout


def test_cli_example_check_catches_a_wrong_option(cli) -> None:
    assert cli("run", "x.yaml", "--no-such-option", "--help").exit_code == 2


def test_json_keys_listed_in_the_readme_are_in_the_report(cli) -> None:
    import json

    para = README.split("The JSON report (", 1)[1].split("\n\n", 1)[0]
    listed = re.findall(r"`([a-z_0-9]+)`", para.split(")", 1)[1])
    assert len(listed) >= 20
    result = cli("run", REPO / "examples" / "csv_portfolio.yaml", "--json", "--days", "30")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [k for k in listed if k not in report] == []
    assert list(report)[:18] == listed[:18]          # the order the README gives


def test_yaml_example_is_a_valid_config(tmp_path: Path) -> None:
    from multifolio.cli.config import load_config

    (block,) = _blocks("yaml")
    path = tmp_path / "readme.yaml"
    path.write_text(block)
    cfg = load_config(path)
    assert cfg.strategy.name == "grid_atr" and cfg.data.symbols == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert cfg.risk[0].params == {"window": 24, "threshold": 30, "mode": "record"}
