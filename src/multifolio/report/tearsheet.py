"""Tearsheet sections of the HTML report and their figures as data (for the JSON report).

Sections (one function each, ``(ctx) -> Section | None``): equity against a benchmark with the top
drawdown periods shaded and a log-scale toggle, the top drawdown table, monthly returns heatmap and
yearly returns, rolling Sharpe and volatility, the distribution of bar returns with VaR/CVaR marked, each
asset's PnL stacked under the portfolio's, and the trades table with a CSV download.

:func:`tearsheet_data` gives the same figures without Plotly (the JSON report's ``tearsheet`` key).
"""

from __future__ import annotations

import html
import io
import math
import urllib.parse
from typing import Any

import numpy as np
import pandas as pd

from multifolio.analytics.benchmark import asset_pnl_paths, equal_weight_buy_and_hold, series_benchmark
from multifolio.analytics.drawdown import drawdown_series
from multifolio.analytics.kill_switch import kill_switch_events
from multifolio.analytics.periodic import (
    monthly_returns,
    rolling_sharpe,
    rolling_volatility,
    rolling_window,
    top_drawdowns,
    var_cvar,
    yearly_returns,
)
from multifolio.analytics.returns import cash_flows
from multifolio.report.page import (
    LOG_TOGGLE,
    N_DRAWDOWNS,
    ReportContext,
    Section,
    line,
    para,
    sample_rows,
    table,
    ts,
    x_values,
    y_values,
)
from multifolio.report.terminal import fmt

VAR_LEVEL = 0.95
#: Assets drawn one by one in the contribution chart; the rest are summed into one "others" area.
MAX_STACKED_ASSETS = 25
#: Trades embedded in the page's CSV download at most (the most recent); the table shows the last 50.
MAX_CSV_TRADES = 5000
N_TABLE_TRADES = 50
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def benchmark_series(
    result: Any, close: pd.DataFrame | None, benchmark: str | pd.Series | None = None
) -> tuple[pd.Series | None, str]:
    """The benchmark's equity (starting at the initial capital) and its label; (None, reason) when the
    run has no prices. ``benchmark``: None (equal-weight buy-and-hold of the universe), a symbol of the
    run's closes, or a price Series."""
    capital = float(result.initial_capital)
    index = pd.DatetimeIndex(result.equity.index)
    if isinstance(benchmark, pd.Series):
        name = str(benchmark.name) if benchmark.name is not None else "benchmark"
        return series_benchmark(benchmark, capital, index), name
    if close is None or len(index) == 0:
        return None, "no prices attached to this run"
    if benchmark is not None:
        if benchmark not in close.columns:
            raise ValueError(
                f"benchmark {benchmark!r} is not a symbol of the run ({len(close.columns)} symbols)"
            )
        return series_benchmark(close[benchmark], capital, index), f"{benchmark} buy-and-hold"
    return (
        equal_weight_buy_and_hold(close.reindex(index), capital),
        f"equal-weight buy-and-hold ({close.shape[1]} assets)",
    )


def tearsheet_data(
    result: Any, close: pd.DataFrame | None = None, benchmark: str | pd.Series | None = None
) -> dict[str, Any]:
    """The tearsheet's figures as plain tables: ``monthly_returns_pct`` ({year: {month: %}}),
    ``yearly_returns_pct``, ``top_drawdowns`` (rows; ``duration_unit``), ``var_pct``/``cvar_pct`` at
    ``var_level``, ``rolling_window`` (bars and label), ``benchmark`` (label, final equity, return %)."""
    close = close if close is not None else getattr(result, "close", None)
    eq = result.equity
    initial = float(result.initial_capital)
    out: dict[str, Any] = {}
    if len(eq) == 0:
        return out
    from multifolio.analytics.returns import bar_returns

    m = monthly_returns(eq, initial)
    out["monthly_returns_pct"] = {
        int(y): {int(k): v for k, v in row.items() if not pd.isna(v)} for y, row in m.iterrows()
    }
    out["yearly_returns_pct"] = {int(k): float(v) for k, v in yearly_returns(eq, initial).items()}
    dd = top_drawdowns(eq, initial, N_DRAWDOWNS, getattr(result, "freq", None))
    out["duration_unit"] = dd.attrs["unit"]
    out["top_drawdowns"] = dd.to_dict(orient="records")
    var, cvar = var_cvar(bar_returns(eq, initial), VAR_LEVEL)
    out.update(var_level=VAR_LEVEL, var_pct=var, cvar_pct=cvar)
    bars, label = rolling_window(pd.DatetimeIndex(eq.index), getattr(result, "freq", None))
    out["rolling_window"] = {"bars": bars, "label": label}
    bench, name = benchmark_series(result, close, benchmark)
    if bench is not None and bench.notna().any():
        final = float(bench.dropna().iloc[-1])
        out["benchmark"] = {
            "name": name,
            "final_equity": final,
            "total_return_pct": (final / initial - 1) * 100,
        }
    return out


