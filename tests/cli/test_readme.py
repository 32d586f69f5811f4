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


def test_data_fetch_help_shows_the_extra_in_brackets(cli) -> None:
    result = cli("data", "fetch", "--help")
    assert result.exit_code == 0
    assert "[exchange]" in result.stdout          # Rich markup would swallow an unescaped [exchange]


def test_files_named_by_the_cli_examples_exist() -> None:
    inputs = [w for line in CLI_LINES for w in shlex.split(line.split(">")[0])
              if re.search(r"\.(csv|parquet|ya?ml)$", w)]
    assert "examples/data/prices.csv" in inputs
    assert [w for w in inputs if not (REPO / w).exists()] == []


def test_data_import_example_runs_as_written(cli, tmp_path: Path, monkeypatch) -> None:
    (line,) = [c for c in CLI_LINES if c.startswith("multifolio data import")]
    monkeypatch.setenv("MULTIFOLIO_STORE", str(tmp_path / "candles.duckdb"))
    monkeypatch.chdir(REPO)                         # the README's commands run from the repo root
    result = cli(*shlex.split(line)[1:])
    assert result.exit_code == 0, result.stderr
    assert "imported" in result.stdout
    listing = cli("data", "ls")
    assert listing.exit_code == 0 and "mybroker" in listing.stdout


def test_files_the_examples_write_are_ignored_by_git() -> None:
    ignored = {line.strip().lstrip("/") for line in (REPO / ".gitignore").read_text().splitlines()}
    written = set(re.findall(r"(?:>|--output|--html)\s+(\S+)", " ".join(CLI_LINES)))
    written |= set(re.findall(r"to_html\(\"([^\"]+)\"\)", README))
    written.add("multifolio-demo.json")            # `multifolio demo`'s default --output
    assert written >= {"run.json", "run.html", "topn.html", "multifolio-demo.json"}
    assert sorted(written - ignored) == []


def test_data_fetch_without_network_says_so(cli, tmp_path: Path, monkeypatch) -> None:
    """A real ccxt exchange whose API points at a closed local port: one line, exit 2."""
    import functools

    import multifolio.data.exchange as exchange_mod

    real_make = exchange_mod.make_exchange

    def unreachable(name: str, **kw):  # noqa: ANN202
        ex = real_make(name, **kw)

        def closed(urls):  # noqa: ANN001, ANN202
            port_9 = "http://127.0.0.1:9/api"      # nothing listens there: connection refused
            return {k: closed(v) if isinstance(v, dict) else port_9 for k, v in urls.items()}

        ex.urls["api"] = closed(ex.urls["api"])
        return ex

    monkeypatch.setattr(exchange_mod, "make_exchange", unreachable)
    monkeypatch.setattr(exchange_mod, "fetch_ohlcv_to_store",   # no backoff waits in the test
                        functools.partial(exchange_mod.fetch_ohlcv_to_store, sleep=lambda s: None))
    result = cli("data", "fetch", "--exchange", "binance", "--symbols", "BTC/USDT", "--since", "2024-01-01",
                 "--store", tmp_path / "c.duckdb")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: network unreachable: no answer from binance")
