"""HTML report: self-contained file, rendered by a real headless Chromium with the network cut off.

Chromium is required in CI (``CI=true``): there the test fails when it is missing. Elsewhere it is
skipped with the one command that installs it (``apt-get install chromium``). The
browser runs with a proxy that points at a closed local port, so any attempt to fetch a script from the
network would fail and leave the plots empty; the plots must render from the embedded plotly.js alone.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mf_results import EVENT_COLS, equity_result, hourly, ledger_result, run_info

from multifolio.engine.run_info import StrategyInfo
from multifolio.report.html import decimate, render_html, write_html_report

CHROMIUM = os.environ.get("MULTIFOLIO_CHROMIUM", "/usr/bin/chromium")
N_FIGURES = 9   # equity, monthly, yearly, distribution, contribution, margin, concurrency x2, PnL


def _report_result():
    """Three assets that dip together, with a kill-switch event and prices attached."""
    idx = hourly(48)
    base = np.full(48, 100.0)
    base[20:26] = [92.0, 80.0, 70.0, 66.0, 75.0, 90.0]
    close = pd.DataFrame({"A": base, "B": base * 0.5, "C": base * 2.0}, index=idx)
    fills = [(idx[21], "A", 1.0, 80.0, 0.08, "signal"), (idx[21], "B", 2.0, 40.0, 0.08, "signal"),
             (idx[22], "C", 1.0, 140.0, 0.14, "signal"), (idx[23], "A", 1.0, 66.0, 0.07, "signal"),
             (idx[26], "A", -2.0, 100.0, 0.2, "take_profit"), (idx[26], "B", -2.0, 50.0, 0.1, "take_profit"),
             (idx[47], "C", -1.0, 200.0, 0.2, "end_of_data")]
    details = {"start": idx[20], "peak": 1000.0, "trough": 690.0, "depth_pct": 31.0, "window_hours": 24.0,
               "threshold_pct": 30.0, "action": "record"}
    events = pd.DataFrame([(idx[23], "kill_switch", None, details)], columns=EVENT_COLS)
    r = ledger_result(close, fills, initial=400.0, events=events, info=run_info(list(close.columns), 400.0,
                                                                  strategy=StrategyInfo("grid_atr")))
    r.close = close
    return r


def test_html_is_self_contained(tmp_path):
    r = _report_result()
    path = tmp_path / "report.html"
    assert r.to_html(str(path)) == str(path)
    text = path.read_text(encoding="utf-8")
    # plotly.js is inlined once, no script is loaded from anywhere
    assert not re.search(r"<script[^>]+src=", text)
    n_divs = len(re.findall(r'<div id="mf-plot-\d+"', text))
    assert n_divs >= N_FIGURES and text.count("Plotly.newPlot") == n_divs
    assert len(text) > 3_000_000    # the plotly.js bundle itself
    assert "The five answers" in text and "Max drawdown on shared capital" in text
    assert "Kill-switch events" in text and "Equity at trigger" in text
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_html_report(r, tmp_path / "nowhere" / "r.html")


def test_decimate_keeps_extremes_and_ends():
    values = np.sin(np.linspace(0, 60, 50_000)) * 100
    values[12_345] = -500.0   # a one-bar crash must survive
    s = pd.Series(values, index=hourly(50_000))
    d = decimate(s, 4000)
    assert len(d) <= 4000
    assert d.min() == -500.0 and d.max() == s.max()
    assert d.index[0] == s.index[0] and d.index[-1] == s.index[-1]
    assert d.index.is_monotonic_increasing
    short = pd.Series([1.0, 2.0], index=hourly(2))
    assert decimate(short).equals(short)


def test_long_runs_stay_small_enough_to_draw():
    r = equity_result(100 + np.cumsum(np.random.default_rng(0).normal(0, 1, 30_000)), initial=100.0)
    page = render_html(r)
    # the decimated lines hold a few thousand points each, not 30,000
    assert len(page) < 4_900_000 + 1_000_000


INSTALL = "apt-get install chromium"


def require_chromium(path: str = CHROMIUM) -> None:
    """Skip without chromium, except in CI (``CI=true``), where the browser test is required."""
    if Path(path).exists():
        return
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"chromium not found at {path}: CI=true requires the browser test ({INSTALL})")
    pytest.skip(f"chromium not found at {path}: install it with `{INSTALL}` (required when CI=true)")


def test_missing_chromium_skips_locally_and_fails_in_ci(monkeypatch, tmp_path):
    missing = str(tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        require_chromium(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true requires the browser test"):
        require_chromium(missing)
    require_chromium(__file__)          # an existing file: neither


def _chromium_dom(html_path: Path, tmp_path: Path) -> str:
    require_chromium()
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium-profile'}",
           # every network request goes to a closed port: only the embedded scripts can work
           "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
           "--virtual-time-budget=15000", "--dump-dom", html_path.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.browser
def test_plots_render_in_headless_chromium_offline(tmp_path):
    r = _report_result()
    path = tmp_path / "report.html"
    write_html_report(r, path)
    dom = _chromium_dom(path, tmp_path)
    # plotly turned each figure div into a plot with its own SVG layers
    assert dom.count("js-plotly-plot") >= N_FIGURES
    for i in range(N_FIGURES):
        div = re.search(rf'<div id="mf-plot-{i}"[^>]*class="([^"]*)"', dom)
        assert div and "js-plotly-plot" in div.group(1), f"figure {i} did not render"
    assert dom.count('class="main-svg"') >= N_FIGURES
    # traces were drawn: line paths and bars
    assert 'class="js-line"' in dom and 'class="point"' in dom
    assert "Max drawdown on shared capital" in dom


# -- the tearsheet, a multi-run comparison and a sweep in the browser --------------------------------------

ARTIFACTS = Path(os.environ.get("MULTIFOLIO_ARTIFACTS", "test-artifacts"))
SIZE_LIMIT = 6_000_000


def _chromium_run(html_path: Path, tmp_path: Path, shot: Path) -> tuple[str, list[str]]:
    """The rendered DOM and the page's console messages; a PNG screenshot written to ``shot``."""
    require_chromium()
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / ('profile-' + shot.stem)}", "--enable-logging=stderr", "--v=0",
           "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
           "--virtual-time-budget=15000", "--window-size=1280,4000", f"--screenshot={shot}",
           "--dump-dom", html_path.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    return proc.stdout, console


