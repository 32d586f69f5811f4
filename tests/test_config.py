"""Run configuration: parsing, validation messages (path, line, did-you-mean), windows, overrides."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from multifolio.cli.config import (
    ConfigError,
    RunConfig,
    load_config,
    parse_config,
    run_config,
    with_kill_switch,
)
from multifolio.data.source import DataSourceError
from multifolio.data.window import pick_symbols, select_window
from multifolio.portfolio.risk import RISK_RULES

MINIMAL = {"data": {"sample": "crypto_hourly"}, "strategy": {"name": "equal_weight"}}


def write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def problem(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


def test_defaults_and_per_asset_values(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
        data:
          sample: crypto_hourly
          symbols: [BTC/USDT, ETH/USDT]
          start: 2024-01-01
          days: 30
        capital: 5000
        fees: {BTC/USDT: 0.001, ETH/USDT: 0.002}
        qty_step: 0.001
        leverage: 3
        strategy:
          name: grid_atr
          params: {num_levels: 5}
          per_asset: {BTC/USDT: {num_levels: 3}}
        risk:
          - name: kill_switch
            params: {window: 24, threshold: 30}
        output: {json: out.json}
    """))
    assert cfg.capital == 5000.0
    assert cfg.fees == {"BTC/USDT": 0.001, "ETH/USDT": 0.002}
    assert cfg.qty_step == 0.001 and cfg.leverage == 3.0
    assert cfg.execution == "next_open" and cfg.allow_short is False
    assert cfg.data.start == "2024-01-01" and cfg.data.days == 30
    assert cfg.strategy.per_asset == {"BTC/USDT": {"num_levels": 3}}
    assert cfg.risk[0].params == {"window": 24, "threshold": 30}
    assert cfg.output.json_path == "out.json"
    assert cfg.per_asset_settings == {"fees": {"BTC/USDT": 0.001, "ETH/USDT": 0.002}}


def test_unknown_key_names_path_line_and_suggestion(tmp_path: Path) -> None:
    err = problem(tmp_path, """
        data:
          sample: crypto_hourly
        strategy:
          name: equal_weight
          parms: {schedule: monthly}
    """)
    assert str(err) == f"{tmp_path / 'run.yaml'}:5: unknown key 'strategy.parms'; did you mean 'params'?"


def test_unknown_key_in_list_item_lists_allowed_keys(tmp_path: Path) -> None:
    err = problem(tmp_path, """
        data: {sample: crypto_hourly}
        strategy: {name: equal_weight}
        risk:
          - name: kill_switch
            params: {window: 24}
            zzz: 1
    """)
    assert err.problems == [f"{tmp_path / 'run.yaml'}:6: unknown key 'risk[0].zzz' (allowed: name, params)"]


def test_top_level_typo_suggests(tmp_path: Path) -> None:
    err = problem(tmp_path, """
        data: {sample: crypto_hourly}
        strategy: {name: equal_weight}
        slipage: 0.001
    """)
    assert ":3: unknown key 'slipage'; did you mean 'slippage'?" in str(err)


def test_problems_sorted_by_line_and_counted(tmp_path: Path) -> None:
    err = problem(tmp_path, """
        data:
          sample: crypto_hourly
        capital: -5
        strategy: {name: equal_weight}
        execution: tomorrow
    """)
    assert len(err.problems) == 2
    assert err.problems[0].endswith(":3: capital: Input should be greater than 0 (got -5)")
    assert ":5: execution: Input should be 'next_open' or 'close'" in err.problems[1]
    assert str(err).endswith("(and 1 more problem)")


