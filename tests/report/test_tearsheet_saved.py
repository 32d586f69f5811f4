"""Tearsheet sections, escaping, the large-universe terminal report and the saved-run store."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mf_results import hourly, ledger_result, run_info, two_asset_result
from rich.console import Console

from multifolio.engine.run_info import StrategyInfo
from multifolio.report.extra_pages import compare_html, markdown_summary, sweep_html
from multifolio.report.html import SECTIONS, render_html
from multifolio.report.json_report import result_to_dict
from multifolio.report.page import sample_rows
from multifolio.report.saved_runs import RunStore, SavedRunError
from multifolio.report.terminal import render_report

EVIL = "<script>alert(1)</script>"
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _evil_result():
    idx = hourly(60)
    close = pd.DataFrame({EVIL: np.linspace(100, 120, 60), "B|C": np.linspace(50, 40, 60)}, index=idx)
    fills = [
        (idx[1], EVIL, 1.0, 100.3, 0.1, "signal"),
        (idx[2], "B|C", 2.0, 49.8, 0.1, "signal"),
        (idx[40], EVIL, -1.0, 113.5, 0.1, "take_profit"),
    ]
    r = ledger_result(
        close,
        fills,
        initial=1000.0,
        info=run_info(list(close.columns), 1000.0, strategy=StrategyInfo(EVIL, {"p": EVIL})),
    )
    return r, close


def test_every_user_string_is_escaped_in_html():
    r, close = _evil_result()
    pages = [render_html(r, close, title=EVIL), compare_html([r, r], [EVIL, "b"], title=EVIL)]
    table = pd.DataFrame({"capital": [1000.0], "n_assets": [2], "max_drawdown_pct": [5.0], "ok": [True]})
    answer = pd.DataFrame({"capital": [1000.0], "max_assets": [2], "max_drawdown_pct": [5.0]})
    pages.append(sweep_html(table, answer, 30.0, title=EVIL))
    for page in pages:
        # the only <script> tags are the page's own: plotly.js and one per figure
        assert "<script>alert(1)" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "\\u003cscript\\u003e" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]  # the per-asset table and header


def test_tearsheet_sections_and_json_figures():
    r, close = _evil_result()
    page = render_html(r, close)
    for title in (
        "Equity and drawdown",
        "Top 5 drawdowns",
        "Monthly and yearly returns",
        "Rolling Sharpe and volatility",
        "Distribution of bar returns",
        "Equity contribution by asset",
        "Trades",
        "Metrics",
        "thinned for display",
    ):
        assert title in page, title
    assert 'download="trades.csv"' in page and "data:text/csv" in page
    assert "Benchmark: equal-weight buy-and-hold (2 assets)" in page
    assert "fewer bars than the rolling window" in page  # 60 hourly bars < 30 days
    # a section returning None is left out; adding one is one list entry
    assert len(SECTIONS) == 14
    d = json.loads(json.dumps(result_to_dict(r, close)))["tearsheet"]
    assert d["duration_unit"] == "hours" and d["rolling_window"] == {"bars": 720, "label": "30 days"}
    assert d["monthly_returns_pct"]["2024"]["1"] == pytest.approx((r.equity.iloc[-1] / 1000 - 1) * 100)
    assert d["benchmark"]["name"].startswith("equal-weight") and d["cvar_pct"] >= d["var_pct"]
    with pytest.raises(ValueError, match="not a symbol"):
        render_html(r, close, benchmark="NOPE")
    assert "Benchmark: B|C buy-and-hold" in render_html(r, close, benchmark="B|C")


def test_sample_rows_keeps_ends():
    f = pd.DataFrame({"a": np.arange(10_000.0)})
    s = sample_rows(f, 300)
    assert len(s) <= 300 and s["a"].iloc[0] == 0 and s["a"].iloc[-1] == 9999


def test_markdown_summary_escapes_table_cells():
    r, _ = _evil_result()
    md = markdown_summary(r)
    assert "### The five answers" in md and "| B\\|C |" in md


def _wide_result(n_assets: int):
    idx = hourly(5)
    syms = [f"S{i:03d}" for i in range(n_assets)]
    close = pd.DataFrame(1000.0, index=idx, columns=syms)
    close.iloc[-1] = 1000.0 + np.arange(n_assets) - n_assets / 2  # asset i ends with pnl i - n/2
    fills = [(idx[0], s, 1.0, 1000.0, 0.0, "signal") for s in syms]
    fills += [(idx[-1], s, -1.0, close.iloc[-1][s], 0.0, "end_of_data") for s in syms]
    return ledger_result(close, fills, initial=1_000_000.0), close


def test_terminal_report_of_a_large_universe_shows_top_and_bottom():
    r, _ = _wide_result(500)
    con = Console(record=True, width=150)
    render_report(r, console=con)
    text = con.export_text()
    assert "top and bottom 10 contributors of 500 assets" in text
    assert "480 of 500 asset rows left out" in text and "--all-assets" in text
    assert "S499" in text and "S000" in text and "S250" not in text
    assert len(text.splitlines()) < 150
    con = Console(record=True, width=150)
    render_report(r, console=con, all_assets=True)
    assert "S250" in con.export_text()
    small, close = _wide_result(30)
    con = Console(record=True, width=150)
    render_report(small, console=con)
    assert "left out" not in con.export_text()


def test_saved_run_round_trip_and_listing(tmp_path):
    r = two_asset_result()
    path = tmp_path / "store.duckdb"
    with RunStore(path) as store:
        a = store.save_result(r, config={"path": "x.yaml"}, label="first")
        b = store.save_result(r, label="second")
    with RunStore(path, read_only=True) as store:
        assert store.list()["id"].tolist() == [a, b] == [1, 2]
        view = store.load(a).view()
        with pytest.raises(SavedRunError, match="no saved run 9"):
            store.load(9)
    pd.testing.assert_series_equal(view.equity, r.equity, check_freq=False)
    pd.testing.assert_frame_equal(view.trades, r.trades, check_dtype=False)
    pd.testing.assert_frame_equal(view.per_asset, r.per_asset, check_dtype=False)
    assert view.metrics["total_return_pct"] == pytest.approx(r.metrics["total_return_pct"])
    assert view.info == r.info
    with pytest.raises(SavedRunError, match="does not exist"):
        RunStore(tmp_path / "none.duckdb", read_only=True)


CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from mf_results import two_asset_result
import multifolio.report.saved_runs as sr
store = sr.RunStore({path!r})
store.save_result(two_asset_result(), label="complete")
original = sr.RunStore._write_frame
def slow(self, run_id, name, blob):
    original(self, run_id, name, blob)
    open({marker!r}, "w").write(name)     # inside the transaction, frames half written
    time.sleep(60)
sr.RunStore._write_frame = slow
store.save_result(two_asset_result(), label="killed")
"""


def test_a_run_killed_mid_save_leaves_no_partial_run(tmp_path):
    path, marker = tmp_path / "store.duckdb", tmp_path / "in-transaction"
    tests = str(Path(__file__).resolve().parents[1] / "analytics")
    code = textwrap.dedent(CHILD).format(tests=tests, path=str(path), marker=str(marker))
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert marker.exists(), "the child never reached the middle of its save"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with RunStore(path) as store:
        runs = store.list()
        assert runs["label"].tolist() == ["complete"]
        n_frames = store._con.execute("SELECT count(DISTINCT run_id) FROM mf_run_frames").fetchone()[0]
        assert n_frames == 1
        store.load(1).view()  # the complete run reads back
        assert store.save_result(two_asset_result(), label="after") == 2
    assert re.match(r"\w+", marker.read_text())
