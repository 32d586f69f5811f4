"""Reports of several portfolios on one clock: per-portfolio sections and the combined book.

JSON: ``{"portfolios": {id: <the single-run report>}, "combined": {<the single-run report of the book>,
"book": ..., "transfers": [...], "allocator": ...}}``. Terminal: one row per portfolio and the combined
book, then the book's five answers. HTML (self-contained): combined equity with each portfolio stacked,
drawdowns side by side, the correlation of portfolio returns, transfers on the timeline.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from rich.console import Console
from rich.table import Table

from multifolio.analytics.drawdown import drawdown_series
from multifolio.analytics.five_answers import five_answers
from multifolio.analytics.returns import performance_equity
from multifolio.report.json_report import result_to_dict, to_jsonable
from multifolio.report.page import Section, line, para, render_page, sample_rows, table, x_values, y_values
from multifolio.report.terminal import fmt

__all__ = ["multi_to_dict", "multi_to_json", "render_multi", "render_multi_html", "write_multi_html"]

_HEADERS = ["Portfolio", "Strategy", "Assets", "Capital", "Final", "Transfers in", "PnL", "Contrib %",
            "Return %", "Max DD %", "Sharpe"]


def multi_to_dict(multi: Any) -> dict[str, Any]:
    """The JSON report of a multi-portfolio run as a JSON-safe dict."""
    combined = result_to_dict(multi.combined)
    combined.update(book=multi.book, transfers=multi.transfers.to_dict(orient="records"),
                    allocator=multi.allocator)
    out = {"portfolios": {pid: result_to_dict(r) for pid, r in multi.portfolios.items()},
           "combined": combined}
    return to_jsonable(out)


def multi_to_json(multi: Any, path: str | Path | None = None) -> str:
    """The JSON report as a string; also written to ``path`` when given."""
    text = json.dumps(multi_to_dict(multi), indent=2, allow_nan=False)
    if path is not None:
        p = Path(path)
        if not p.parent.exists():
            raise FileNotFoundError(f"multi_to_json: directory {str(p.parent)!r} does not exist")
        p.write_text(text + "\n", encoding="utf-8")
    return text


def _rows(multi: Any) -> list[tuple[str, dict[str, Any]]]:
    book = multi.book
    rows = [(pid, {**fig, "strategy": r.info.strategy.name if r.info.strategy else "",
                   "n_assets": len(r.symbols)})
            for (pid, fig), r in zip(book["per_portfolio"].items(), multi.portfolios.values(), strict=True)]
    c = book["combined"]
    m = multi.combined.metrics
    rows.append(("combined", {"capital": c["capital"], "final_equity": c["final_equity"],
                              "net_transfers": 0.0, "pnl": c["final_equity"] - c["capital"],
                              "contribution_pct": c["return_pct"], "return_pct": c["return_pct"],
                              "max_drawdown_pct": c["max_drawdown_pct"], "sharpe": m["sharpe"],
                              "strategy": "", "n_assets": len(multi.combined.symbols)}))
    return rows


def _cells(pid: str, r: dict[str, Any]) -> list[str]:
    """One row of the portfolios table (``_HEADERS``), for the terminal and the page alike."""
    return [pid, r["strategy"], str(r["n_assets"]), fmt(r["capital"]), fmt(r["final_equity"]),
            fmt(r["net_transfers"]), fmt(r["pnl"]), fmt(r["contribution_pct"], "{:+.2f}"),
            fmt(r["return_pct"], "{:+.2f}"), fmt(r["max_drawdown_pct"], "{:.2f}"), fmt(r["sharpe"], "{:.2f}")]


def render_multi(multi: Any, console: Console | None = None) -> Console:
    """Print the per-portfolio table, the combined book and its five answers."""
    console = console or Console()
    t = Table(title="Portfolios on one clock", title_justify="left")
    for col in _HEADERS:
        t.add_column(col, justify="left" if col in ("Portfolio", "Strategy") else "right")
    for pid, r in _rows(multi):
        t.add_row(*_cells(pid, r), style="bold" if pid == "combined" else None)
    console.print(t)
    div = multi.book["diversification"]
    console.print(f"Diversification: combined volatility {fmt(div['combined_vol'] * 100, '{:.3f}')}% per bar "
                  f"vs {fmt(div['weighted_avg_vol'] * 100, '{:.3f}')}% capital-weighted average "
                  f"({fmt(div['benefit_pct'], '{:.1f}')}% lower)", highlight=False)
    tr = multi.transfers
    if len(tr):
        console.print(f"Transfers: {len(tr)} moves, {fmt(float(tr['amount'].sum()))} in all", highlight=False)
    console.rule("[bold]The five answers (combined book)")
    for i, a in enumerate(five_answers(multi.combined).values(), start=1):
        console.print(f"[bold]{i}.[/bold] {a['answer']}", highlight=False)
    return console


def _figures(multi: Any) -> list[go.Figure]:
    # stacked traces share one x: the portfolios' equity sampled on the same rows; single lines decimated
    stacked = sample_rows(pd.DataFrame({pid: r.equity for pid, r in multi.portfolios.items()}))
    x = x_values(stacked.index)
    eq = go.Figure()
    for pid in stacked.columns:
        eq.add_trace(go.Scatter(x=x, y=y_values(stacked[pid]), name=str(pid), stackgroup="book",
                                mode="lines"))
    eq.add_trace(line(multi.combined.equity, "combined", line={"color": "black", "width": 1.5}))
    tr = multi.transfers
    if len(tr):
        times = pd.DatetimeIndex(tr["timestamp"])
        at = multi.combined.equity.reindex(times)
        eq.add_trace(go.Scatter(x=x_values(times), y=y_values(at.to_numpy(dtype=float)), mode="markers",
                                name="transfers", marker={"symbol": "diamond", "size": 8},
                                text=[f"{html.escape(str(a))} → {html.escape(str(b))}: {v:,.2f}"
                                      for a, b, v in zip(tr["from"], tr["to"], tr["amount"], strict=True)]))
    eq.update_layout(title="Combined equity, each portfolio stacked", height=420)
    dd = go.Figure()
    for pid, r in [*multi.portfolios.items(), ("combined", multi.combined)]:
        dd.add_trace(line(drawdown_series(performance_equity(r), float(r.initial_capital)), str(pid)))
    dd.update_layout(title="Drawdown % (combined and each portfolio, time-weighted)", height=320)
    corr = multi.book["correlation"]
    ids = list(corr)
    z = np.array([[corr[a][b] for b in ids] for a in ids], dtype=float) if ids else np.zeros((0, 0))
    heat = go.Figure(go.Heatmap(z=z, x=ids, y=ids, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True))
    heat.update_layout(title="Correlation of portfolio returns", height=360)
    return [eq, dd, heat]


def render_multi_html(multi: Any, title: str = "multifolio portfolios",
                      extra: list[str] | None = None) -> str:
    """The multi-portfolio report as one self-contained HTML string (``extra``: lines shown first)."""
    eq, dd, heat = _figures(multi)
    rows = [_cells(pid, r) for pid, r in _rows(multi)]
    answers = "".join(f"<li>{html.escape(a['answer'])}</li>" for a in five_answers(multi.combined).values())
    sections = [
        Section("Portfolios and the combined book", [table(_HEADERS, rows, signed_col=6)]),
        Section("The five answers (combined book)", [f'<ol class="answers">{answers}</ol>']),
        Section("Combined equity and transfers", [eq]),
        Section("Drawdowns", [dd]),
        Section("Correlation of portfolio returns", [heat]),
    ]
    return render_page(title, "".join(para(text) for text in (extra or [])), sections)


def write_multi_html(multi: Any, path: str | Path, title: str = "multifolio portfolios",
                     extra: list[str] | None = None) -> str:
    """Write the multi-portfolio HTML report; returns the path."""
    p = Path(path)
    if not p.parent.exists():
        raise FileNotFoundError(f"write_multi_html: directory {str(p.parent)!r} does not exist")
    p.write_text(render_multi_html(multi, title, extra), encoding="utf-8")
    return str(p)
