"""Self-contained HTML report: one file with plotly.js embedded, readable offline.

The page is a list of sections (:data:`SECTIONS`), one function each, ``(ctx: ReportContext) -> Section |
None``: the five answers; the tearsheet (equity against a benchmark with drawdowns shaded, the top
drawdowns, monthly and yearly returns, rolling Sharpe and volatility, the distribution of bar returns
with VaR/CVaR, each asset's contribution; :mod:`multifolio.report.tearsheet`); margin; fill
concurrency; per-asset results; kill-switch events; trades with a CSV download; the metrics table.
Adding a section is one line: append its function to ``SECTIONS``.

Long series are decimated for drawing only (each bucket keeps its first, lowest, highest and last
point, so troughs and peaks survive); every figure in the page is computed on the full data, and the
page says so. Every user-supplied string (symbols, titles, config values) is escaped.

>>> [fn.__name__ for fn in SECTIONS][:3]
['answers_section', 'equity_section', 'drawdowns_section']
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from multifolio.analytics.concurrency import crash_bars, equal_weight_index, window_to_bars
from multifolio.analytics.kill_switch import kill_switch_events
from multifolio.report import tearsheet
from multifolio.report.allocation_sections import allocation_section
from multifolio.report.page import (
    MAX_POINTS,
    ReportContext,
    Section,
    SectionFn,
    decimate,
    line,
    para,
    render_page,
    table,
    ts,
    x_values,
    y_values,
)
from multifolio.report.terminal import METRIC_ROWS, cell, fmt

__all__ = ["SECTIONS", "MAX_POINTS", "decimate", "render_html", "write_html_report"]


def answers_section(ctx: ReportContext) -> Section:
    """The five answers, one sentence each."""
    items = "".join(f"<li>{html.escape(a['answer'])}</li>" for a in ctx.answers.values())
    return Section("The five answers", [f'<ol class="answers">{items}</ol>'], anchor="answers")


def margin_section(ctx: ReportContext) -> Section:
    """Margin used as % of the initial capital over time."""
    import plotly.graph_objects as go

    snaps = ctx.result.snapshots
    fig = go.Figure()
    if "margin_ratio" in snaps.columns:
        fig.add_trace(line(snaps["margin_ratio"].astype(float) * 100.0, "Margin used % of capital",
                           fill="tozeroy"))
    fig.update_layout(title="Margin used (% of initial capital)", height=300, yaxis_title="%",
                      margin={"t": 50, "b": 30})
    return Section("Margin", [fig], anchor="margin")


def concurrency_section(ctx: ReportContext) -> Section:
    """Open positions and assets held over time (crash bars and the equal-weight index when prices are
    known), and the distribution of bars by number of assets held."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    result, close = ctx.result, ctx.close
    conc = ctx.answers["fill_correlation"]
    snaps = result.snapshots
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for col, name, dash in (("n_open_positions", "Open positions", "dot"),
                            ("n_assets_with_positions", "Assets with positions", "solid")):
        if col in snaps.columns:
            fig.add_trace(line(snaps[col].astype(float), name, line_shape="hv", line_dash=dash))
    if close is not None and len(snaps):
        crash = crash_bars(close, conc["crash_pct"], window_to_bars(conc["crash_window_hours"],
                                                                     getattr(result, "freq", None)))
        crash = crash.reindex(snaps.index, fill_value=False).astype(bool)
        held = snaps.get("n_assets_with_positions", pd.Series(0.0, index=snaps.index)).astype(float)
        pts = held[crash.to_numpy()]
        fig.add_trace(go.Scatter(x=x_values(pts.index), y=y_values(pts.to_numpy()), mode="markers",
                                 name="Crash bar", marker={"color": "#c62828", "size": 5, "symbol": "x"}))
        ew = equal_weight_index(close).reindex(snaps.index)
        fig.add_trace(line(ew / float(ew.dropna().iloc[0]) if ew.notna().any() else ew,
                           "Equal-weight index", line_color="#888", opacity=0.6), secondary_y=True)
        fig.update_yaxes(title_text="index", secondary_y=True, showgrid=False)
    fig.update_yaxes(title_text="count", secondary_y=False)
    fig.update_layout(title=f"Fill concurrency ({len(result.symbols)} assets)", height=340,
                      margin={"t": 50, "b": 30})
    dist = conc.get("distribution") or {}
    bars = go.Figure(go.Bar(x=list(dist.keys()), y=list(dist.values()), name="Bars"))
    bars.update_layout(title="Bars by number of assets with positions", height=300,
                       xaxis_title="assets with positions", yaxis_title="bars", margin={"t": 50, "b": 30},
                       xaxis={"dtick": 1})
    return Section("Fill concurrency", [fig, bars], anchor="concurrency")


