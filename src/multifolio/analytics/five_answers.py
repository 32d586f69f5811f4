"""The five questions a shared pool must answer before going live, one line each.

1. ``max_drawdown``: the portfolio's deepest fall of total equity (unrealised PnL included) from its
   running peak, on the one shared account, with the peak/trough/recovery times.
2. ``fill_correlation``: the most assets and positions held at the same time, and the mean number of
   assets held on crash bars (equal-weight index down >= crash_pct over the window) against other bars.
3. ``margin_peak``: in a margin account, the peak of margin used as % of initial capital and of equity
   at that bar; in a cash account (no margin), the peak gross exposure as % of that bar's equity.
4. ``kill_switch``: how often the kill switch fired (the run's rule events), or, when the run had no
   kill-switch rule, how often one with the default 30% / 24 h would have fired on this equity curve.
5. ``sizing``: when a sweep outcome is given (``sizing=``: a dict ``{capital: max_assets}`` or a
   sentence), that is quoted. Otherwise the only bound a single run can state honestly: the minimum
   capital per asset its strategy says it needs for its smallest order to meet the exchange minimum
   notional (``RunInfo.strategy.min_capital_per_asset``: ``min_notional x num_levels / leverage`` for a
   grid, where the smallest order is one level; ``min_notional`` otherwise), hence the most assets each
   capital can fund in config order. The drawdown-limited answer needs ``multifolio sweep``; the line
   says so.

Each entry is a dict of figures plus ``answer`` (the printed line).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from multifolio.analytics.concurrency import fill_concurrency
from multifolio.analytics.kill_switch import kill_switch_summary
from multifolio.analytics.metrics import compute_metrics, is_missing, margin_peak_summary

SIZING_CAPITALS = (1_000.0, 5_000.0, 10_000.0)


def _ts(t: Any) -> str:
    if t is None or (not isinstance(t, str) and pd.isna(t)):
        return "-"
    return pd.Timestamp(t).strftime("%Y-%m-%d %H:%M")


def _num(x: Any, fmt: str = "{:.1f}") -> str:
    return "-" if is_missing(x) else fmt.format(x)


def _money(x: float) -> str:
    return f"${x:,.0f}" if x >= 100 else f"${x:,.2f}"


def min_capital_per_asset(result: Any) -> list[float]:
    """Per symbol, the smallest budget for which the strategy's smallest order meets the exchange
    minimum notional, as the strategy described it in the run's info (the account's minimum notional
    alone when the run has no strategy description).

    >>> from types import SimpleNamespace as NS
    >>> from multifolio.engine.run_info import AccountSpec, RunInfo, StrategyInfo
    >>> info = RunInfo("backtest", AccountSpec(capital=1.0, min_notional=5.0), ("A", "B"),
    ...                strategy=StrategyInfo("grid_atr", {}, (12.5, 5.0)))
    >>> min_capital_per_asset(NS(info=info, symbols=["A", "B"]))
    [12.5, 5.0]
    """
    info = result.info
    symbols = list(result.symbols)
    if info.strategy is not None and info.strategy.min_capital_per_asset is not None:
        return [float(x) for x in info.strategy.min_capital_per_asset]
    mn = info.account.min_notional
    return [float(mn.get(s, 0.0)) if isinstance(mn, dict) else float(mn) for s in symbols]


def max_assets_for_capital(capital: float, required: list[float]) -> int:
    """Most assets, in order, such that capital / k covers each one's minimum budget.

    >>> max_assets_for_capital(1000.0, [100.0, 100.0, 300.0, 100.0])
    3
    """
    best, need = 0, 0.0
    for k, r in enumerate(required, start=1):
        need = max(need, r)
        if capital / k >= need:
            best = k
    return best


def _sizing(result: Any, metrics: dict[str, Any], swept: Any) -> dict[str, Any]:
    symbols = list(result.symbols)
    cap = float(result.initial_capital)
    n = len(symbols)
    out: dict[str, Any] = {"source": None, "capital": cap, "n_assets": n,
                           "budget_per_asset": cap / n if n else math.nan,
                           "rejected_min_notional": metrics.get("rejected_min_notional", 0),
                           "min_capital_per_asset": None, "max_assets": None}
    if swept is not None:
        out["source"] = "sweep"
        if isinstance(swept, dict):
            out["max_assets"] = {float(k): int(v) for k, v in swept.items()}
            parts = ", ".join(f"{_money(float(k))}: {int(v)} assets" for k, v in swept.items())
            out["answer"] = f"Sizing (from the sweep): most assets meeting the drawdown limit - {parts}"
        else:
            out["answer"] = f"Sizing (from the sweep): {swept}"
        return out
    required = min_capital_per_asset(result)
    need = max(required) if required else 0.0
    out["source"] = "min_notional"
    out["min_capital_per_asset"] = need
    n_rej = out["rejected_min_notional"]
    this_run = (f"this run: {_money(cap)} / {n} assets = {_money(out['budget_per_asset'])} per asset, "
                f"{n_rej} order{'' if n_rej == 1 else 's'} rejected for min notional")
    if need <= 0:
        out["answer"] = (f"Sizing: no exchange minimum notional set, so order size does not cap the "
                         f"number of assets ({this_run}); the drawdown-limited count needs "
                         f"`multifolio sweep --capital 1000,5000,10000 --n-assets ...`")
        return out
    caps = sorted({*SIZING_CAPITALS, cap})
    out["max_assets"] = {c: max_assets_for_capital(c, required) for c in caps}
    parts = ", ".join(f"{_money(c)}: {k}" for c, k in out["max_assets"].items())
    out["answer"] = (f"Sizing: min notional needs >= {_money(need)} per asset, so at most {parts} assets "
                     f"({this_run}); drawdown-limited counts need `multifolio sweep`")
    return out


def five_answers(result: Any, close: pd.DataFrame | None = None, metrics: dict[str, Any] | None = None,
                 sizing: Any = None) -> dict[str, dict[str, Any]]:
    """The five answers of a Result (see the module docstring); ``close`` enables crash concurrency,
    ``sizing`` quotes a sweep's outcome (``{capital: max_assets}``) as the fifth answer."""
    m = metrics if metrics is not None else compute_metrics(result, close)
    n = len(result.symbols)

    rec = m["max_drawdown_recovery_time"]
    dd = {"value_pct": m["max_drawdown_pct"], "peak_time": m["max_drawdown_peak_time"],
          "trough_time": m["max_drawdown_trough_time"], "recovery_time": rec,
          "duration_hours": m["deepest_drawdown_duration_hours"],
          "longest_duration_hours": m["max_drawdown_duration_hours"]}
    if m["max_drawdown_pct"] > 0:
        state = f"recovered {_ts(rec)}" if rec is not None else "not recovered"
        dd["answer"] = (f"Max drawdown on shared capital: {m['max_drawdown_pct']:.2f}% "
                        f"(peak {_ts(dd['peak_time'])} -> trough {_ts(dd['trough_time'])}, {state}, "
                        f"{m['deepest_drawdown_duration_hours']:.0f} h from the peak); longest underwater "
                        f"{m['max_drawdown_duration_hours']:.0f} h")
    else:
        dd["answer"] = "Max drawdown on shared capital: 0.00% (equity never fell below its peak)"

    conc = fill_concurrency(result, close)
    crash = (f"crash bars (equal-weight index down >= {conc['crash_pct']:g}% within "
             f"{conc['crash_window_hours']:g} h): ")
    if conc["crash_bars"] is None:
        crash += "not computed, no prices given"
    elif conc["crash_bars"] == 0:
        crash += "none"
    else:
        crash += (f"{conc['crash_bars']}, mean {_num(conc['crash_mean_assets'], '{:.2f}')} assets held "
                  f"(peak {conc['crash_peak_assets']}) vs {_num(conc['normal_mean_assets'], '{:.2f}')} "
                  f"on other bars")
    levels = f", {conc['peak_filled_levels']} grid levels" if conc["peak_filled_levels"] is not None else ""
    conc["answer"] = (f"Fill correlation: up to {conc['peak_concurrent_assets']} of {n} assets "
                      f"({conc['peak_concurrent_positions']} positions{levels}) held at once; {crash}")

    margin = margin_peak_summary(m)

    ks = kill_switch_summary(result)
    rule = f">= {ks['threshold_pct']:g}% loss within {ks['window_hours']:g} h"
    if ks["configured"]:
        ks["answer"] = (f"Kill switch ({rule}, mode {ks['mode'] or 'record'}): fired {ks['triggers']} "
                        f"time{'s' if ks['triggers'] != 1 else ''}"
                        + (f", worst depth {ks['worst_depth_pct']:.1f}%" if ks["worst_depth_pct"] else ""))
    else:
        ks["answer"] = (f"Kill switch ({rule}): would have fired {ks['triggers']} "
                        f"time{'s' if ks['triggers'] != 1 else ''} (from the equity curve; the run "
                        f"had no kill-switch rule)")
    ks = {k: v for k, v in ks.items() if k != "events"}

    return {"max_drawdown": dd, "fill_correlation": conc, "margin_peak": margin, "kill_switch": ks,
            "sizing": _sizing(result, m, sizing)}
