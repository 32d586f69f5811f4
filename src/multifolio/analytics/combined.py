"""The book of several portfolios: combined drawdown and margin, attribution, correlation, diversification.

Each portfolio's performance is time-weighted (the cash an allocator moved in or out is not a return);
the combined book's equity is the sum of the portfolios' (moves between them cancel).

>>> import pandas as pd
>>> ev = pd.DataFrame({"portfolio_id": ["a", "b"], "timestamp": pd.to_datetime(["2024-01-31"] * 2, utc=True),
...                    "kind": ["transfer"] * 2, "symbol": [None, None],
...                    "details": [{"from": "a", "to": "b", "amount": 100.0, "reason": "rebalance"}] * 2})
>>> transfers_table(ev)[["from", "to", "amount"]].values.tolist()
[['a', 'b', 100.0]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from multifolio.analytics import returns as R
from multifolio.analytics.drawdown import max_drawdown_pct

__all__ = ["book_summary", "portfolio_returns", "shared_vs_isolated", "transfers_table"]

TRANSFER_COLUMNS = ["timestamp", "from", "to", "amount", "reason"]


def transfers_table(events: pd.DataFrame) -> pd.DataFrame:
    """One row per move of cash between portfolios (both accounts log it; the giver's row is kept)."""
    if events is None or len(events) == 0 or "kind" not in events.columns:
        return pd.DataFrame(columns=TRANSFER_COLUMNS)
    ev = events[events["kind"] == "transfer"]
    if "portfolio_id" in ev.columns:
        pairs = zip(ev["details"], ev["portfolio_id"], strict=True)
        giver = np.array([d.get("from") == pid for d, pid in pairs], dtype=bool)
        ev = ev[giver]
    rows = [{"timestamp": t, "from": d["from"], "to": d["to"], "amount": float(d["amount"]),
             "reason": d.get("reason", "")} for t, d in zip(ev["timestamp"], ev["details"], strict=True)]
    return pd.DataFrame(rows, columns=TRANSFER_COLUMNS)


def portfolio_returns(result: Any) -> pd.Series:
    """A portfolio's bar returns, time-weighted when cash was moved in or out."""
    return R.bar_returns(R.performance_equity(result), initial=float(result.initial_capital))


def book_summary(portfolios: Mapping[str, Any], combined: Any) -> dict[str, Any]:
    """The combined book's figures.

    ``combined``: capital, final equity, return %, max drawdown % (unrealised PnL included), margin peak
    (margin used / capital) and its time. ``per_portfolio``: capital, final equity, net transfers in, PnL
    (final - capital - transfers in), contribution to the combined return (PnL / combined capital, %),
    time-weighted return %, max drawdown %, Sharpe. ``correlation``: of the portfolios' bar returns.
    ``diversification``: the combined book's volatility against the capital-weighted average of the
    portfolios' (``benefit_pct`` = how much lower, in %).
    """
    cap = float(combined.initial_capital)
    equity = combined.equity
    snaps = combined.snapshots
    final = float(equity.iloc[-1]) if len(equity) else cap
    margin = snaps["margin_used"] if "margin_used" in snaps.columns else pd.Series(0.0, index=equity.index)
    peak_at = margin.idxmax() if len(margin) and margin.max() > 0 else None
    book = {"capital": cap, "final_equity": final, "return_pct": (final / cap - 1.0) * 100.0,
            "max_drawdown_pct": max_drawdown_pct(equity, initial=cap) if len(equity) else 0.0,
            "margin_peak_pct": float(margin.max() / cap * 100.0) if len(margin) else 0.0,
            "margin_peak_time": peak_at}
    per: dict[str, dict[str, Any]] = {}
    rets = {}
    for pid, r in portfolios.items():
        m = r.metrics
        fin, flows = m["final_equity"], m["net_transfers"]
        pnl = fin - float(r.initial_capital) - flows
        per[pid] = {"capital": float(r.initial_capital), "final_equity": fin, "net_transfers": flows,
                    "pnl": pnl, "contribution_pct": pnl / cap * 100.0,
                    "return_pct": m["total_return_pct"], "max_drawdown_pct": m["max_drawdown_pct"],
                    "sharpe": m["sharpe"]}
        rets[pid] = portfolio_returns(r)
    frame = pd.DataFrame(rets)
    cols = frame.columns
    corr = frame.corr() if len(frame) > 2 else pd.DataFrame(np.nan, index=cols, columns=cols)
    vols = frame.std(ddof=1) if len(frame) > 1 else pd.Series(np.nan, index=frame.columns)
    weights = pd.Series({pid: per[pid]["capital"] for pid in per}) / sum(p["capital"] for p in per.values())
    combined_rets = R.bar_returns(equity, initial=cap)
    combined_vol = float(combined_rets.std(ddof=1)) if len(combined_rets) > 1 else math.nan
    avg_vol = float((vols * weights).sum()) if len(frame) > 1 else math.nan
    return {
        "combined": book,
        "per_portfolio": per,
        "correlation": {a: {b: _num(corr.at[a, b]) for b in corr.columns} for a in corr.index},
        "diversification": {"combined_vol": combined_vol, "weighted_avg_vol": avg_vol,
                            "benefit_pct": (1.0 - combined_vol / avg_vol) * 100.0
                            if avg_vol and avg_vol > 0 else math.nan},
    }


def _num(x: Any) -> float:
    return float(x) if x is not None and not pd.isna(x) else math.nan


def shared_vs_isolated(shared: Any, isolated: Mapping[str, Any]) -> dict[str, Any]:
    """One shared pool against the same assets each alone on a share of the capital.

    ``shared`` is the pool's Result; ``isolated`` the per-asset Results (symbol -> Result), whose capital
    adds up to the pool's. Keys: ``shared`` and ``isolated_sum`` (the summed isolated equity as one book)
    with capital, final equity, return %, max drawdown % and margin peak % of capital;
    ``isolated_worst_drawdown_pct`` and ``isolated_weighted_drawdown_pct`` (capital-weighted average);
    ``hidden_drawdown_pct`` (the shared pool's drawdown minus the summed isolated curve's: what the
    per-asset backtests do not show); ``refused_in_shared`` (per symbol, orders refused for margin or cash
    in the pool beyond those refused when the asset ran alone) and its total.
    """
    def book(equity: pd.Series, margin: pd.Series, capital: float) -> dict[str, float]:
        final = float(equity.iloc[-1]) if len(equity) else capital
        return {"capital": capital, "final_equity": final, "return_pct": (final / capital - 1.0) * 100.0,
                "max_drawdown_pct": max_drawdown_pct(equity, initial=capital) if len(equity) else 0.0,
                "margin_peak_pct": float(margin.max() / capital * 100.0) if len(margin) else 0.0}

    cap = float(shared.initial_capital)
    iso_equity = sum(r.equity for r in isolated.values())
    iso_margin = sum(r.snapshots["margin_used"] for r in isolated.values())
    iso_cap = float(sum(r.initial_capital for r in isolated.values()))
    out_shared = book(shared.equity, shared.snapshots["margin_used"], cap)
    out_iso = book(iso_equity, iso_margin, iso_cap)
    dds = {s: float(r.metrics["max_drawdown_pct"]) for s, r in isolated.items()}
    caps = {s: float(r.initial_capital) for s, r in isolated.items()}
    refused = {}
    pool = _refused_by_symbol(shared.orders)
    for s, r in isolated.items():
        alone = _refused_by_symbol(r.orders).get(s, 0)
        refused[s] = max(0, pool.get(s, 0) - alone)
    return {
        "shared": out_shared,
        "isolated_sum": out_iso,
        "isolated_worst_drawdown_pct": max(dds.values()) if dds else 0.0,
        "isolated_weighted_drawdown_pct": sum(dds[s] * caps[s] for s in dds) / iso_cap if dds else 0.0,
        "isolated_drawdown_pct": dds,
        "hidden_drawdown_pct": out_shared["max_drawdown_pct"] - out_iso["max_drawdown_pct"],
        "refused_in_shared": refused,
        "refused_in_shared_total": int(sum(refused.values())),
    }


def _refused_by_symbol(orders: pd.DataFrame) -> dict[str, int]:
    if orders is None or len(orders) == 0:
        return {}
    bad = orders[(orders["status"] == "rejected")
                 & orders["reason"].isin(["insufficient_margin", "insufficient_cash"])]
    return {str(k): int(v) for k, v in bad["symbol"].astype(str).value_counts().items()}