def per_asset_section(ctx: ReportContext) -> Section:
    """Every asset's row (all of them, whatever the universe size) and the PnL bars."""
    import plotly.graph_objects as go

    t = ctx.per_asset
    rows = [[str(s), fmt(r["trades"], "{:d}"), fmt(r["win_rate"], "{:.1f}"), fmt(r["pnl"]),
             fmt(r["return_contribution_pct"], "{:+.2f}"), fmt(r["fees"]), fmt(r["rejected"], "{:d}"),
             fmt(r["rejected_margin"], "{:d}"), fmt(r["rejected_min_notional"], "{:d}"),
             fmt(r["peak_filled_levels"], "{:d}")] for s, r in t.iterrows()]
    tbl = table(["Asset", "Trades", "Win %", "PnL", "Contrib % of capital", "Fees", "Rejected", "for margin",
                 "for min notional", "Peak levels"], rows, signed_col=3)
    pnl = t["pnl"].astype(float)
    fig = go.Figure(go.Bar(x=[str(s) for s in t.index], y=pnl.to_numpy(),
                           marker_color=["#1a7f37" if v > 0 else "#c62828" for v in pnl.fillna(0.0)]))
    fig.update_layout(title="PnL by asset (net of fees)", height=320, margin={"t": 50, "b": 30})
    return Section("Per-asset results", [f'<div class="scroll">{tbl}</div>', fig], anchor="per-asset")


def kill_switch_section(ctx: ReportContext) -> Section:
    """The kill-switch events with their peak, trigger, trough and action."""
    evs = kill_switch_events(getattr(ctx.result, "events", None))
    if not len(evs):
        return Section("Kill-switch events", [para("None.")], anchor="kill-switch")
    body = table(["Time", "Window peak at", "Peak equity", "Equity at trigger", "Trough", "Trough at",
                  "Depth %", "Window h", "Threshold %", "Action"],
                 [[ts(e["timestamp"]), cell(e["start"]), cell(e["peak"]), cell(e["trigger_equity"]),
                   cell(e["trough"]), cell(e["trough_time"]), fmt(e["depth_pct"], "{:.1f}"),
                   fmt(e["window_hours"], "{:g}"), fmt(e["threshold_pct"], "{:g}"), str(e["action"])]
                  for _, e in evs.iterrows()])
    return Section("Kill-switch events", [body], anchor="kill-switch")


def metrics_section(ctx: ReportContext) -> Section:
    """The metrics table."""
    m = ctx.metrics
    return Section("Metrics", [table(["Metric", "Value"], [[label, fmt(m[k], spec)]
                                                           for k, label, spec in METRIC_ROWS if k in m])],
                   anchor="metrics")


#: The page, in order. A new section is one line here (a function ``(ctx) -> Section | None``).
SECTIONS: list[SectionFn] = [
    answers_section,
    tearsheet.equity_section,
    tearsheet.drawdowns_section,
    tearsheet.returns_section,
    tearsheet.rolling_section,
    tearsheet.distribution_section,
    tearsheet.contribution_section,
    margin_section,
    concurrency_section,
    per_asset_section,
    kill_switch_section,
    tearsheet.trades_section,
    allocation_section,
    metrics_section,
]

DECIMATION_NOTE = ("Charts of long series are thinned for display (at most about {n:,} points per line, each "
                   "bucket keeping its first, lowest, highest and last value); every figure in the tables "
                   "and texts is computed on the full data ({bars:,} bars).")


def render_html(result: Any, close: pd.DataFrame | None = None, title: str = "multifolio report",
                benchmark: str | pd.Series | None = None) -> str:
    """The report as one HTML string (plotly.js embedded once in the head).

    ``benchmark``: None (equal-weight buy-and-hold of the run's universe), a symbol of the run, or a
    price Series.
    """
    if close is None:
        close = getattr(result, "close", None)
    ctx = ReportContext(result, close, benchmark)
    sections = [s for fn in SECTIONS if (s := fn(ctx)) is not None]
    m = ctx.metrics
    period = f"{ts(m['start'])} to {ts(m['end'])} UTC, {m['period_days']:.1f} days, {m['n_bars']:,} bars"
    strategy = result.info.strategy.name if result.info.strategy is not None else ""
    header = (html.escape(str(strategy)) + " &middot; " if strategy else "") + f"{len(result.symbols)} assets"
    header = (f'<p class="muted">{header} &middot; {html.escape(period)} &middot; initial capital '
              f"{html.escape(fmt(m['initial_capital']))}</p>")
    footer = para(DECIMATION_NOTE.format(n=MAX_POINTS, bars=len(result.equity)), "muted")
    return render_page(title, header, sections, footer)


def write_html_report(result: Any, path: str | Path, close: pd.DataFrame | None = None,
                      title: str = "multifolio report", benchmark: str | pd.Series | None = None) -> str:
    """Write the self-contained HTML report of ``result`` to ``path``; returns the path as a string."""
    p = Path(path)
    if not p.parent.exists():
        raise FileNotFoundError(f"write_html_report: directory {str(p.parent)!r} does not exist")
    p.write_text(render_html(result, close, title, benchmark), encoding="utf-8")
    return str(p)
