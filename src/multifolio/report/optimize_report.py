"""Reports of a walk-forward optimisation: terminal tables, JSON, and a self-contained HTML page.

Sections: the summary of both modes side by side (out-of-sample return, max drawdown, margin peak,
in-sample vs out-of-sample objective, deflated Sharpe ratio, PBO), the definitions of the overfitting
statistics, the in-sample vs out-of-sample objective per window, the parameters chosen per window
(and per asset), and the stitched out-of-sample equity of the shared pool for each mode.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from multifolio.report.page import Section, line, para, render_page, table, ts
from multifolio.report.terminal import fmt
from multifolio.sweep.optimize import WalkForwardResult

__all__ = ["DEFINITIONS", "optimize_json", "render_optimize", "render_optimize_html", "write_optimize_html"]

#: What the overfitting statistics mean, as printed under the summary.
DEFINITIONS = (
    "Deflated Sharpe ratio (Bailey & Lopez de Prado 2014): the probability that the chosen combination's "
    "true Sharpe ratio exceeds the best one expected from N skill-less trials, "
    "DSR = Phi((SR - SR0) sqrt(T-1) / sqrt(1 - skew SR + (kurt-1)/4 SR^2)), "
    "SR0 = sqrt(V) ((1-g) Z(1-1/N) + g Z(1-1/(N e))); per-bar SR of the chosen train run, N = the grid's "
    "combinations, V = the variance of their Sharpe ratios; averaged over windows (and assets).",
    "PBO (Bailey, Borwein, Lopez de Prado & Zhu 2017), by combinatorially symmetric cross-validation: each "
    "train span is cut into S time blocks; over the C(S, S/2) in-sample halves, the share in which the "
    "in-sample best combination ranks at or below the median out of sample (logit <= 0); averaged over "
    "windows (and assets). Near 0: the selection carries over; 0.5 and above: it is mostly noise.",
)

_SUMMARY_ROWS = (("oos_return_pct", "out-of-sample return %", "{:+.2f}"),
                 ("oos_max_drawdown_pct", "out-of-sample max drawdown %", "{:.2f}"),
                 ("oos_peak_margin_pct", "out-of-sample margin peak % of capital", "{:.1f}"),
                 ("is_objective_mean", "in-sample objective (mean of windows)", "{:.3f}"),
                 ("oos_objective_mean", "out-of-sample objective (mean of windows)", "{:.3f}"),
                 ("dsr", "deflated Sharpe ratio", "{:.3f}"),
                 ("pbo", "probability of backtest overfitting", "{:.3f}"))


def _fmt(x: Any, spec: str = "{:.3f}") -> str:
    """``terminal.fmt`` with three decimals by default (objectives, DSR and PBO)."""
    return fmt(x, spec)


def _day(t: Any) -> str:
    return pd.Timestamp(t).strftime("%Y-%m-%d")


def _param_text(row: pd.Series, names: list[str]) -> str:
    return " ".join(f"{n}={row[n]:g}" if isinstance(row[n], float) else f"{n}={row[n]}" for n in names)


def summary_rows(wf: WalkForwardResult) -> list[list[str]]:
    """The summary as rows of text: label, then one value per mode."""
    return [[label, *(_fmt(wf.summary[m].get(k), spec) for m in wf.modes)]
            for k, label, spec in _SUMMARY_ROWS]


def window_headers(wf: WalkForwardResult) -> list[str]:
    """The columns of :func:`window_rows`."""
    return ["window", "test span"] + [f"{m} {label}" for m in wf.modes
                                      for label in ("IS", "OOS", "OOS ret %", "DSR", "PBO")]


def window_rows(wf: WalkForwardResult) -> list[list[str]]:
    """Per window: test span, then per mode in-sample / out-of-sample objective, test return, DSR, PBO."""
    rows = []
    t = wf.table.set_index(["mode", "window"])
    for w in wf.windows.itertuples(index=False):
        row = [str(w.window), f"{_day(w.test_start)}..{pd.Timestamp(w.test_end).strftime('%m-%d')}"]
        for m in wf.modes:
            r = t.loc[(m, w.window)]
            row += [_fmt(r["is_objective"]), _fmt(r["oos_objective"]), _fmt(r["oos_return_pct"], "{:+.2f}"),
                    _fmt(r["dsr"]), _fmt(r["pbo"])]
        rows.append(row)
    return rows


def choice_rows(wf: WalkForwardResult) -> list[list[str]]:
    """Per mode, window and symbol (``*``: the shared set): the chosen parameters and in-sample objective."""
    names = list(wf.grid)
    return [[str(r["mode"]), str(r["window"]), str(r["symbol"]), _param_text(r, names),
             _fmt(r["is_objective"]), "" if r["constraints_met"] else "constraints not met"]
            for _, r in wf.choices.iterrows()]


def equity_rows(wf: WalkForwardResult) -> list[list[str]]:
    """The stitched out-of-sample equity of each mode at the end of every test span."""
    rows = []
    for w in wf.windows.itertuples(index=False):
        at = wf.equity.loc[:w.test_end].iloc[-1]
        rows.append([_day(w.test_end), *(_fmt(at[m], "{:,.2f}") for m in wf.modes)])
    return rows


def render_optimize(wf: WalkForwardResult, console: Console | None = None) -> None:
    """Print the optimisation report to ``console`` (stdout by default)."""
    console = console or Console()
    ev = wf.evaluations
    cons = f"; constraints {', '.join(wf.constraints)}" if wf.constraints else ""
    console.print(f"[bold]Walk-forward optimisation[/bold]: objective {wf.objective}, "
                  f"{wf.n_combinations} combinations ({wf.n_invalid} invalid left out), "
                  f"{len(wf.windows)} windows, modes {', '.join(wf.modes)}; evaluations: "
                  f"{ev.get('run', 0)} run, {ev.get('cached', 0)} from the checkpoint{cons}", highlight=False)
    t = Table(title="Summary: the shared pool out of sample, both modes side by side")
    t.add_column("")
    for m in wf.modes:
        t.add_column(m, justify="right")
    for row in summary_rows(wf):
        t.add_row(*row)
    console.print(t)
    for d in DEFINITIONS:
        console.print(f"  {d}", highlight=False, style="dim")

    t = Table(title=f"In-sample vs out-of-sample {wf.objective} per window")
    for name in window_headers(wf):
        t.add_column(name, justify="left" if name == "test span" else "right", no_wrap=name == "test span")
    for row in window_rows(wf):
        t.add_row(*row)
    console.print(t)

    t = Table(title="Chosen parameters per window (symbol * = one shared set)")
    for name in ("mode", "window", "symbol", "parameters", f"IS {wf.objective}", ""):
        t.add_column(name)
    for row in choice_rows(wf):
        t.add_row(*row)
    console.print(t)

    t = Table(title="Stitched out-of-sample equity of the shared pool")
    t.add_column("test span end")
    for m in wf.modes:
        t.add_column(m, justify="right")
    for row in equity_rows(wf):
        t.add_row(*row)
    console.print(t)


def optimize_json(wf: WalkForwardResult, path: str | Path | None = None) -> str:
    """The result as a JSON string (written to ``path`` when given)."""
    doc = wf.to_dict()
    doc["definitions"] = list(DEFINITIONS)
    text = json.dumps(doc, indent=2)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def render_optimize_html(wf: WalkForwardResult, title: str = "multifolio walk-forward optimisation") -> str:
    """The optimisation report as one self-contained HTML page (plotly.js embedded)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for m in wf.modes:
        fig.add_trace(line(wf.equity[m].dropna(), m))
    for w in wf.windows.itertuples(index=False):
        fig.add_vline(x=ts(w.test_start), line_width=1, line_dash="dot", line_color="#bbb")
    fig.update_layout(height=380, margin={"l": 50, "r": 20, "t": 20, "b": 40}, yaxis_title="equity",
                      legend={"orientation": "h"})
    defs = "".join(f"<li>{html.escape(d)}</li>" for d in DEFINITIONS)
    header = para(f"objective {wf.objective} · {wf.n_combinations} combinations · {len(wf.windows)} "
                  f"windows · modes {', '.join(wf.modes)} · capital {wf.capital:,.2f}", "muted")
    sections = [
        Section("Summary: the shared pool out of sample",
                [table(["", *wf.modes], summary_rows(wf)), f'<ul class="muted">{defs}</ul>'],
                anchor="optimize"),
        Section("Stitched out-of-sample equity", [fig]),
        Section("In-sample vs out-of-sample per window", [table(window_headers(wf), window_rows(wf))]),
        Section("Chosen parameters",
                [table(["mode", "window", "symbol", "parameters", "IS objective", ""], choice_rows(wf))]),
        Section("Final parameters", [f"<pre>{html.escape(wf.per_asset_yaml())}</pre>"]),
    ]
    return render_page(title, header, sections)


def write_optimize_html(wf: WalkForwardResult, path: str | Path) -> str:
    """Write :func:`render_optimize_html` to ``path``; returns the path as a string."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_optimize_html(wf), encoding="utf-8")
    return str(p)
