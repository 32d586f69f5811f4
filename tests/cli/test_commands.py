"""`multifolio strategies`, `multifolio data ...`, a store-backed run, --version and the progress bar."""

from __future__ import annotations

import json
from pathlib import Path

from multifolio import __version__
from multifolio.cli.common import ProgressBar, parse_assets
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
    off = ProgressBar(False, delay=0.0)
    with off:
        off(5, 10)
    assert off._progress is None
    slow = ProgressBar(True, delay=3600.0)     # a run shorter than the delay never shows a bar
    with slow:
        slow(5, 10)
        assert slow._progress is None
    shown = ProgressBar(True, delay=0.0)
    with shown:
        shown(3, 10)
        assert shown._progress is not None
        shown(10, 10)
        task = shown._progress.tasks[0]
        assert (task.completed, task.total) == (10, 10)
    assert shown._progress is None                  # removed when the run ends


class FakeExchange:
    """Serves hourly candles from a fixed clock, `limit` per page, like ccxt's fetch_ohlcv."""

    id = "fakex"
    rateLimit = 0

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self.requests: list[tuple[str, int]] = []

    def milliseconds(self) -> int:
        return self.now_ms

    def fetch_ohlcv(self, symbol: str, timeframe: str, since: int, limit: int) -> list[list[float]]:
        self.requests.append((symbol, since))
        hour = 3_600_000
        first = -(-since // hour) * hour
        rows = []
        for k in range(min(limit, 50)):                # pages of at most 50 candles
            t = first + k * hour
            if t + hour > self.now_ms:
                break
            p = 100.0 + (t // hour) % 7
            rows.append([t, p, p + 1, p - 1, p + 0.5, 10.0])
        return rows


def test_data_fetch_writes_then_resumes(cli, tmp_path: Path, monkeypatch) -> None:
    import pandas as pd

    import multifolio.data.exchange as exchange_mod

    t0 = int(pd.Timestamp("2024-01-01", tz="UTC").value // 1_000_000)
    fake = FakeExchange(now_ms=t0 + 120 * 3_600_000)   # 120 closed hourly candles since t0
    monkeypatch.setattr(exchange_mod, "make_exchange", lambda name, **kw: fake)
    store = tmp_path / "x.duckdb"

    result = cli("data", "fetch", "--exchange", "fakex", "--symbols", "BTC/USDT", "--timeframe", "1h",
                 "--since", "2024-01-01", "--store", store)
    assert result.exit_code == 0, result.stderr
    with CandleStore(store, read_only=True) as st:
        r = st.ranges()
    assert r["n_bars"].tolist() == [120] and r["exchange"].tolist() == ["fakex"]

    fake.now_ms += 10 * 3_600_000                       # ten more candles close
    fake.requests.clear()
    result = cli("data", "fetch", "--exchange", "fakex", "--symbols", "BTC/USDT", "--store", store)
    assert result.exit_code == 0, result.stderr
    assert fake.requests[0][1] == t0 + 120 * 3_600_000  # resumed after the newest stored candle
    with CandleStore(store, read_only=True) as st:
        assert st.ranges()["n_bars"].tolist() == [130]

    result = cli("data", "fetch", "--exchange", "fakex", "--symbols", "ETH/USDT", "--store", store)
    assert result.exit_code == 2
    assert "--since is needed for symbols not yet in" in result.stderr and "ETH/USDT" in result.stderr


def test_progress_only_for_a_terminal_and_not_quiet(monkeypatch) -> None:
    import io
    import sys

    from multifolio.cli.common import progress_enabled

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert progress_enabled(quiet=False) is False       # redirected output: no bar
    monkeypatch.setattr(sys, "stdout", Tty())
    assert progress_enabled(quiet=False) is True
    assert progress_enabled(quiet=True) is False
