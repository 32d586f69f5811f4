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
from multifolio.report.terminal import fmt

__all__ = ["multi_to_dict", "multi_to_json", "render_multi", "render_multi_html", "write_multi_html"]


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


def render_multi(multi: Any, console: Console | None = None) -> Console:
    """Print the per-portfolio table, the combined book and its five answers."""
    console = console or Console()
    t = Table(title="Portfolios on one clock", title_justify="left")
    for col in ("Portfolio", "Strategy", "Assets", "Capital", "Final", "Transfers in", "PnL", "Contrib %",
                "Return %", "Max DD %", "Sharpe"):
        t.add_column(col, justify="left" if col in ("Portfolio", "Strategy") else "right")
    for pid, r in _rows(multi):
        t.add_row(pid, r["strategy"], str(r["n_assets"]), fmt(r["capital"]), fmt(r["final_equity"]),
                  fmt(r["net_transfers"]), fmt(r["pnl"]), fmt(r["contribution_pct"], "{:+.2f}"),
                  fmt(r["return_pct"], "{:+.2f}"), fmt(r["max_drawdown_pct"], "{:.2f}"),
                  fmt(r["sharpe"], "{:.2f}"), style="bold" if pid == "combined" else None)
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
    eq = go.Figure()
    for pid, r in multi.portfolios.items():
        eq.add_trace(go.Scatter(x=r.equity.index, y=r.equity.to_numpy(), name=str(pid), stackgroup="book",
                                mode="lines"))
    eq.add_trace(go.Scatter(x=multi.combined.equity.index, y=multi.combined.equity.to_numpy(),
                            name="combined", line={"color": "black", "width": 1.5}))
    tr = multi.transfers
    if len(tr):
        at = multi.combined.equity.reindex(pd.DatetimeIndex(tr["timestamp"]))
        eq.add_trace(go.Scatter(x=tr["timestamp"], y=at.to_numpy(), mode="markers", name="transfers",
                                marker={"symbol": "diamond", "size": 8},
                                text=[f"{html.escape(str(a))} → {html.escape(str(b))}: {x:,.2f}"
                                      for a, b, x in zip(tr["from"], tr["to"], tr["amount"], strict=True)]))
    eq.update_layout(title="Combined equity, each portfolio stacked", height=420)
    dd = go.Figure()
    for pid, r in [*multi.portfolios.items(), ("combined", multi.combined)]:
        s = drawdown_series(performance_equity(r), float(r.initial_capital))
        dd.add_trace(go.Scatter(x=s.index, y=s.to_numpy(), name=str(pid), mode="lines"))
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
    divs = [fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False},
                        div_id=f"mf-plot-{i}") for i, fig in enumerate(_figures(multi))]
    head = ["Portfolio", "Strategy", "Assets", "Capital", "Final", "Transfers in", "PnL", "Contrib %",
            "Return %", "Max DD %", "Sharpe"]
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            pid, r["strategy"], r["n_assets"], fmt(r["capital"]), fmt(r["final_equity"]),
            fmt(r["net_transfers"]), fmt(r["pnl"]), fmt(r["contribution_pct"], "{:+.2f}"),
            fmt(r["return_pct"], "{:+.2f}"), fmt(r["max_drawdown_pct"], "{:.2f}"),
            fmt(r["sharpe"], "{:.2f}")))
        + "</tr>" for pid, r in _rows(multi))
    table = f"<table><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr>{body}</table>"
    answers = "".join(f"<li>{html.escape(a['answer'])}</li>" for a in five_answers(multi.combined).values())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;}} table{{border-collapse:collapse;}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right;}}</style></head>
<body>
<h1>{html.escape(title)}</h1>
{"".join(f"<p>{html.escape(line)}</p>" for line in (extra or []))}
<h2>Portfolios and the combined book</h2>
{table}
<h2>The five answers (combined book)</h2>
<ol>{answers}</ol>
{divs[0]}
{divs[1]}
{divs[2]}
</body></html>
"""


def write_multi_html(multi: Any, path: str | Path, title: str = "multifolio portfolios",
                     extra: list[str] | None = None) -> str:
    """Write the multi-portfolio HTML report; returns the path."""
    p = Path(path)
    if not p.parent.exists():
        raise FileNotFoundError(f"write_multi_html: directory {str(p.parent)!r} does not exist")
    p.write_text(render_multi_html(multi, title, extra), encoding="utf-8")
    return str(p)
