"""Bad input through the CLI: exit code 2 and one red line saying what and where, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from multifolio.cli.config import ConfigError

GOOD_DATA = "data: {sample: crypto_hourly, symbols: [BTC/USDT, ETH/USDT], days: 3}"

# (case id, YAML, extra CLI args, expected fragment of the error line, expected YAML line or None)
CASES = [
    ("unknown-key", f"""
        {GOOD_DATA}
        strategy:
          name: equal_weight
          parms: {{}}
     """, [], "unknown key 'strategy.parms'; did you mean 'params'?", 4),
    ("unknown-top-level-key", f"""
        {GOOD_DATA}
        strategy: {{name: equal_weight}}
        captial: 5000
     """, [], "unknown key 'captial'; did you mean 'capital'?", 3),
    ("wrong-type", f"""
        {GOOD_DATA}
        capital: lots
        strategy: {{name: equal_weight}}
     """, [], "capital: Input should be a valid number", 2),
    ("negative-capital", f"""
        {GOOD_DATA}
        capital: -100
        strategy: {{name: equal_weight}}
     """, [], "capital: Input should be greater than 0 (got -100)", 2),
    ("negative-fee", f"""
        {GOOD_DATA}
        fees: {{BTC/USDT: -0.01}}
        strategy: {{name: equal_weight}}
     """, [], "fees: the value for 'BTC/USDT' must be a finite number >= 0, got -0.01", 2),
    ("unknown-strategy", f"""
        {GOOD_DATA}
        strategy: {{name: equal_wieght}}
     """, [], "unknown strategy 'equal_wieght'; did you mean 'equal_weight'?", 2),
    ("unknown-strategy-param", f"""
        {GOOD_DATA}
        strategy:
          name: sma_cross
          params: {{fsat: 5}}
     """, [], "unknown parameter 'strategy.params.fsat' for strategy 'sma_cross'; did you mean 'fast'?", 4),
    ("missing-data-file", """
        data: {csv: nowhere/prices.csv}
        strategy: {name: equal_weight}
     """, [], "data.csv: file not found:", None),
    ("unknown-symbol", """
        data: {sample: crypto_hourly, symbols: [BTC/USDT, FOO/USDT], days: 3}
        strategy: {name: equal_weight}
     """, [], "data.symbols: unknown symbol 'FOO/USDT'", None),
    ("unknown-symbol-override", f"""
        {GOOD_DATA}
        strategy: {{name: equal_weight}}
     """, ["--assets", "BTC/USDT,ETH/USD"], "assets: unknown symbol 'ETH/USD'; did you mean 'ETH/USDT'?",
     None),
    ("too-many-assets", f"""
        {GOOD_DATA}
        strategy: {{name: equal_weight}}
     """, ["--assets", "5"], "asked for the first 5 assets, there are 2", None),
    ("negative-capital-flag", f"""
        {GOOD_DATA}
        strategy: {{name: equal_weight}}
     """, ["--capital", "-5"], "capital must be > 0, got -5.0", None),
    ("duplicate-key", f"""
        {GOOD_DATA}
        strategy: {{name: equal_weight}}
        strategy: {{name: top_n}}
     """, [], "key 'strategy' given twice (first on line 2)", 3),
    ("bad-yaml", """
        data: {sample: crypto_hourly
        strategy: {name: equal_weight}
     """, [], "invalid YAML", None),
    ("bad-strategy-value", f"""
        {GOOD_DATA}
        strategy:
          name: grid_atr
          params:
            num_levels: five
     """, [], "strategy.params.num_levels: num_levels must be an integer >= 1, got 'five'", 5),
    ("bad-date", f"""
        {GOOD_DATA}
        strategy: {{name: equal_weight}}
     """, ["--start", "someday"], "start: not a date: 'someday'", None),
    ("exchange-without-store", f"""
        {GOOD_DATA}
        strategy: {{name: equal_weight}}
     """, ["--exchange", "binance"], "--exchange selects the exchange inside a candle store", None),
]


@pytest.mark.parametrize(("yaml_text", "args", "fragment", "line"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_config_exits_2_with_one_red_line(cli, write_config, yaml_text: str, args: list[str],
                                              fragment: str, line: int | None) -> None:
    path = write_config(yaml_text)
    result = cli("run", path, "--quiet", *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]
    if line is not None:
        assert f"{path}:{line}: " in lines[0]
    assert "Traceback" not in result.output and result.stdout == ""


def test_missing_config_file(cli, tmp_path: Path) -> None:
    result = cli("run", tmp_path / "absent.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: config file not found: {tmp_path / 'absent.yaml'}"


def test_debug_shows_the_exception(cli, write_config) -> None:
    path = write_config(f"""
        {GOOD_DATA}
        strategy: {{name: equal_weight, parms: {{}}}}
    """)
    result = cli("run", path, "--debug")
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    assert "did you mean 'params'?" in str(result.exception)


def test_usage_errors_keep_exit_code_2(cli) -> None:
    result = cli("run")  # missing CONFIG
    assert result.exit_code == 2
    result = cli("strategies", "no_such_strategy")
    assert result.exit_code == 2
    assert "unknown strategy 'no_such_strategy'" in result.stderr


@pytest.mark.parametrize(("yaml_text", "args", "fragment"), [
    ("data: {csv: missing.csv}\nstrategy: {name: equal_weight}\n", ["--n-assets", "2"],
     "data.csv: file not found"),
    (f"{GOOD_DATA}\nstrategy: {{name: equal_weight}}\n", ["--n-assets", "1,5"],
     "--n-assets 5 exceeds the 2 symbols of"),
    ("data: {sample: crypto_hourly, days: 3}\nstrategy: {name: equal_weight}\n", ["--n-assets", "30"],
     "n_assets 30 exceeds the 21 assets of the run"),
], ids=["missing-data-file", "more-assets-than-listed", "more-assets-than-the-data"])
def test_sweep_bad_input_exits_2_naming_the_problem(cli, write_config, yaml_text: str,
                                                            args: list[str], fragment: str) -> None:
    path = write_config(yaml_text)
    result = cli("sweep", path, "--capital", "1000", *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and fragment in lines[-1], result.stderr
    assert "Traceback" not in result.output
