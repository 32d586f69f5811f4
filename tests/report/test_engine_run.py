"""Analytics and reports on a real engine run: a grid portfolio on one margin account through a crash.

The invariants are checked against the engine's own frames (not against numbers copied from a run):
per-asset PnL sums to the portfolio's PnL, the kill-switch rule (record mode) fires exactly where the
independent episode computation says, fees and margin agree with the snapshots, and every report
renders.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import multifolio as mf
from multifolio.analytics.concurrency import crash_bars
from multifolio.analytics.five_answers import five_answers
from multifolio.analytics.kill_switch import kill_switch_episodes, kill_switch_events
from multifolio.data import MarketData
from multifolio.portfolio.risk import KillSwitch
from multifolio.report.terminal import render_report
from multifolio.strategies import GridATR


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(7)
    n_bars, symbols = 400, ["A", "B", "C", "D"]
    idx = pd.date_range("2024-01-01", periods=n_bars, freq="h", tz="UTC")
    common = rng.normal(0.0, 0.004, n_bars)
    common[250:262] = np.log(0.965)          # every asset loses about 35% in 12 hours
    rets = common[:, None] + rng.normal(0.0, 0.006, (n_bars, len(symbols)))
    close = 100.0 * np.exp(np.cumsum(rets, axis=0)) * np.array([1.0, 0.5, 2.0, 10.0])
    open_ = np.vstack([close[:1], close[:-1]])
    frame = lambda a: pd.DataFrame(a, index=idx, columns=symbols)  # noqa: E731
    md = MarketData.from_frames(close=frame(close), open=frame(open_),
                                high=frame(np.maximum(open_, close) * 1.003),
                                low=frame(np.minimum(open_, close) * 0.997))
    strategy = GridATR(ma_period=24, atr_period=14, num_levels=3, sides="long", sl_percent=50.0, leverage=2.0)
    res = mf.backtest(md, strategy, cash=10_000.0, fees=0.001, leverage=3.0, min_notional=5.0,
                      risk=[KillSwitch(window=24, threshold=20, mode="record")], start=idx[48])
    return res, frame(close)


def test_per_asset_pnl_sums_to_the_portfolio_pnl(run):
    res, _ = run
    table = res.per_asset
    pnl = float(res.equity.iloc[-1]) - res.initial_capital
    assert res.trades["exit_reason"].isin(["end_of_data"]).any()     # closes at the end are counted
    assert table["pnl"].sum() == pytest.approx(pnl, rel=1e-9, abs=1e-6)
    # all positions were closed at the end: trade pnl (fees of both legs) matches asset by asset
    by_trades = res.trades.groupby("symbol")["pnl"].sum()
    assert by_trades.to_dict() == pytest.approx(table["pnl"].to_dict(), rel=1e-9, abs=1e-6)
    assert table["trades"].sum() == res.metrics["total_trades"] == len(res.trades)
    assert table["fees"].sum() == pytest.approx(res.metrics["fees_paid"])


def test_metrics_agree_with_the_snapshots(run):
    res, _ = run
    m, snaps = res.metrics, res.snapshots
    assert m["fees_paid"] == pytest.approx(float(snaps["fees_paid"].iloc[-1]), rel=1e-9)
    assert m["peak_margin_ratio"] == pytest.approx(float((snaps["margin_used"] / res.initial_capital).max()))
    assert m["peak_concurrent_assets"] == int(snaps["n_assets_with_positions"].max())
    assert m["peak_filled_levels"] == int(snaps["n_filled_levels"].max()) > 0
    peak = np.maximum.accumulate(np.concatenate([[res.initial_capital], res.equity.to_numpy()]))
    dd = 1 - np.concatenate([[res.initial_capital], res.equity.to_numpy()]) / peak
    assert m["max_drawdown_pct"] == pytest.approx(dd.max() * 100)
    assert m["exposure_pct"] == pytest.approx((snaps["n_open_positions"] > 0).mean() * 100)


def test_kill_switch_rule_matches_the_independent_episodes(run):
    res, _ = run
    events = kill_switch_events(res.events)
    episodes = kill_switch_episodes(res.equity, window=24, threshold_pct=20)
    assert len(events) >= 1
    assert list(events["timestamp"]) == list(episodes["trigger_time"])
    assert list(events["start"]) == list(episodes["peak_time"])
    at_trigger = episodes["depth_at_trigger_pct"].to_numpy()
    assert events["trigger_depth_pct"].to_numpy() == pytest.approx(at_trigger)
    # the episode's trough, from the rule's own bookkeeping and from the equity curve alone
    assert events["trough"].to_numpy(dtype=float) == pytest.approx(episodes["trough_equity"].to_numpy(float))
    assert list(events["trough_time"]) == list(episodes["trough_time"])
    assert res.metrics["kill_switch_triggers"] == len(events)


def test_crash_concurrency_reaches_every_asset(run):
    res, close = run
    answers = five_answers(res, close=close.loc[res.equity.index[0]:])
    fc = answers["fill_correlation"]
    assert fc["crash_bars"] == int(crash_bars(close, 10, 24).loc[res.equity.index].sum()) > 0
    assert fc["crash_peak_assets"] == len(res.symbols) == fc["peak_concurrent_assets"]
    assert fc["crash_mean_assets"] > fc["normal_mean_assets"]


def test_reports_render(run, tmp_path):
    res, close = run
    res.close = close.loc[res.equity.index[0]:]
    d = json.loads(res.to_json())
    assert d["n_assets"] == 4 and d["kill_switch_triggers"] == len(d["kill_switch_events"]) >= 1
    assert d["five_answers"]["fill_correlation"]["crash_bars"] > 0
    console = Console(record=True, width=120)
    render_report(res, console)
    text = console.export_text()
    assert text.index("1. Max drawdown") < text.index("Per-asset results") < text.index("Metrics")
    assert "mode record): fired" in text
    path = res.to_html(str(tmp_path / "r.html"))
    assert "Plotly.newPlot" in open(path, encoding="utf-8").read()