@pytest.mark.parametrize(("snippet", "expected"), [
    ("fees: abc", "fees: the value must be a number, got 'abc'"),
    ("fees: -0.1", "fees: the value must be a finite number >= 0, got -0.1"),
    ("fees: true", "fees: the value must be a number, got True"),
    ("slippage: {BTC/USDT: x}", "slippage: the value for 'BTC/USDT' must be a number, got 'x'"),
    ("leverage: 0", "leverage: leverage must be > 0, got 0"),
    ("maintenance_margin: 2", "maintenance_margin: Input should be less than 1 (got 2)"),
    ("allow_short: maybe", "allow_short: Input should be a valid boolean"),
    ("crash_pct: 0", "crash_pct: Input should be greater than 0 (got 0)"),
])
def test_wrong_type_or_range_reports_pydantic_message_with_path(tmp_path: Path, snippet: str,
                                                               expected: str) -> None:
    err = problem(tmp_path, f"""
        data: {{sample: crypto_hourly}}
        strategy: {{name: equal_weight}}
        {snippet}
    """)
    assert str(err).startswith(f"{tmp_path / 'run.yaml'}:3: {expected}")


def test_data_source_rules(tmp_path: Path) -> None:
    err = problem(tmp_path, """
        data: {sample: crypto_hourly, csv: prices.csv}
        strategy: {name: equal_weight}
    """)
    assert "give one data source" in str(err) and "found sample, csv" in str(err)
    assert ":1: data:" in str(err)
    err = problem(tmp_path, """
        data: {sample: nasdaq}
        strategy: {name: equal_weight}
    """)
    assert "data.sample: Input should be 'crypto_hourly', 'sp500_daily' or 'fx_hourly'" in str(err)
    err = problem(tmp_path, """
        data: {sample: crypto_hourly, symbols: [A, B, A]}
        strategy: {name: equal_weight}
    """)
    assert "symbols listed twice: A" in str(err)
    err = problem(tmp_path, """
        data: {sample: crypto_hourly, start: 2024-01-01, end: 2024-02-01, days: 3}
        strategy: {name: equal_weight}
    """)
    assert "at most two of start, end and days" in str(err)


def test_missing_keys_and_non_mapping(tmp_path: Path) -> None:
    err = problem(tmp_path, """
        data: {sample: crypto_hourly}
    """)
    assert str(err) == f"{tmp_path / 'run.yaml'}: missing key 'strategy'"
    err = problem(tmp_path, "- just\n- a list\n")
    assert "must be a mapping of keys (found a list)" in str(err)
    err = problem(tmp_path, "")
    assert "(found empty)" in str(err)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found: .*nope.yaml"):
        load_config(tmp_path / "nope.yaml")
    err = problem(tmp_path, """
        data:
          sample: crypto_hourly
         strategy: x
    """)
    assert str(err).startswith(f"{tmp_path / 'run.yaml'}:3: invalid YAML")


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    # A python/object tag would run code with an unsafe loader; safe_load refuses it.
    err = problem(tmp_path, """
        data: !!python/object/apply:os.system ["echo unsafe"]
        strategy: {name: equal_weight}
    """)
    assert "invalid YAML" in str(err)


def test_relative_data_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = write(tmp_path / "sub", """
        data: {csv: data/prices.csv}
        strategy: {name: equal_weight}
    """)
    cfg = load_config(path)
    assert cfg.data.csv == str((tmp_path / "sub" / "data" / "prices.csv").resolve())
    # Built in Python (no file), paths are left as given.
    assert parse_config({"data": {"csv": "x.csv"}, "strategy": {"name": "equal_weight"}}).data.csv == "x.csv"


def test_config_is_frozen_and_picklable() -> None:
    cfg = RunConfig.model_validate(MINIMAL)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error type
        cfg.capital = 1.0  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    # run_config itself must travel to worker processes by reference.
    assert pickle.loads(pickle.dumps(run_config)) is run_config


def test_with_kill_switch_adds_or_updates_the_rule() -> None:
    cfg = RunConfig.model_validate(MINIMAL)
    assert with_kill_switch(cfg) is cfg
    added = with_kill_switch(cfg, pct=25)
    assert [(r.name, r.params) for r in added.risk] == [("kill_switch", {"threshold": 25})]
    updated = with_kill_switch(added, window=12)
    assert [(r.name, r.params) for r in updated.risk] == [("kill_switch", {"threshold": 25, "window": 12})]
    assert cfg.risk == []  # the original is untouched
    with pytest.raises(ConfigError, match="threshold must be in"):
        with_kill_switch(cfg, pct=150)
    with pytest.raises(ConfigError, match="window must be > 0"):
        with_kill_switch(cfg, window=0)


