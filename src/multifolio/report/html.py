"""Self-contained HTML report: one file with plotly.js embedded, readable offline.

Sections: the five answers, equity and drawdown, margin ratio, fill concurrency (with crash bars when
prices are known) and its distribution, per-asset table and PnL bars, kill-switch events, recent trades
and the metrics table. Long series are decimated for drawing only (each bucket keeps its first, lowest,
highest and last point, so troughs and peaks survive); every figure in the page is computed on the full
data.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from multifolio.analytics.concurrency import crash_bars, equal_weight_index, window_to_bars
from multifolio.analytics.drawdown import drawdown_series
from multifolio.analytics.five_answers import five_answers
from multifolio.analytics.kill_switch import kill_switch_events
from multifolio.report.allocation_sections import allocation_html
from multifolio.report.json_report import recent_trades, result_metrics, result_per_asset
from multifolio.report.terminal import METRIC_ROWS, cell, fmt

MAX_POINTS = 4000

_CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 24px auto;
       max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
ol.answers li { margin: 0.35em 0; }
table.mf { border-collapse: collapse; font-size: 0.9em; }
table.mf th, table.mf td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
table.mf th:first-child, table.mf td:first-child { text-align: left; }
td.pos { color: #1a7f37; } td.neg { color: #c62828; }
.muted { color: #777; font-size: 0.85em; }
"""


def decimate(s: pd.Series, max_points: int = MAX_POINTS) -> pd.Series:
    """At most about ``max_points`` points of ``s`` for drawing, keeping each bucket's extremes.

    >>> import pandas as pd
    >>> s = pd.Series(range(100), dtype=float)
    >>> d = decimate(s, 20)
    >>> len(d) <= 20, float(d.iloc[-1]), float(d.min())
    (True, 99.0, 0.0)
    """
    n = len(s)
    if n <= max_points:
        return s
    buckets = max(1, max_points // 4)
    edges = np.linspace(0, n, buckets + 1).astype(int)
    v = s.to_numpy(dtype=float)
    keep: list[int] = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b <= a:
            continue
        seg = v[a:b]
        finite = np.isfinite(seg)
        picks = {a, b - 1}
        if finite.any():
            picks |= {a + int(np.nanargmin(seg)), a + int(np.nanargmax(seg))}
        keep.extend(sorted(picks))
    return s.iloc[sorted(set(keep))]


def _line(s: pd.Series, name: str, **kw: Any) -> go.Scatter:
    d = decimate(s)
    return go.Scatter(x=d.index, y=d.to_numpy(dtype=float), name=name, mode="lines", **kw)


def _equity_figure(result: Any, m: dict[str, Any]) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.05)
    fig.add_trace(_line(result.equity, "Equity"), row=1, col=1)
    fig.add_hline(y=float(result.initial_capital), line_dash="dot", line_color="#999", row=1, col=1)
    dd = drawdown_series(result.equity, initial=float(result.initial_capital))
    fig.add_trace(_line(dd, "Drawdown %", fill="tozeroy", line_color="#c62828"), row=2, col=1)
    if m.get("max_drawdown_trough_time") is not None:
        t = m["max_drawdown_trough_time"]
        fig.add_trace(go.Scatter(x=[t], y=[float(dd.loc[t])], mode="markers+text", name="Max drawdown",
                                 text=[f"-{m['max_drawdown_pct']:.1f}%"], textposition="middle right",
                                 marker={"color": "#c62828", "size": 9}), row=2, col=1)
    evs = kill_switch_events(getattr(result, "events", None))
    if len(evs):
        times = pd.DatetimeIndex(evs["timestamp"])
        at = result.equity.reindex(times)
        fig.add_trace(go.Scatter(x=times, y=at.to_numpy(dtype=float), mode="markers", name="Kill switch",
                                 marker={"color": "#ff8f00", "size": 11, "symbol": "triangle-down"},
                                 text=[f"{a}, depth {fmt(d, '{:.1f}')}%" for a, d in
                                       zip(evs["action"], evs["depth_pct"], strict=True)]),
                      row=1, col=1)
    fig.update_yaxes(title_text="Equity", row=1, col=1)
    fig.update_yaxes(title_text="Drawdown %", row=2, col=1)
    fig.update_layout(title="Equity (marked to market) and drawdown", height=520, hovermode="x unified",
                      margin={"t": 50, "b": 30})
    return fig


