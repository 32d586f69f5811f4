"""`multifolio strategies`, `multifolio data ...`, a store-backed run, --version and the progress bar."""

from __future__ import annotations

import json
from pathlib import Path

from multifolio import __version__
from multifolio.cli.common import ProgressReporter, parse_assets
from multifolio.data.store import CandleStore
from multifolio.strategies.registry import STRATEGIES

from .conftest import EXAMPLES


def test_version(cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"multifolio {__version__}"


def test_strategies_lists_every_builtin_and_its_parameters(cli) -> None:
    result = cli("strategies")
    assert result.exit_code == 0, result.stderr
    for name, cls in STRATEGIES.items():
        assert name in result.stdout
        for param in cls.PARAMS:
            assert param in result.stdout, (name, param)
    one = cli("strategies", "sma_cross")
    assert "sma_cross" in one.stdout and "grid_atr" not in one.stdout


def test_data_synth_ls_and_run_from_the_store(cli, tmp_path: Path, write_config) -> None:
    store = tmp_path / "candles.duckdb"
    result = cli("data", "synth", "--store", store, "--assets", "3", "--bars", "240", "--seed", "5")
    assert result.exit_code == 0, result.stderr
    assert "wrote 720 synthetic 1h candles" in result.stdout
    listing = cli("data", "ls", "--store", store)
    assert listing.exit_code == 0
    assert listing.stdout.count("synthetic") == 3 and "240" in listing.stdout

    cfg = write_config(f"""
        data: {{store: {store.name}, symbols: [S002, S000], warmup_bars: 24}}
        capital: 1000
        strategy: {{name: equal_weight, params: {{schedule: daily}}}}
    """)
    out = tmp_path / "r.json"
    run = cli("run", cfg, "--quiet", "--output", out, "--days", "3")
    assert run.exit_code == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["assets"] == ["S002", "S000"] and report["n_assets"] == 2

    wrong = cli("run", cfg, "--quiet", "--exchange", "nowhere")
    assert wrong.exit_code == 2
    assert wrong.stderr.startswith("error: ") and len(wrong.stderr.strip().splitlines()) == 1


def test_data_import_csv_and_a_bad_file_changes_nothing(cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    result = cli("data", "import", EXAMPLES / "data" / "prices.csv", "--store", store, "--exchange", "demo")
    assert result.exit_code == 0, result.stderr
    assert "imported 780 candles" in result.stdout
    with CandleStore(store, read_only=True) as st:
        ranges = st.ranges()
    assert sorted(ranges["symbol"]) == ["ACME", "GLOBEX", "INITECH"]
    assert set(ranges["n_bars"]) == {260} and set(ranges["exchange"]) == {"demo"}

    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,symbol,open,high,low,close,volume\n"
                   "2024-01-01,ZZZ,10,9,11,10,1\n")          # high < low
    result = cli("data", "import", bad, "--store", store)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "ZZZ" in result.stderr
    with CandleStore(store, read_only=True) as st:
        assert "ZZZ" not in st.symbols()

    missing = cli("data", "import", tmp_path / "nope.csv", "--store", store)
    assert missing.exit_code == 2 and "nope.csv" in missing.stderr
    nostore = cli("data", "ls", "--store", tmp_path / "absent.duckdb")
    assert nostore.exit_code == 2 and "absent.duckdb" in nostore.stderr


def test_parse_assets() -> None:
    assert parse_assets(None) is None
    assert parse_assets("5") == 5
    assert parse_assets(" BTC/USDT, ETH/USDT ,") == ["BTC/USDT", "ETH/USDT"]


def test_progress_reporter_waits_then_shows_and_stays_off_when_disabled() -> None:
    off = ProgressReporter(False, delay=0.0)
    with off:
        off(5, 10)
    assert off._progress is None
    slow = ProgressReporter(True, delay=3600.0)     # a run shorter than the delay never shows a bar
    with slow:
        slow(5, 10)
        assert slow._progress is None
    shown = ProgressReporter(True, delay=0.0)
    with shown:
        shown(3, 10)
        assert shown._progress is not None
        shown(10, 10)
        task = shown._progress.tasks[0]
        assert (task.completed, task.total) == (10, 10)
    assert shown._progress is None                  # removed when the run ends