HOURS = pd.date_range("2024-01-01", periods=24 * 10, freq="h", tz="UTC")


def test_select_window_last_days_holds_exactly_that_many_bars() -> None:
    s, e = select_window(HOURS, days=2)
    assert e == HOURS[-1]
    assert ((HOURS >= s) & (HOURS <= e)).sum() == 48


def test_select_window_start_plus_days_and_clipping() -> None:
    def bars(s: pd.Timestamp, e: pd.Timestamp) -> list[pd.Timestamp]:
        return list(HOURS[(HOURS >= s) & (HOURS <= e)])

    # start + N days: N days of bars, as many as the last N days
    s, e = select_window(HOURS, start="2024-01-03", days=1)
    assert bars(s, e) == list(pd.date_range("2024-01-03", periods=24, freq="h", tz="UTC"))
    s, e = select_window(HOURS, start="2023-06-01", end="2030-01-01")
    assert (s, e) == (HOURS[0], HOURS[-1])
    # an end date includes that whole day
    s, e = select_window(HOURS, end="2024-01-05", days=1)
    assert bars(s, e) == list(pd.date_range("2024-01-05", periods=24, freq="h", tz="UTC"))
    s, e = select_window(HOURS, start="2024-01-02", end="2024-01-03")
    assert len(bars(s, e)) == 48 and bars(s, e)[-1] == pd.Timestamp("2024-01-03 23:00", tz="UTC")
    # an end with a time of day is taken as written
    s, e = select_window(HOURS, start="2024-01-02", end="2024-01-03 05:00")
    assert len(bars(s, e)) == 30
    with pytest.raises(DataSourceError, match="holds no data"):
        select_window(HOURS, start="2025-01-01")
    with pytest.raises(DataSourceError, match="start: not a date"):
        select_window(HOURS, start="soon")


def test_pick_symbols_config_order_counts_and_unknowns() -> None:
    avail = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]
    assert pick_symbols(avail, None, None) == avail
    assert pick_symbols(avail, ["SOL/USDT", "BTC/USDT"], None) == ["SOL/USDT", "BTC/USDT"]
    assert pick_symbols(avail, ["SOL/USDT", "BTC/USDT", "XRP/USDT"], 2) == ["SOL/USDT", "BTC/USDT"]
    assert pick_symbols(avail, None, ["XRP/USDT"]) == ["XRP/USDT"]
    with pytest.raises(DataSourceError, match=r"assets: unknown symbol 'ETH/USD'; did you mean 'ETH/USDT'\? "
                                          r"\(available: BTC/USDT, ETH/USDT, SOL/USDT, XRP/USDT\)"):
        pick_symbols(avail, None, ["ETH/USD"])
    with pytest.raises(DataSourceError, match="data.symbols: unknown symbol 'DOGE'"):
        pick_symbols(avail, ["DOGE"], None)
    with pytest.raises(DataSourceError, match="asked for the first 5 assets, there are 4"):
        pick_symbols(avail, None, 5)