# -- sections ---------------------------------------------------------------------------------------------


def equity_section(ctx: ReportContext) -> Section:
    """Equity against the benchmark (log-scale toggle), drawdown below, top drawdowns shaded."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    r, m = ctx.result, ctx.metrics
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.05)
    fig.add_trace(line(r.equity, "Portfolio", line_color="#1f77b4"), row=1, col=1)
    bench, bench_name = benchmark_series(r, ctx.close, ctx.benchmark)
    if bench is not None and bench.notna().any():
        fig.add_trace(
            line(bench, f"Benchmark: {bench_name}", line_color="#888", line_dash="dot"), row=1, col=1
        )
    fig.add_hline(y=ctx.initial, line_dash="dot", line_color="#bbb", row=1, col=1)
    dd = drawdown_series(ctx.equity, initial=ctx.initial)     # the metrics' (time-weighted) drawdown
    fig.add_trace(line(dd, "Drawdown %", fill="tozeroy", line_color="#c62828"), row=2, col=1)
    if m.get("max_drawdown_trough_time") is not None:
        t = m["max_drawdown_trough_time"]
        fig.add_trace(
            go.Scatter(
                x=x_values(pd.DatetimeIndex([t])),
                y=[float(dd.loc[t])],
                mode="markers+text",
                name="Max drawdown",
                text=[f"-{m['max_drawdown_pct']:.1f}%"],
                textposition="middle right",
                marker={"color": "#c62828", "size": 9},
            ),
            row=2,
            col=1,
        )
    top = ctx.drawdown_periods
    for i, d in top.iterrows():
        end = d["recovery"] if not pd.isna(d["recovery"]) else r.equity.index[-1]
        fig.add_vrect(
            x0=ts(d["start"]),
            x1=ts(end),
            fillcolor="#c62828",
            opacity=0.08,
            line_width=0,
            row=1,
            col=1,
            annotation_text=f"#{i + 1}",
            annotation_position="top left",
        )
    evs = kill_switch_events(getattr(r, "events", None))
    if len(evs):
        times = pd.DatetimeIndex(evs["timestamp"])
        at = r.equity.reindex(times)
        fig.add_trace(
            go.Scatter(
                x=x_values(times),
                y=y_values(at.to_numpy(dtype=float)),
                mode="markers",
                name="Kill switch",
                marker={"color": "#ff8f00", "size": 11, "symbol": "triangle-down"},
                text=[
                    f"{a}, depth {fmt(d, '{:.1f}')}%"
                    for a, d in zip(evs["action"], evs["depth_pct"], strict=True)
                ],
            ),
            row=1,
            col=1,
        )
    fig.update_yaxes(title_text="Equity", row=1, col=1)
    fig.update_yaxes(title_text="Drawdown %", row=2, col=1)
    fig.update_layout(
        title="Equity (marked to market) against the benchmark; top drawdowns shaded",
        height=560,
        hovermode="x unified",
        margin={"t": 60, "b": 30},
        updatemenus=[LOG_TOGGLE],
    )
    parts: list[Any] = [fig]
    if bench is None:
        parts.append(para(f"No benchmark: {bench_name}.", "muted"))
    return Section("Equity and drawdown", parts, anchor="equity")


def drawdowns_section(ctx: ReportContext) -> Section:
    """The top drawdown periods: start (peak), trough, recovery, depth and lengths."""
    top = ctx.drawdown_periods
    unit = top.attrs["unit"]
    if len(top) == 0:
        return Section(f"Top {N_DRAWDOWNS} drawdowns", [para("The equity never fell below its peak.")])
    rows = [
        [
            f"#{i + 1}",
            ts(d["start"]),
            ts(d["trough"]),
            ts(d["recovery"]) if d["recovered"] else "not recovered",
            fmt(-d["depth_pct"], "{:.2f}"),
            fmt(d["to_trough"], "{:,.0f}"),
            fmt(d["length"], "{:,.0f}"),
        ]
        for i, d in top.iterrows()
    ]
    return Section(
        f"Top {N_DRAWDOWNS} drawdowns",
        [
            table(
                [
                    "#",
                    "Start (peak)",
                    "Trough",
                    "Recovery",
                    "Depth %",
                    f"To trough ({unit})",
                    f"Length ({unit})",
                ],
                rows,
                signed_col=4,
            ),
            para(f"Length: peak to recovery (or to the last bar), in {unit}.", "muted"),
        ],
        anchor="drawdowns",
    )


def returns_section(ctx: ReportContext) -> Section | None:
    """Monthly returns as a year x month heatmap, and yearly returns as bars."""
    import plotly.graph_objects as go

    if len(ctx.equity) == 0:
        return None
    m = monthly_returns(ctx.equity, ctx.initial)
    z = m.to_numpy(dtype=float)
    text = [["" if not np.isfinite(v) else f"{v:+.1f}" for v in row] for row in z]
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    heat = go.Figure(
        go.Heatmap(
            z=z,
            x=MONTHS,
            y=[str(y) for y in m.index],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0.0,
            zmin=-lim,
            zmax=lim,
            colorbar={"title": "%"},
            hovertemplate="%{y} %{x}: %{z:.2f}%<extra></extra>",
        )
    )
    heat.update_layout(
        title="Monthly returns %",
        height=120 + 40 * len(m),
        margin={"t": 50, "b": 30},
        yaxis={"autorange": "reversed", "type": "category"},
    )
    y = yearly_returns(ctx.equity, ctx.initial)
    bars = go.Figure(
        go.Bar(
            x=[str(k) for k in y.index],
            y=y.to_numpy(dtype=float),
            marker_color=["#1a7f37" if v > 0 else "#c62828" for v in y.fillna(0.0)],
            text=[fmt(v, "{:+.1f}%") for v in y],
            textposition="auto",
        )
    )
    bars.update_layout(
        title="Yearly returns %", height=280, margin={"t": 50, "b": 30}, xaxis={"type": "category"}
    )
    note = para(
        "Each month's return is its last equity over the previous month's (the first from the "
        "initial capital); a partial first or last month is the part the run covers.",
        "muted",
    )
    return Section("Monthly and yearly returns", [heat, bars, note], anchor="returns")


def rolling_section(ctx: ReportContext) -> Section | None:
    """Rolling Sharpe ratio and annualised volatility, the window chosen from the bar frequency."""
    from plotly.subplots import make_subplots

    window, label = rolling_window(pd.DatetimeIndex(ctx.equity.index), ctx.freq)
    if len(ctx.returns) <= window or not np.isfinite(ctx.ppy):
        return Section(
            "Rolling Sharpe and volatility",
            [para(f"The run has fewer bars than the rolling window ({label}, {window:,} bars).")],
        )
    sh = rolling_sharpe(ctx.returns, window, ctx.ppy).dropna()
    vol = rolling_volatility(ctx.returns, window, ctx.ppy).dropna()
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    fig.add_trace(line(sh, "Rolling Sharpe", line_color="#6a1b9a"), row=1, col=1)
    fig.add_trace(line(vol, "Rolling volatility % (ann.)", line_color="#ef6c00"), row=2, col=1)
    fig.update_yaxes(title_text="Sharpe", row=1, col=1)
    fig.update_yaxes(title_text="Vol % (ann.)", row=2, col=1)
    fig.update_layout(
        title=f"Rolling Sharpe and volatility ({label} window, {window:,} bars)",
        height=440,
        margin={"t": 50, "b": 30},
        hovermode="x unified",
    )
    return Section("Rolling Sharpe and volatility", [fig], anchor="rolling")


def distribution_section(ctx: ReportContext) -> Section | None:
    """Histogram of bar returns with the historical VaR and CVaR marked."""
    import plotly.graph_objects as go

    r = ctx.returns.to_numpy(dtype=float) * 100.0
    r = r[np.isfinite(r)]
    if len(r) < 2:
        return None
    var, cvar = var_cvar(r / 100.0, VAR_LEVEL)
    counts, edges = np.histogram(r, bins=min(100, max(10, int(math.sqrt(len(r))))))
    centers = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(
        go.Bar(
            x=y_values(centers),
            y=counts,
            width=float(edges[1] - edges[0]),
            name="Bars",
            marker_color="#5c6bc0",
        )
    )
    pct = int(round(VAR_LEVEL * 100))
    fig.add_vline(x=-var, line_color="#ef6c00", line_dash="dash", annotation_text=f"VaR {pct}%: -{var:.2f}%")
    fig.add_vline(
        x=-cvar,
        line_color="#c62828",
        line_dash="dot",
        annotation_text=f"CVaR {pct}%: -{cvar:.2f}%",
        annotation_position="bottom left",
    )
    fig.update_layout(
        title=f"Distribution of bar returns ({len(r):,} bars)",
        height=320,
        xaxis_title="bar return %",
        yaxis_title="bars",
        margin={"t": 50, "b": 30},
        bargap=0,
    )
    note = para(
        f"Historical VaR {pct}%: {var:.3f}% of equity lost on the worst {100 - pct}% of bars or more; "
        f"CVaR {pct}%: {cvar:.3f}% on average over those bars.",
        "muted",
    )
    return Section("Distribution of bar returns", [fig, note], anchor="distribution")


def contribution_section(ctx: ReportContext) -> Section | None:
    """Each asset's cumulative PnL stacked (areas), under the portfolio's PnL line."""
    import plotly.graph_objects as go

    close = ctx.close if ctx.close is not None else getattr(ctx.result, "close", None)
    if close is None or len(ctx.equity) == 0:
        return Section("Equity contribution by asset", [para("Needs the run's prices (not attached).")])
    paths = asset_pnl_paths(ctx.result, close)
    final = paths.iloc[-1].abs().sort_values(ascending=False)
    shown = list(final.index[:MAX_STACKED_ASSETS])
    rest = [s for s in paths.columns if s not in shown]
    drawn = paths[shown]
    if rest:
        drawn = drawn.assign(**{f"{len(rest)} others": paths[rest].sum(axis=1)})
    drawn = sample_rows(drawn)
    x = x_values(drawn.index)
    fig = go.Figure()
    for col in drawn.columns:
        v = drawn[col].to_numpy(dtype=float)
        group = "pos" if v[-1] >= 0 else "neg"
        fig.add_trace(
            go.Scatter(x=x, y=y_values(v), name=str(col), mode="lines", stackgroup=group, line={"width": 0.5})
        )
    flows = cash_flows(ctx.result)      # cash an allocator moved is not PnL
    pnl = ctx.result.equity - ctx.initial - (flows.cumsum() if flows is not None else 0.0)
    fig.add_trace(line(pnl, "Portfolio PnL", line_color="#000", line_width=2))
    fig.update_layout(
        title="Cumulative PnL by asset (stacked; gains above zero, losses below)",
        height=460,
        yaxis_title="PnL",
        margin={"t": 50, "b": 30},
        hovermode="x unified",
    )
    note = (
        "Each asset's PnL: its fills' cash flows (fees included) plus its position marked at the close; "
        "the areas add up to the portfolio's PnL."
    )
    if rest:
        note += f" The {len(shown)} largest by final |PnL| are drawn one by one; {len(rest)} others summed."
    return Section("Equity contribution by asset", [fig, para(note, "muted")], anchor="contribution")


def trades_csv(trades: pd.DataFrame) -> str:
    """The trades as CSV text (what the page's download link holds)."""
    buf = io.StringIO()
    trades.to_csv(buf, index=False)
    return buf.getvalue()


def trades_section(ctx: ReportContext) -> Section:
    """The last trades as a table and (up to ``MAX_CSV_TRADES``) all of them as a CSV download."""
    trades = ctx.result.trades
    if len(trades) == 0:
        return Section("Trades", [para("None.")], anchor="trades")
    if "exit_time" in trades.columns:
        trades = trades.sort_values("exit_time", kind="stable")
    unit, step = ctx.unit
    shown = trades.tail(N_TABLE_TRADES)
    rows = []
    for _, t in shown.iloc[::-1].iterrows():
        held = (
            (pd.Timestamp(t["exit_time"]) - pd.Timestamp(t["entry_time"])) / step
            if not pd.isna(t.get("exit_time")) and not pd.isna(t.get("entry_time"))
            else math.nan
        )
        rows.append(
            [
                str(t.get("symbol", "")),
                str(t.get("direction", "")),
                ts(t.get("entry_time")),
                ts(t.get("exit_time")),
                fmt(held, "{:,.1f}"),
                fmt(t.get("qty"), "{:,.6g}"),
                fmt(t.get("entry_price"), "{:,.6g}"),
                fmt(t.get("exit_price"), "{:,.6g}"),
                fmt(t.get("pnl")),
                fmt(t.get("return_pct")),
                str(t.get("exit_reason", "")),
            ]
        )
    tbl = table(
        [
            "Asset",
            "Side",
            "Entry",
            "Exit",
            f"Held ({unit})",
            "Qty",
            "Entry px",
            "Exit px",
            "PnL",
            "Return %",
            "Reason",
        ],
        rows,
        signed_col=8,
    )
    csv_rows = trades.tail(MAX_CSV_TRADES)
    href = "data:text/csv;charset=utf-8," + urllib.parse.quote(trades_csv(csv_rows))
    cut = (
        f" (the most recent {len(csv_rows):,} of {len(trades):,}; Result.trades holds them all)"
        if len(csv_rows) < len(trades)
        else ""
    )
    link = (
        f'<p><a download="trades.csv" href="{html.escape(href, quote=True)}">Download the trades as '
        f"CSV</a>{html.escape(cut)}</p>"
    )
    return Section(
        f"Trades (last {len(shown)} of {len(trades):,}, most recent first)",
        [link, f'<div class="scroll">{tbl}</div>'],
        anchor="trades",
    )