def _margin_figure(result: Any) -> go.Figure:
    snaps = result.snapshots
    fig = go.Figure()
    if "margin_ratio" in snaps.columns:
        fig.add_trace(_line(snaps["margin_ratio"].astype(float) * 100.0, "Margin used % of capital",
                            fill="tozeroy"))
    fig.update_layout(title="Margin used (% of initial capital)", height=300, yaxis_title="%",
                      margin={"t": 50, "b": 30})
    return fig


def _concurrency_figure(result: Any, conc: dict[str, Any], close: pd.DataFrame | None) -> go.Figure:
    snaps = result.snapshots
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for col, name, dash in (("n_open_positions", "Open positions", "dot"),
                            ("n_assets_with_positions", "Assets with positions", "solid")):
        if col in snaps.columns:
            fig.add_trace(_line(snaps[col].astype(float), name, line_shape="hv", line_dash=dash))
    if close is not None and len(snaps):
        crash = crash_bars(close, conc["crash_pct"], window_to_bars(conc["crash_window_hours"],
                                                                     getattr(result, "freq", None)))
        crash = crash.reindex(snaps.index, fill_value=False).astype(bool)
        held = snaps.get("n_assets_with_positions", pd.Series(0.0, index=snaps.index)).astype(float)
        pts = held[crash.to_numpy()]
        fig.add_trace(go.Scatter(x=pts.index, y=pts.to_numpy(), mode="markers", name="Crash bar",
                                 marker={"color": "#c62828", "size": 5, "symbol": "x"}))
        ew = equal_weight_index(close).reindex(snaps.index)
        fig.add_trace(_line(ew / float(ew.dropna().iloc[0]) if ew.notna().any() else ew,
                            "Equal-weight index", line_color="#888", opacity=0.6), secondary_y=True)
        fig.update_yaxes(title_text="index", secondary_y=True, showgrid=False)
    fig.update_yaxes(title_text="count", secondary_y=False)
    fig.update_layout(title=f"Fill concurrency ({len(result.symbols)} assets)", height=340,
                      margin={"t": 50, "b": 30})
    return fig


def _distribution_figure(conc: dict[str, Any]) -> go.Figure:
    dist = conc.get("distribution") or {}
    fig = go.Figure(go.Bar(x=list(dist.keys()), y=list(dist.values()), name="Bars"))
    fig.update_layout(title="Bars by number of assets with positions", height=300,
                      xaxis_title="assets with positions", yaxis_title="bars", margin={"t": 50, "b": 30},
                      xaxis={"dtick": 1})
    return fig


def _pnl_figure(table: pd.DataFrame) -> go.Figure:
    pnl = table["pnl"].astype(float)
    fig = go.Figure(go.Bar(x=[str(s) for s in table.index], y=pnl.to_numpy(),
                           marker_color=["#1a7f37" if v > 0 else "#c62828" for v in pnl.fillna(0.0)]))
    fig.update_layout(title="PnL by asset (net of fees)", height=320, margin={"t": 50, "b": 30})
    return fig