def test_risk_rules_both_forms_and_parameter_names(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
        data: {sample: crypto_hourly}
        strategy: {name: equal_weight}
        risk:
          - {rule: kill_switch, window: 12, threshold: 20, mode: flatten}
          - name: max_drawdown
            params: {threshold: 40}
    """))
    assert [(r.name, r.params) for r in cfg.risk] == [
        ("kill_switch", {"window": 12, "threshold": 20, "mode": "flatten"}),
        ("max_drawdown", {"threshold": 40})]
    err = problem(tmp_path, """
        data: {sample: crypto_hourly}
        strategy: {name: equal_weight}
        risk:
          - {rule: kill_switch, windw: 24}
          - name: kill_swich
    """)
    assert err.problems == [
        f"{tmp_path / 'run.yaml'}:4: unknown parameter 'risk[0].windw' for risk rule 'kill_switch'; "
        "did you mean 'window'?",
        f"{tmp_path / 'run.yaml'}:5: unknown risk rule 'kill_swich'; did you mean 'kill_switch'? "
        f"(available: {', '.join(sorted(RISK_RULES))})"]


def test_per_asset_only_for_strategies_that_take_it(tmp_path: Path) -> None:
    err = problem(tmp_path, """
        data: {sample: crypto_hourly}
        strategy:
          name: sma_cross
          params: {fast: 5, slow: 20}
          per_asset: {BTC/USDT: {fast: 3}}
    """)
    assert str(err) == f"{tmp_path / 'run.yaml'}:5: strategy 'sma_cross' takes no per_asset overrides"
    err = problem(tmp_path, """
        data: {sample: crypto_hourly}
        strategy:
          name: grid_atr
          per_asset:
            BTC/USDT: {num_levls: 3}
    """)
    assert str(err) == (f"{tmp_path / 'run.yaml'}:5: unknown parameter "
                        "'strategy.per_asset.BTC/USDT.num_levls' for strategy 'grid_atr'; "
                        "did you mean 'num_levels'?")


def test_docstring_examples() -> None:
    import doctest

    import multifolio.cli.config.schema
    import multifolio.data.window

    tried = 0
    for module in (multifolio.cli.config.schema, multifolio.data.window):
        failed, n = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failed == 0
        tried += n
    assert tried >= 3


def test_a_key_given_twice_is_an_error(tmp_path: Path) -> None:
    err = problem(tmp_path, """
        data: {sample: crypto_hourly}
        strategy: {name: equal_weight}
        capital: 1000
        fees: 0.001
        capital: 2000
    """)
    assert str(err) == f"{tmp_path / 'run.yaml'}:5: key 'capital' given twice (first on line 3)"


@pytest.mark.parametrize(("text", "expected"), [
    ("""
        data: {sample: crypto_hourly}
        strategy:
          name: grid_atr
          params:
            ma_period: 48
            num_levels: five
     """, ":6: strategy.params.num_levels: num_levels must be an integer >= 1, got 'five'"),
    ("""
        data: {sample: crypto_hourly}
        strategy:
          name: grid_atr
          per_asset:
            BTC/USDT: {ma_period: 72}
            ETH/USDT:
              ma_period: 60
              num_levels: -1
     """, ":8: strategy.per_asset.ETH/USDT.num_levels: num_levels for 'ETH/USDT' must be an integer >= 1"),
    ("""
        data: {sample: crypto_hourly}
        strategy: {name: grid_atr}
        risk:
          - name: kill_switch
            window: 24
            mode: nope
     """, ":6: risk[0].mode: kill_switch mode must be one of ['record', 'flatten', 'halt'], got 'nope'"),
    ("""
        data: {sample: crypto_hourly}
        strategy: {name: grid_atr}
        risk:
          - name: kill_switch
            params:
              threshold: -5
     """, ":6: risk[0].params.threshold: "),
], ids=["strategy_param", "per_asset_param", "risk_flat_form", "risk_params"])
def test_bad_parameter_values_point_at_their_line(tmp_path: Path, text: str, expected: str) -> None:
    err = problem(tmp_path, text)
    assert expected in str(err)
    assert str(err).startswith(str(tmp_path / "run.yaml") + ":")


def test_misspelt_params_block_of_a_risk_rule_suggests_params(tmp_path: Path) -> None:
    err = problem(tmp_path, """
        data: {sample: crypto_hourly}
        strategy: {name: equal_weight}
        risk:
          - name: kill_switch
            parms: {window: 12}
    """)
    expected = ":5: unknown parameter 'risk[0].parms' for risk rule 'kill_switch'; did you mean 'params'?"
    assert expected in str(err)