def _assert_drawn(dom: str, n_figures: int, console: list[str], name: str) -> None:
    errors = [ln for ln in console if "rror" in ln or "Uncaught" in ln]
    assert not errors, f"{name}: console errors {errors}"
    for i in range(n_figures):
        div = re.search(rf'<div id="mf-plot-{i}"[^>]*class="([^"]*)"', dom)
        assert div and "js-plotly-plot" in div.group(1), f"{name}: figure {i} did not render"
    assert dom.count('class="main-svg"') >= n_figures


def _two_year_hourly_result():
    """21 assets x 2 years of hourly bars (the bundled sample), equal weights rebalanced daily."""
    import multifolio as mf
    from multifolio.data import samples
    from multifolio.strategies.registry import STRATEGIES

    data = samples.crypto_hourly()
    return mf.backtest(data, STRATEGIES["equal_weight"](schedule="daily"), cash=10_000.0, fees=0.001)


def _three_portfolios():
    """A grid, a top-N and an SMA cross on overlapping symbols, 60 days, with a weekly allocator."""
    import multifolio as mf
    from multifolio.data import samples
    from multifolio.strategies import GridATR, SmaCross, TopN

    data = samples.crypto_hourly().slice("2024-03-01", "2024-04-30")
    ports = [mf.Portfolio("grid", GridATR(num_levels=4), 5_000.0, ["BTC/USDT", "ETH/USDT"]),
             mf.Portfolio("momentum", TopN(k=2, lookback=48, schedule="daily"), 3_000.0),
             mf.Portfolio("trend", SmaCross(fast=12, slow=48), 2_000.0, ["BTC/USDT", "SOL/USDT"])]
    return mf.backtest_portfolios(data, ports, fees=0.001, allocator=mf.CapitalAllocator(
        [p.id for p in ports], weights="equal", schedule="weekly"))


def _small_walk_forward():
    """Both modes of a walk-forward of a 3-pair grid over 30 days (10-day train, 5-day test spans)."""
    import multifolio as mf
    from multifolio.data import samples
    from multifolio.portfolio.spec import AccountSpec, RunSpec
    from multifolio.sweep.optimize import walk_forward

    spec = RunSpec(strategy="grid_atr", params={"ma_period": 24, "atr_period": 14},
                   account=AccountSpec(capital=10_000.0, fees=0.001),
                   symbols=("BTC/USDT", "ETH/USDT", "SOL/USDT"), days=30, warmup_bars=50)
    return walk_forward(mf.run_spec, spec, samples.crypto_hourly(), {"num_levels": [3, 5]}, train="10d",
                        test="5d", mode="both", workers=1)


@pytest.mark.browser
def test_tearsheet_compare_and_sweep_pages_render_offline(tmp_path):
    from multifolio.report.extra_pages import compare_html, sweep_html
    from multifolio.report.multi import render_multi_html
    from multifolio.report.optimize_report import render_optimize_html
    from multifolio.sweep.sizing import max_assets_per_capital

    require_chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    big = _two_year_hourly_result()
    assert len(big.symbols) == 21 and len(big.equity) >= 17_000
    pages = {"tearsheet-21x2y-hourly": render_html(big, title="21 assets x 2 years hourly"),
             "compare": compare_html([big, _report_result()], ["2 years", "48 hours"])}
    table = pd.DataFrame({"capital": [1000.0, 1000, 5000, 5000], "n_assets": [3, 5, 3, 5],
                          "max_drawdown_pct": [12.0, 41.0, 8.0, 22.0], "liquidations": [0] * 4,
                          "rejected_min_notional": [0] * 4, "ok": [True, False, True, True]})
    pages["sweep"] = sweep_html(table, max_assets_per_capital(table, 30.0), 30.0)
    pages["multi-portfolio"] = render_multi_html(_three_portfolios(), title="<b>three</b> systems")
    pages["optimize"] = render_optimize_html(_small_walk_forward(), title="<i>walk-forward</i>")
    for name, text in pages.items():
        path = tmp_path / f"{name}.html"
        path.write_text(text, encoding="utf-8")
        size = path.stat().st_size
        n_figures = len(re.findall(r'<div id="mf-plot-\d+"', text))
        shot = ARTIFACTS / f"{name}.png"
        dom, console = _chromium_run(path, tmp_path, shot)
        _assert_drawn(dom, n_figures, console, name)
        assert shot.exists() and shot.stat().st_size > 10_000
        print(f"{name}: {size / 1e6:.2f} MB, {n_figures} figures, screenshot {shot}")
        assert size < SIZE_LIMIT, f"{name}: {size:,} bytes"
    assert "Monthly and yearly returns" in pages["tearsheet-21x2y-hourly"]
    assert "&lt;b&gt;three&lt;/b&gt;" in pages["multi-portfolio"]
    assert "&lt;i&gt;walk-forward&lt;/i&gt;" in pages["optimize"] and 'id="optimize"' in pages["optimize"]
    assert "30 days window" in pages["tearsheet-21x2y-hourly"]
