"""Capital sizing sweep: how many assets can a given capital carry?

Every (capital, number of assets) pair is one full backtest of a run configuration (the first n assets
in config order, on one shared pool), run in parallel. The table says, per pair, how deep the portfolio
drew down, what it returned, how much margin it tied up at the peak, how often the kill switch fired and
how many orders were refused (margin or cash; minimum notional), and how many liquidations happened.
:func:`max_assets_per_capital` then answers the sizing question: for each capital, the most assets whose
run stays within ``max_dd`` with no liquidation and no minimum-notional rejection.

>>> import pandas as pd
>>> table = pd.DataFrame({"capital": [1000, 1000, 1000], "n_assets": [3, 5, 10],
...                       "max_drawdown_pct": [12.0, 25.0, 40.0], "liquidations": [0, 0, 0],
...                       "rejected_min_notional": [0, 0, 0]})
>>> max_assets_per_capital(table, max_dd=30)["max_assets"].tolist()
[5]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from multifolio.analytics.drawdown import max_drawdown_pct
from multifolio.analytics.per_asset import MARGIN_REASONS, MIN_NOTIONAL_REASONS
from multifolio.data.market_data import MarketData
from multifolio.portfolio.spec import RunSpec
from multifolio.sweep.runner import run_sweep

#: What a sweep maps over its specs: ``multifolio.run_spec`` (passed in by the caller, which sits above
#: this layer), or any function of the same shape.
RunFn = Callable[[RunSpec, MarketData], Any]

__all__ = ["sizing_sweep", "max_assets_per_capital", "answer_lines", "summarize_result", "SIZING_COLUMNS"]

SIZING_COLUMNS = ("capital", "n_assets", "max_drawdown_pct", "total_return_pct", "peak_margin_ratio",
                  "kill_switch_triggers", "rejected_margin", "rejected_min_notional", "liquidations",
                  "final_equity", "n_trades")



def _count(frame: pd.DataFrame, column: str, values: Iterable[str]) -> int:
    if frame is None or len(frame) == 0 or column not in frame.columns:
        return 0
    return int(frame[column].isin(list(values)).sum())


def summarize_result(result: Any) -> dict[str, float | int]:
    """The sizing figures of one Result (computed here from the ledgers, not from cached metrics).

    max_drawdown_pct: deepest fall of total equity (unrealised PnL included) below its running peak,
    in % of that peak. peak_margin_ratio: highest margin used / initial capital (a fraction).
    Rejections are counted from ``result.orders`` (status ``rejected``); kill-switch triggers and
    liquidations from ``result.events``.
    """
    equity = result.equity
    initial = float(result.initial_capital)
    dd = max_drawdown_pct(equity, initial=initial) if len(equity) else 0.0
    final = float(equity.iloc[-1]) if len(equity) else initial
    snaps = result.snapshots
    margin = float(snaps["margin_ratio"].max()) if len(snaps) and "margin_ratio" in snaps else 0.0
    orders = result.orders
    rejected = orders[orders["status"] == "rejected"] if len(orders) else orders
    return {
        "max_drawdown_pct": max(dd, 0.0),
        "total_return_pct": (final / initial - 1.0) * 100.0,
        "peak_margin_ratio": margin if np.isfinite(margin) else 0.0,
        "kill_switch_triggers": _count(result.events, "kind", ["kill_switch"]),
        "rejected_margin": _count(rejected, "reason", MARGIN_REASONS),
        "rejected_min_notional": _count(rejected, "reason", MIN_NOTIONAL_REASONS),
        "liquidations": _count(result.events, "kind", ["liquidation"]),
        "final_equity": final,
        "n_trades": int(len(result.trades)),
    }


def _sizing_cell(data: MarketData, run: RunFn, spec: RunSpec, capital: float, n_assets: int
                 ) -> dict[str, float | int]:
    """One cell of the sweep (module level so that worker processes can unpickle it)."""
    result = run(spec, data)
    return {"capital": float(capital), "n_assets": int(n_assets), **summarize_result(result)}


def _parse_list(values: Sequence[float] | str, name: str, kind: type) -> list[Any]:
    if isinstance(values, str):
        parts = [v.strip() for v in values.split(",") if v.strip()]
    else:
        parts = list(values)
    if not parts:
        raise ValueError(f"{name} needs at least one value")
    out = []
    for v in parts:
        try:
            x = kind(float(v)) if kind is int else kind(v)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {v!r} is not a number") from None
        if kind is int and float(v) != int(float(v)):
            raise ValueError(f"{name}: {v!r} is not a whole number")
        if x <= 0:
            raise ValueError(f"{name}: values must be > 0, got {v!r}")
        out.append(x)
    return out


def sizing_sweep(run: RunFn, spec: RunSpec, data: MarketData, capitals: Sequence[float] | str,
                 n_assets: Sequence[int] | str, max_dd: float = 30.0, workers: int | None = None,
                 backend: str = "processes", progress: Any = None, **backend_options: Any) -> pd.DataFrame:
    """Run ``spec`` for every (capital, n_assets) pair on ``data``; one row per pair.

    ``run`` is ``multifolio.run_spec`` (or a function of the same shape); the data is sent to each worker
    once. The first n symbols of the spec (all of the data's when it names none) run on one pool of
    each capital. ``capitals`` and ``n_assets`` are sequences or comma-separated strings ("1000,5000").
    ``max_dd`` adds the boolean column ``ok`` (drawdown <= max_dd, no liquidation, no min-notional
    rejection). ``backend_options`` go to :func:`~multifolio.sweep.runner.run_sweep` (``client``,
    ``address`` for Dask); ``progress(done, total)`` is called as runs finish.
    Columns: ``SIZING_COLUMNS`` plus ``ok``; rows sorted by capital then n_assets.
    """
    caps = _parse_list(capitals, "capital", float)
    ns = _parse_list(n_assets, "n_assets", int)
    symbols = list(spec.symbols) if spec.symbols else list(data.symbols)
    if max(ns) > len(symbols):
        raise ValueError(f"n_assets {max(ns)} exceeds the {len(symbols)} assets of the run")
    # Largest runs first: a run's cost grows with its number of assets, and starting the long ones
    # early keeps one worker from finishing a 21-asset run alone while the others idle.
    params = [{"run": run, "capital": c, "n_assets": n,
               "spec": spec.replace(symbols=tuple(symbols[:n]), account=spec.account.replace(capital=c))}
              for n in sorted(ns, reverse=True) for c in caps]
    rows = run_sweep(_sizing_cell, params, workers=workers, backend=backend, progress=progress,
                     shared=data, **backend_options)
    table = pd.DataFrame(rows, columns=list(SIZING_COLUMNS))
    table["ok"] = _ok(table, max_dd)
    return table.sort_values(["capital", "n_assets"], kind="stable").reset_index(drop=True)


def _ok(table: pd.DataFrame, max_dd: float) -> pd.Series:
    return ((table["max_drawdown_pct"] <= float(max_dd)) & (table["liquidations"] == 0)
            & (table["rejected_min_notional"] == 0))


def max_assets_per_capital(table: pd.DataFrame, max_dd: float = 30.0) -> pd.DataFrame:
    """Per capital, the most assets meeting ``max_dd`` with no liquidation and no min-notional rejection.

    Columns: ``capital``, ``max_assets`` (0 when no tested count qualifies), ``max_drawdown_pct`` of
    that run (NaN when none qualifies). The largest qualifying count is reported even if a smaller count
    failed (drawdown is not monotonic in the number of assets).
    """
    missing = {"capital", "n_assets", "max_drawdown_pct", "liquidations",
               "rejected_min_notional"} - set(table.columns)
    if missing:
        raise ValueError(f"sizing table lacks column(s) {sorted(missing)}")
    ok = _ok(table, max_dd)
    rows = []
    for capital, group in table.groupby("capital", sort=True):
        good = group[ok.loc[group.index]]
        if len(good):
            best = good.loc[good["n_assets"].idxmax()]
            rows.append({"capital": capital, "max_assets": int(best["n_assets"]),
                         "max_drawdown_pct": float(best["max_drawdown_pct"])})
        else:
            rows.append({"capital": capital, "max_assets": 0, "max_drawdown_pct": float("nan")})
    return pd.DataFrame(rows, columns=["capital", "max_assets", "max_drawdown_pct"])


def answer_lines(answer: pd.DataFrame, max_dd: float) -> list[str]:
    """One sentence per capital: the most assets it can carry under the rule."""
    lines = []
    for row in answer.itertuples(index=False):
        if row.max_assets > 0:
            lines.append(f"capital {row.capital:,.0f}: at most {row.max_assets} assets "
                         f"(max drawdown {row.max_drawdown_pct:.1f}% <= {max_dd:g}%)")
        else:
            lines.append(f"capital {row.capital:,.0f}: no tested asset count meets the rule")
    return lines
