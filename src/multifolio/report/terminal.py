"""Terminal report with Rich: the five answers first, then per-asset results, recent trades,
kill-switch events and the metrics table.

Usage: ``render_report(result)`` prints to a new Console; pass ``Console(record=True)`` to capture
the text (``console.export_text()``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from multifolio.analytics.five_answers import five_answers
from multifolio.analytics.interventions import intervention_table
from multifolio.analytics.kill_switch import kill_switch_events
from multifolio.analytics.metrics import is_missing
from multifolio.report.json_report import recent_trades, result_metrics, result_per_asset

# (metrics key, label, format) in the order the metrics table prints them
METRIC_ROWS: list[tuple[str, str, str]] = [
    ("initial_capital", "Initial capital", "{:,.2f}"),
    ("final_equity", "Final equity", "{:,.2f}"),
    ("total_return_pct", "Total return %", "{:.2f}"),
    ("cagr_pct", "CAGR %", "{:.2f}"),
    ("volatility_pct", "Volatility % (ann.)", "{:.2f}"),
    ("sharpe", "Sharpe", "{:.2f}"),
    ("sortino", "Sortino", "{:.2f}"),
    ("calmar", "Calmar", "{:.2f}"),
    ("max_drawdown_pct", "Max drawdown %", "{:.2f}"),
    ("max_drawdown_duration_hours", "Longest drawdown (h)", "{:,.0f}"),
    ("deepest_drawdown_duration_hours", "Deepest drawdown length (h)", "{:,.0f}"),
    ("time_underwater_pct", "Time underwater %", "{:.1f}"),
    ("total_trades", "Trades", "{:,d}"),
    ("win_rate", "Win rate %", "{:.1f}"),
    ("profit_factor", "Profit factor", "{:.2f}"),
    ("avg_trade_pnl", "Avg trade PnL", "{:,.2f}"),
    ("fees_paid", "Fees paid", "{:,.2f}"),
    ("turnover", "Turnover (x mean equity)", "{:.2f}"),
    ("exposure_pct", "Exposure % of bars", "{:.1f}"),
    ("peak_exposure_pct", "Peak exposure % of equity", "{:.2f}"),
    ("peak_margin_pct", "Peak margin % of capital", "{:.2f}"),
    ("peak_margin_equity_pct", "Peak margin % of equity (that bar)", "{:.2f}"),
    ("peak_concurrent_positions", "Peak concurrent positions", "{:d}"),
    ("peak_concurrent_assets", "Peak concurrent assets", "{:d}"),
    ("kill_switch_triggers", "Kill-switch triggers", "{:d}"),
    ("orders_rejected", "Orders rejected", "{:,d}"),
    ("rejected_margin", "  for margin/cash", "{:,d}"),
    ("rejected_min_notional", "  for min notional", "{:,d}"),
    ("liquidations", "Liquidations", "{:d}"),
    ("period_days", "Period (days)", "{:.1f}"),
    ("n_bars", "Bars", "{:,d}"),
]

#: Above this many assets the per-asset table shows the top and bottom contributors only.
MAX_ASSET_ROWS = 30
#: Rows of each end (top and bottom by PnL) shown for a large universe.
N_CONTRIBUTORS = 10

# rows that mean nothing in a cash account (margin used there is just the gross exposure)
CASH_HIDDEN = ("peak_margin_pct", "peak_margin_equity_pct")


def fmt(value: Any, spec: str = "{:,.2f}") -> str:
    """Format a number for a table; None/NaN print as '-', infinity as 'inf'.

    >>> fmt(float("nan")), fmt(1234.5), fmt(float("inf")), fmt(3, "{:d}")
    ('-', '1,234.50', 'inf', '3')
    """
    if is_missing(value):
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if spec.endswith("d}") and isinstance(value, float):
        value = int(round(value))
    try:
        return spec.format(value)
    except (ValueError, TypeError):
        return str(value)


def cell(x: Any) -> str:
    """A table cell for a value that may be a time or a number (event details)."""
    if isinstance(x, (pd.Timestamp, np.datetime64)) or (isinstance(x, str) and x[:2] in ("19", "20")):
        return _ts(x)
    return fmt(x)


def _ts(t: Any, spec: str = "%Y-%m-%d %H:%M") -> str:
    if t is None or (not isinstance(t, str) and pd.isna(t)):
        return "-"
    return pd.Timestamp(t).strftime(spec)


def contributor_rows(table: pd.DataFrame, all_assets: bool = False, max_rows: int = MAX_ASSET_ROWS,
                     n: int = N_CONTRIBUTORS) -> tuple[pd.DataFrame, int]:
    """The per-asset rows to print and how many are left out.

    Up to ``max_rows`` assets (or with ``all_assets``) every row in the table's order; above it the ``n``
    largest and the ``n`` smallest PnLs (best first), the rest left out.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"pnl": [float(i) for i in range(40)]}, index=[f"S{i}" for i in range(40)])
    >>> rows, left = contributor_rows(t, n=2)
    >>> list(rows.index), left
    (['S39', 'S38', 'S1', 'S0'], 36)
    """
    if all_assets or len(table) <= max_rows:
        return table, 0
    ordered = table.sort_values("pnl", ascending=False, kind="stable", na_position="last")
    picked = pd.concat([ordered.head(n), ordered.dropna(subset=["pnl"]).tail(n)])
    picked = picked[~picked.index.duplicated()]
    return picked, len(table) - len(picked)


def render_report(result: Any, console: Console | None = None, *, n_trades: int = 10,
                  close: pd.DataFrame | None = None, all_assets: bool = False) -> Console:
    """Print the report of ``result`` to ``console`` (a new Console when None) and return it.

    Above ``MAX_ASSET_ROWS`` assets the per-asset table shows the top and bottom ``N_CONTRIBUTORS`` by PnL
    and says how many rows are left out; ``all_assets=True`` prints every row.
    """
    console = console or Console()
    m = result_metrics(result, close)
    answers = five_answers(result, close, metrics=m)

    console.rule("[bold]The five answers")
    for i, a in enumerate(answers.values(), start=1):
        console.print(f"[bold]{i}.[/bold] {a['answer']}", highlight=False)

    full = result_per_asset(result)
    table, left_out = contributor_rows(full, all_assets)
    title = "Per-asset results" if not left_out else \
        f"Per-asset results: top and bottom {N_CONTRIBUTORS} contributors of {len(full)} assets"
    t = Table(title=title, title_justify="left")
    width = max([len(str(s)) for s in table.index] + [5])
    for col, justify in (("Asset", "left"), ("Trades", "right"), ("Win %", "right"), ("PnL", "right"),
                         ("Contrib %", "right"), ("Fees", "right"), ("Rejected", "right"),
                         ("Levels", "right")):
        t.add_column(col, justify=justify, no_wrap=col in ("Asset", "Rejected"),
                     min_width=width if col == "Asset" else None)
    for sym, row in table.iterrows():
        pnl = row["pnl"]
        style = "" if is_missing(pnl) or pnl == 0 else "green" if pnl > 0 else "red"
        t.add_row(str(sym), fmt(row["trades"], "{:d}"), fmt(row["win_rate"], "{:.1f}"),
                  f"[{style}]{fmt(pnl)}[/{style}]" if style else fmt(pnl),
                  fmt(row["return_contribution_pct"], "{:+.2f}"), fmt(row["fees"]),
                  fmt(row["rejected"], "{:d}"), fmt(row["peak_filled_levels"], "{:d}"))
        if left_out and sym == table.index[N_CONTRIBUTORS - 1]:
            t.add_row(f"... {left_out} more", *[""] * 7, style="dim")
    console.print(t)
    if left_out:
        console.print(f"{left_out} of {len(full)} asset rows left out (between the top and bottom "
                      f"{N_CONTRIBUTORS} by PnL); --all-assets prints them all, the JSON and HTML reports "
                      "hold every row.", style="dim", highlight=False)
    console.print("Contrib %: the asset's PnL as % of initial capital (the column sums to the total return)",
                  style="dim", highlight=False)

    trades = recent_trades(result, n_trades)
    t = Table(title=f"Recent trades (last {len(trades)} of {len(result.trades)})", title_justify="left",
              box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    # entry and exit prices only when the console is wide enough to keep one trade on one line
    wide = console.width >= 95
    cols = ["Asset", "Side", "Exit (UTC)", "Bars"] + (["Entry px", "Exit px"] if wide else []) + \
        ["PnL", "Ret %", "Reason"]
    for col in cols:
        t.add_column(col, justify="left" if col in ("Asset", "Side", "Exit (UTC)", "Reason") else "right",
                     no_wrap=True)
    for _, tr in trades.iterrows():
        prices = [fmt(tr.get("entry_price"), "{:.6g}"), fmt(tr.get("exit_price"), "{:.6g}")] if wide else []
        t.add_row(str(tr.get("symbol", "")), str(tr.get("direction", "")),
                  _ts(tr.get("exit_time"), "%m-%d %H:%M"), fmt(tr.get("bars_held"), "{:d}"), *prices,
                  fmt(tr.get("pnl")), fmt(tr.get("return_pct")), str(tr.get("exit_reason", "")))
    console.print(t)

    evs = kill_switch_events(getattr(result, "events", None))
    if len(evs):
        t = Table(title="Kill-switch events", title_justify="left")
        # window and threshold are the same for every event: answer 4 states them
        for col in ("Time", "Peak at", "Peak", "At trigger", "Trough", "Trough at", "Depth %", "Action"):
            t.add_column(col, no_wrap=True)
        for _, ev in evs.iterrows():
            t.add_row(_ts(ev["timestamp"]), cell(ev["start"]), cell(ev["peak"]), cell(ev["trigger_equity"]),
                      cell(ev["trough"]), cell(ev["trough_time"]), fmt(ev["depth_pct"], "{:.1f}"),
                      str(ev["action"]))
        console.print(t)
    else:
        console.print("Kill-switch events: none", highlight=False)

    cuts = intervention_table(result)
    if len(cuts):
        t = Table(title="Risk interventions per rule (in the order of the config)",
                  title_justify="left")
        for col in ("Rule", "Orders cut", "Dropped", "Notional asked", "Notional cut", "Cut %"):
            t.add_column(col, justify="left" if col == "Rule" else "right", no_wrap=True)
        for rule, row in cuts.iterrows():
            t.add_row(str(rule), fmt(row["interventions"], "{:d}"), fmt(row["dropped"], "{:d}"),
                      fmt(row["notional_requested"]), fmt(row["notional_cut"]), fmt(row["cut_pct"], "{:.1f}"))
        console.print(t)

    t = Table(title="Metrics", title_justify="left")
    t.add_column("Metric")
    t.add_column("Value", justify="right")
    for key, label, spec in METRIC_ROWS:
        if key in CASH_HIDDEN and m.get("margin_account") is False:
            continue                      # a cash account has no margin: its "margin" is its exposure
        if key == "peak_exposure_pct" and m.get("margin_account") is False:
            label += " (cash account, no margin)"
        if key in m:
            t.add_row(label, fmt(m[key], spec))
    console.print(t)
    return console
