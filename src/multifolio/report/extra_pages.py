"""Other HTML pages and the markdown summary: the sizing-sweep heatmap, saved runs compared, and the
short markdown summary of a run for a pull request or a notebook.

Every user-supplied string (labels, symbols, config paths) is escaped; the pages embed plotly.js
(:func:`multifolio.report.page.render_page`) and work offline.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd

from multifolio.report.page import LOG_TOGGLE, Section, line, para, render_page, table
from multifolio.report.terminal import fmt
from multifolio.sweep.sizing import answer_lines

__all__ = ["compare_html", "markdown_summary", "sweep_html"]


def sweep_html(table_: pd.DataFrame, answer: pd.DataFrame, max_dd: float, title: str = "Sizing sweep") -> str:
    """The sweep page: a capital x number-of-assets heatmap coloured by max drawdown, the pass/fail line
    (the most assets each capital carries within ``max_dd``, no liquidation, no min-notional rejection),
    the answer per capital and the full table."""
    import plotly.graph_objects as go

    caps = sorted(table_["capital"].unique())
    ns = sorted(table_["n_assets"].unique())
    grid = table_.pivot_table(index="capital", columns="n_assets", values="max_drawdown_pct", aggfunc="first")
    grid = grid.reindex(index=caps, columns=ns)
    ok = table_.pivot_table(index="capital", columns="n_assets", values="ok", aggfunc="first")
    ok = ok.reindex(index=caps, columns=ns)
    text = [
        [
            ("-" if pd.isna(v) else f"{v:.1f}%" + ("" if bool(okv) else " ✗"))
            for v, okv in zip(row_v, row_ok, strict=True)
        ]
        for row_v, row_ok in zip(grid.to_numpy(), ok.fillna(False).to_numpy(), strict=True)
    ]
    ylab = [f"{c:,.0f}" for c in caps]
    xlab = [str(int(n)) for n in ns]
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(dtype=float),
            x=xlab,
            y=ylab,
            text=text,
            texttemplate="%{text}",
            colorscale=[[0, "#e8f5e9"], [0.5, "#fff59d"], [1, "#c62828"]],
            colorbar={"title": "max DD %"},
            hovertemplate="capital %{y}, %{x} assets: max DD %{z:.1f}%<extra></extra>",
        )
    )
    # the pass/fail line: right edge of the largest passing count per capital
    xs, ys = [], []
    for i, row in enumerate(answer.itertuples(index=False)):
        k = ns.index(row.max_assets) + 0.5 if row.max_assets in ns else -0.5
        xs += [k, k]
        ys += [i - 0.5, i + 0.5]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": "#000", "width": 3},
            name=f"pass / fail (max DD {max_dd:g}%)",
            xaxis="x2",
            yaxis="y2",
        )
    )
    fig.update_layout(
        title=f"Max drawdown by capital and number of assets (✗: fails the rule, max DD {max_dd:g}%)",
        height=160 + 60 * len(caps),
        margin={"t": 60, "b": 40},
        xaxis_title="assets",
        yaxis_title="capital",
        xaxis={"type": "category"},
        yaxis={"type": "category"},
        xaxis2={"overlaying": "x", "range": [-0.5, len(ns) - 0.5], "visible": False},
        yaxis2={"overlaying": "y", "range": [-0.5, len(caps) - 0.5], "visible": False},
        showlegend=True,
        legend={"orientation": "h", "y": -0.2},
    )
    items = "".join(f"<li>{html.escape(a)}</li>" for a in answer_lines(answer, max_dd))
    cols = [c for c in table_.columns]
    rows = [
        [fmt(v, "{:,.2f}") if isinstance(v, float) else str(v) for v in r]
        for r in table_.itertuples(index=False)
    ]
    sections = [
        Section("The answer per capital", [f"<ul>{items}</ul>"]),
        Section(
            "Max drawdown heatmap",
            [
                fig,
                para(
                    "The black line separates, per capital, the asset counts up to the largest one that "
                    "passes (left) from the rest; a smaller count may still fail (drawdown is not monotonic "
                    "in the number of assets): such cells are marked ✗.",
                    "muted",
                ),
            ],
        ),
        Section("All runs", [table(cols, rows)]),
    ]
    header = para(f"{len(table_)} runs: capitals {', '.join(ylab)} x asset counts {', '.join(xlab)}", "muted")
    return render_page(title, header, sections)


def compare_html(runs: Sequence[Any], labels: Sequence[str], title: str = "Saved runs compared") -> str:
    """Metrics side by side and the equity curves overlaid (each decimated for display)."""
    import plotly.graph_objects as go

    from multifolio.report.terminal import METRIC_ROWS

    fig = go.Figure()
    for r, lab in zip(runs, labels, strict=True):
        fig.add_trace(line(r.equity, lab))
    fig.update_layout(
        title="Equity curves",
        height=460,
        hovermode="x unified",
        margin={"t": 50, "b": 30},
        updatemenus=[LOG_TOGGLE],
    )
    rows = metrics_rows(runs, METRIC_ROWS)
    sections = [Section("Metrics side by side", [table(["Metric", *labels], rows)]), Section("Equity", [fig])]
    return render_page(title, para(f"{len(runs)} runs", "muted"), sections)


def metrics_rows(runs: Sequence[Any], metric_rows: Sequence[tuple[str, str, str]]) -> list[list[str]]:
    """One row per metric, one column per run (``-`` where a run lacks it)."""
    ms = [r.metrics for r in runs]
    out = [
        ["Assets", *[str(len(r.symbols)) for r in runs]],
        ["Strategy", *[r.info.strategy.name if r.info.strategy is not None else "-" for r in runs]],
    ]
    for key, label, spec in metric_rows:
        if any(key in m for m in ms):
            out.append([label, *[fmt(m.get(key), spec) for m in ms]])
    return out


def _md_cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def markdown_summary(result: Any, title: str = "multifolio run", max_assets: int = 10) -> str:
    """A short markdown summary: the five answers, headline metrics, the top and bottom contributors
    and the yearly returns (plain text: symbols' ``|`` are escaped for tables)."""
    from multifolio.analytics.five_answers import five_answers
    from multifolio.analytics.periodic import yearly_returns

    m = result.metrics
    answers = five_answers(result, None, metrics=m)
    lines = [f"## {_md_cell(title)}", ""]
    strategy = result.info.strategy.name if result.info.strategy is not None else "from_weights"
    lines.append(
        f"{_md_cell(strategy)} on {len(result.symbols)} assets, {fmt(m.get('period_days'), '{:.1f}')} "
        f"days ({fmt(m.get('n_bars'), '{:,d}')} bars), initial capital {fmt(m.get('initial_capital'))}"
    )
    lines += ["", "### The five answers", ""]
    lines += [f"{i}. {_md_cell(a['answer'])}" for i, a in enumerate(answers.values(), start=1)]
    lines += ["", "### Metrics", "", "| metric | value |", "|---|---:|"]
    for key, label, spec in (
        ("total_return_pct", "Total return %", "{:.2f}"),
        ("cagr_pct", "CAGR %", "{:.2f}"),
        ("sharpe", "Sharpe", "{:.2f}"),
        ("sortino", "Sortino", "{:.2f}"),
        ("max_drawdown_pct", "Max drawdown %", "{:.2f}"),
        ("volatility_pct", "Volatility % (ann.)", "{:.2f}"),
        ("total_trades", "Trades", "{:,d}"),
        ("win_rate", "Win rate %", "{:.1f}"),
        ("fees_paid", "Fees paid", "{:,.2f}"),
        ("kill_switch_triggers", "Kill-switch triggers", "{:d}"),
    ):
        if key in m:
            lines.append(f"| {label} | {fmt(m[key], spec)} |")
    y = yearly_returns(result.equity, float(result.initial_capital)) if len(result.equity) else pd.Series()
    if len(y):
        lines += [
            "",
            "### Yearly returns",
            "",
            "| " + " | ".join(str(k) for k in y.index) + " |",
            "|" + "---:|" * len(y),
            "| " + " | ".join(fmt(v, "{:+.2f}%") for v in y) + " |",
        ]
    pa = result.per_asset.sort_values("pnl", ascending=False, kind="stable")
    n = min(max_assets, len(pa))
    if n:
        half = max(1, n // 2)
        picked = pa if len(pa) <= max_assets else pd.concat([pa.head(half), pa.tail(half)])
        note = "" if len(pa) <= max_assets else f" (top and bottom {half} of {len(pa)})"
        lines += [
            "",
            f"### Contributors{note}",
            "",
            "| asset | trades | PnL | contrib % of capital |",
            "|---|---:|---:|---:|",
        ]
        for s, r in picked.iterrows():
            lines.append(
                f"| {_md_cell(s)} | {fmt(r['trades'], '{:d}')} | {fmt(r['pnl'])} | "
                f"{fmt(r['return_contribution_pct'], '{:+.2f}')} |"
            )
    return "\n".join(lines) + "\n"