def _table(headers: list[str], rows: list[list[str]], signed_col: int | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            cls = ""
            if i == signed_col and c not in ("-", ""):
                cls = ' class="neg"' if c.startswith("-") else ' class="pos"'
            cells.append(f"<td{cls}>{html.escape(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="mf"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _ts(t: Any) -> str:
    if t is None or (not isinstance(t, str) and pd.isna(t)):
        return "-"
    return pd.Timestamp(t).strftime("%Y-%m-%d %H:%M")


def render_html(result: Any, close: pd.DataFrame | None = None, title: str = "multifolio report") -> str:
    """The report as one HTML string (plotly.js embedded once, in the first figure)."""
    if close is None:
        close = getattr(result, "close", None)
    m = result_metrics(result, close)
    answers = five_answers(result, close, metrics=m)
    table = result_per_asset(result)
    conc = answers["fill_correlation"]

    figures = [_equity_figure(result, m), _margin_figure(result), _concurrency_figure(result, conc, close),
               _distribution_figure(conc), _pnl_figure(table)]
    divs = [fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False},
                        div_id=f"mf-plot-{i}")
            for i, fig in enumerate(figures)]

    per_asset_rows = [[str(s), fmt(r["trades"], "{:d}"), fmt(r["win_rate"], "{:.1f}"), fmt(r["pnl"]),
                       fmt(r["return_contribution_pct"], "{:+.2f}"), fmt(r["fees"]),
                       fmt(r["rejected"], "{:d}"),
                       fmt(r["rejected_margin"], "{:d}"), fmt(r["rejected_min_notional"], "{:d}"),
                       fmt(r["peak_filled_levels"], "{:d}")] for s, r in table.iterrows()]
    per_asset_html = _table(["Asset", "Trades", "Win %", "PnL", "Contrib % of capital", "Fees", "Rejected",
                             "for margin", "for min notional", "Peak levels"], per_asset_rows, signed_col=3)
    evs = kill_switch_events(getattr(result, "events", None))
    ks_html = _table(["Time", "Window peak at", "Peak equity", "Equity at trigger", "Trough", "Trough at",
                      "Depth %", "Window h", "Threshold %", "Action"],
                     [[_ts(e["timestamp"]), cell(e["start"]), cell(e["peak"]), cell(e["trigger_equity"]),
                       cell(e["trough"]), cell(e["trough_time"]),
                       fmt(e["depth_pct"], "{:.1f}"), fmt(e["window_hours"], "{:g}"),
                       fmt(e["threshold_pct"], "{:g}"), str(e["action"])]
                      for _, e in evs.iterrows()]) if len(evs) else "<p>None.</p>"
    trades = recent_trades(result, 20)
    trades_html = _table(["Asset", "Side", "Entry", "Exit", "Qty", "Entry px", "Exit px", "PnL", "Return %",
                          "Reason"],
                         [[str(t.get("symbol", "")), str(t.get("direction", "")), _ts(t.get("entry_time")),
                           _ts(t.get("exit_time")), fmt(t.get("qty"), "{:,.6g}"),
                           fmt(t.get("entry_price"), "{:,.6g}"), fmt(t.get("exit_price"), "{:,.6g}"),
                           fmt(t.get("pnl")), fmt(t.get("return_pct")), str(t.get("exit_reason", ""))]
                          for _, t in trades.iterrows()], signed_col=7) if len(trades) else "<p>None.</p>"
    metrics_html = _table(["Metric", "Value"], [[label, fmt(m[k], spec)] for k, label, spec in METRIC_ROWS
                                                if k in m])
    answers_html = "".join(f"<li>{html.escape(a['answer'])}</li>" for a in answers.values())
    period = f"{_ts(m['start'])} to {_ts(m['end'])} UTC, {m['period_days']:.1f} days, {m['n_bars']:,} bars"
    strategy = result.info.strategy.name if result.info.strategy is not None else ""
    header = (html.escape(str(strategy)) + " &middot; " if strategy else "") + f"{len(result.symbols)} assets"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="muted">{header} &middot;
{html.escape(period)} &middot; initial capital {fmt(m['initial_capital'])}</p>
<h2>The five answers</h2>
<ol class="answers">{answers_html}</ol>
<h2>Equity and drawdown</h2>
{divs[0]}
<h2>Margin</h2>
{divs[1]}
<h2>Fill concurrency</h2>
{divs[2]}
{divs[3]}
<h2>Per-asset results</h2>
{per_asset_html}
{divs[4]}
<h2>Kill-switch events</h2>
{ks_html}
<h2>Recent trades</h2>
{trades_html}
{allocation_html(result, m.get("periods_per_year") or 252.0)}
<h2>Metrics</h2>
{metrics_html}
</body></html>
"""


def write_html_report(result: Any, path: str | Path, close: pd.DataFrame | None = None,
                      title: str = "multifolio report") -> str:
    """Write the self-contained HTML report of ``result`` to ``path``; returns the path as a string."""
    p = Path(path)
    if not p.parent.exists():
        raise FileNotFoundError(f"write_html_report: directory {str(p.parent)!r} does not exist")
    p.write_text(render_html(result, close, title), encoding="utf-8")
    return str(p)
