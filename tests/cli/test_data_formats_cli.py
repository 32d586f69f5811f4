"""The data-format options reach the files from the command line and from a config, and errors speak
the audience's language: ``--date-format`` on the command line, ``data.date_format`` in a config."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from multifolio.cli.config import load_config, run_config
from multifolio.data.store import CandleStore

CORPUS = Path(__file__).resolve().parents[1] / "data" / "third_party"


def test_import_an_ambiguous_file_names_the_cli_option_then_imports_with_it(cli, tmp_path: Path) -> None:
    store = tmp_path / "c.duckdb"
    bad = cli("data", "import", CORPUS / "ambiguous.csv", "--store", store)
    assert bad.exit_code == 2
    assert "--date-format" in bad.stderr and "date_format=" not in bad.stderr
    ok = cli("data", "import", CORPUS / "ambiguous.csv", "--store", store, "--date-format", "dayfirst",
             "--exchange", "x", "--timeframe", "1d")
    assert ok.exit_code == 0, ok.stderr
    with CandleStore(store, read_only=True) as st:
        md = st.read(None, "1d", exchange="x")
    # 01.02.2024 read day first is the first of February
    assert md.index[0] == pd.Timestamp("2024-02-01", tz="UTC")


def test_a_config_names_data_date_format_and_reads_day_first_with_it(write_config, cli) -> None:
    bad = write_config(f"data: {{csv: {CORPUS / 'ambiguous.csv'}}}\nstrategy: {{name: equal_weight}}\n")
    result = cli("run", bad)
    assert result.exit_code == 2 and "data.date_format" in result.stderr, result.stderr
    good = write_config(f"data: {{csv: {CORPUS / 'dayfirst.csv'}, date_format: dayfirst}}\n"
                        "strategy: {name: equal_weight}\n", name="good.yaml")
    res = run_config(load_config(good))
    # 15 consecutive days from 2 January, none swapped into February..December
    assert res.equity.index.equals(pd.date_range("2017-01-02", periods=15, freq="D", tz="UTC"))


def test_a_config_timeframe_resamples_a_folder_of_mixed_bar_sizes(write_config) -> None:
    path = write_config(f"data: {{csv: {CORPUS / 'mixed_bar_sizes'}, timeframe: 1d}}\n"
                        "strategy: {name: equal_weight}\n")
    res = run_config(load_config(path))
    assert res.info.symbols == ("DAILY", "HOURLY")
    assert res.equity.index.freqstr in ("D", None) and len(res.equity) == 3
