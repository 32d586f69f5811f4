"""``compute_metrics(result)``: the metrics dict behind ``Result.metrics``.

Every key, its unit and definition (the README quotes this list):

Returns and risk (see ``returns`` and ``drawdown`` for the conventions)
  ``initial_capital``, ``final_equity`` (last end-of-bar equity), ``start``, ``end`` (first/last bar),
  ``n_bars``, ``period_days`` (last - first bar + one bar), ``periods_per_year`` (252 for business-day
  daily bars, else 365.25 days / bar spacing), ``total_return_pct``, ``cagr_pct``, ``volatility_pct``
  (annualised std of bar returns), ``sharpe``, ``sortino`` (risk-free 0), ``calmar`` (cagr_pct /
  max_drawdown_pct, NaN without a drawdown), ``max_drawdown_pct`` (positive %), ``max_drawdown_peak_time``,
  ``max_drawdown_trough_time``, ``max_drawdown_recovery_time`` (None if not recovered),
  ``max_drawdown_duration_hours`` (longest peak-to-recovery stretch, to the last bar if not recovered;
  the longest drawdown need not be the deepest), ``deepest_drawdown_duration_hours`` (the same for the
  deepest drawdown), ``time_underwater_pct``.
Trades and costs
  ``total_trades`` (closed round trips), ``win_rate`` (% of trades with pnl > 0), ``profit_factor``
  (gross profit / gross loss of trades; inf with no losing trade, NaN without trades),
  ``avg_trade_pnl``, ``best_trade_pnl``, ``worst_trade_pnl``, ``fees_paid`` (sum of fill fees),
  ``traded_notional`` (sum |qty| x price of fills), ``turnover`` (traded_notional / mean equity, over
  the whole period, not annualised), ``exposure_pct`` (% of bars ending with any open position),
  ``n_fills``, ``n_orders``, ``orders_rejected``, ``rejected_margin``, ``rejected_min_notional``,
  ``liquidations`` (liquidation events).
Shared-pool answers
  ``margin_account`` (bool: leverage other than 1 or shorting allowed; otherwise a cash account, which
  borrows nothing), ``peak_margin_ratio`` (max snapshots margin_ratio = margin used / initial capital,
  a fraction; in a cash account "margin used" is the gross exposure, so this is no margin figure
  there), ``peak_margin_pct`` (the same in %), ``peak_margin_time``, ``peak_margin_equity_pct``
  (margin used at that bar as % of that bar's equity), ``peak_exposure_pct`` (max over bars of gross
  exposure as % of that bar's equity, bars with equity > 0), ``peak_exposure_time``.
  ``margin_peak_summary(metrics)`` words the answer for either account. ``peak_concurrent_positions``,
  ``peak_concurrent_assets``, ``peak_filled_levels`` (max snapshots n_filled_levels, None when the
  strategy does not record it), ``crash_bars``, ``crash_mean_assets``, ``normal_mean_assets``
  (mean number of assets with positions on crash / other bars; None without prices),
  ``kill_switch_triggers`` (see ``kill_switch.kill_switch_summary``), ``kill_switch_window_hours``,
  ``kill_switch_threshold_pct``.
Allocation and tail risk (``allocation.risk_metrics``)
  ``var_95_pct``, ``cvar_95_pct`` (1-day historical VaR / CVaR at 95% of daily returns, empyrical
  definitions, % and negative for a loss), ``diversification_ratio`` (ex-post),
  ``diversification_ratio_ex_ante`` (mean over the strategy's ``rebalance`` events; NaN without them).
Notes
  ``notes``: list of sentences explaining figures reported as NaN that one would expect a number for
  (a CAGR that cannot be annualised, see ``returns.cagr_pct``); empty for an ordinary run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from multifolio.analytics import returns as R
from multifolio.analytics.allocation import risk_metrics
from multifolio.analytics.concurrency import fill_concurrency
from multifolio.analytics.drawdown import drawdown_summary
from multifolio.analytics.kill_switch import kill_switch_summary
from multifolio.analytics.per_asset import MARGIN_REASONS, MIN_NOTIONAL_REASONS, closed_trades


@dataclass(frozen=True, eq=False)
class LedgerFigures:
    """What ``compute_metrics`` reads from the fills, orders, events and trades ledgers: counts, sums and
    the net PnL of each closed round trip (in the trades' order). ``ledger_figures`` defines them on the
    Result's frames; a Result built from a raw run computes the same numbers from its arrays."""

    n_fills: int
    fees_paid: float                  # sum of fill fees
    traded_notional: float            # sum of |fill value| (|qty| x price without a value column)
    n_orders: int
    orders_rejected: int
    rejected_margin: int              # rejected for a reason in per_asset.MARGIN_REASONS
    rejected_min_notional: int        # ... in per_asset.MIN_NOTIONAL_REASONS
    liquidations: int                 # liquidation events
    closed_trade_pnl: np.ndarray


def ledger_figures(result: Any) -> LedgerFigures:
    """The ledger figures of a Result, read from its ``fills``, ``orders``, ``events`` and ``trades``."""
    fills = result.fills
    value = fills["value"] if "value" in fills.columns else fills["qty"] * fills["price"]
    orders = result.orders
    if len(orders) and "status" in orders.columns:
        rejected = orders[orders["status"] == "rejected"]
        reasons = rejected["reason"] if "reason" in rejected.columns else pd.Series(dtype=object)
        n_rejected = len(rejected)
        n_margin = int(reasons.isin(MARGIN_REASONS).sum())
        n_min_notional = int(reasons.isin(MIN_NOTIONAL_REASONS).sum())
    else:
        n_rejected = n_margin = n_min_notional = 0
    events = result.events
    trades = closed_trades(result.trades)
    return LedgerFigures(
        n_fills=len(fills),
        fees_paid=float(fills["fee"].sum()) if len(fills) else 0.0,
        traded_notional=float(value.abs().sum()) if len(fills) else 0.0,
        n_orders=len(orders), orders_rejected=n_rejected, rejected_margin=n_margin,
        rejected_min_notional=n_min_notional,
        liquidations=int((events["kind"] == "liquidation").sum()) if len(events) else 0,
        closed_trade_pnl=trades["pnl"].to_numpy(dtype=float) if len(trades) else np.zeros(0))


def _trade_stats(pnl: np.ndarray) -> dict[str, Any]:
    """Figures of the closed round trips' net PnL."""
    n = len(pnl)
    if n == 0:
        return {"total_trades": 0, "win_rate": math.nan, "profit_factor": math.nan,
                "avg_trade_pnl": math.nan, "best_trade_pnl": math.nan, "worst_trade_pnl": math.nan}
    gross_win = float(pnl[pnl > 0].sum())
    gross_loss = float(-pnl[pnl < 0].sum())
    if gross_loss > 0:
        pf = gross_win / gross_loss
    else:
        pf = math.inf if gross_win > 0 else math.nan
    return {"total_trades": n, "win_rate": float((pnl > 0).mean() * 100.0), "profit_factor": pf,
            "avg_trade_pnl": float(pnl.mean()), "best_trade_pnl": float(pnl.max()),
            "worst_trade_pnl": float(pnl.min())}


def _exposure_pct(result: Any) -> float:
    snaps = result.snapshots
    if "n_open_positions" in snaps.columns and len(snaps):
        return float((snaps["n_open_positions"].fillna(0) > 0).mean() * 100.0)
    pos = getattr(result, "positions", None)
    if isinstance(pos, pd.DataFrame) and len(pos):
        return float((pos.fillna(0.0).abs() > 0).any(axis=1).mean() * 100.0)
    return math.nan


def is_margin_account(result: Any) -> bool:
    """A margin account when the run's settings allow shorting or use a leverage other than 1.

    Without those settings (a hand-built Result), the snapshots decide: margin used below the gross
    exposure means borrowed money; a short position means a margin account too.
    """
    settings = getattr(result, "settings", None) or {}
    if "leverage" in settings or "allow_short" in settings:
        lev = settings.get("leverage", 1.0)
        levs = list(lev.values()) if isinstance(lev, dict) else [lev]
        return bool(settings.get("allow_short", False)) or any(float(x) != 1.0 for x in levs)
    snaps = result.snapshots
    if {"margin_used", "gross_exposure"} <= set(snaps.columns) and len(snaps):
        mu = snaps["margin_used"].astype(float).to_numpy()
        gross = snaps["gross_exposure"].astype(float).to_numpy()
        if np.any(mu < gross * (1.0 - 1e-9)):
            return True
    pos = getattr(result, "positions", None)
    return bool(isinstance(pos, pd.DataFrame) and len(pos) and (pos.to_numpy(dtype=float) < 0).any())


def _margin_figures(result: Any, equity: pd.Series) -> dict[str, Any]:
    snaps = result.snapshots
    out: dict[str, Any] = {"margin_account": is_margin_account(result), "peak_margin_ratio": math.nan,
                           "peak_margin_pct": math.nan, "peak_margin_time": None,
                           "peak_margin_equity_pct": math.nan, "peak_exposure_pct": math.nan,
                           "peak_exposure_time": None}
    if "margin_ratio" in snaps.columns and len(snaps) and snaps["margin_ratio"].notna().any():
        # Series.max() and idxmax() as pandas computes them (NaN read as -inf), on the array: the
        # Series methods cost more than the rest of these figures
        mr = snaps["margin_ratio"].astype(float).to_numpy()
        mr = np.where(np.isnan(mr), -np.inf, mr)
        k, peak = int(mr.argmax()), mr.max()
        out.update({"peak_margin_ratio": float(peak), "peak_margin_pct": float(peak * 100.0),
                    "peak_margin_time": snaps.index[k] if peak > 0 else None})
        t = out["peak_margin_time"]
        if t is not None and "margin_used" in snaps.columns:
            if snaps.index.is_unique and equity.index.equals(snaps.index):
                eq_t, mu_t = float(equity.iloc[k]), float(snaps["margin_used"].iloc[k])
            else:
                eq_t = float(equity.loc[t]) if t in equity.index else math.nan
                mu_t = float(snaps.loc[t, "margin_used"])
            out["peak_margin_equity_pct"] = mu_t / eq_t * 100.0 if eq_t > 0 else math.nan
    if "gross_exposure" in snaps.columns and len(snaps) and len(equity) == len(snaps):
        gross = snaps["gross_exposure"].astype(float).to_numpy()
        eq = equity.to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(eq > 0, gross / eq, np.nan)
        if np.isfinite(share).any():
            k = int(np.nanargmax(share))
            out["peak_exposure_pct"] = float(share[k] * 100.0)
            out["peak_exposure_time"] = equity.index[k] if share[k] > 0 else None
    return out


def margin_peak_summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The "margin peak" answer from the metrics, worded for the kind of account.

    Cash account: nothing is borrowed, so the figure is the peak gross exposure as % of the equity at
    that bar, and the line says "no margin". Margin account: the peak margin used as % of the initial
    capital and as % of the equity at that bar.
    """
    def pct(x: Any) -> str:
        return "-" if is_missing(x) else f"{x:.2f}%"

    def at(t: Any) -> str:
        return "" if t is None else f" ({pd.Timestamp(t).strftime('%Y-%m-%d %H:%M')})"

    out = {k: metrics.get(k) for k in ("margin_account", "peak_margin_ratio", "peak_margin_pct",
                                       "peak_margin_time", "peak_margin_equity_pct",
                                       "peak_exposure_pct", "peak_exposure_time")}
    out["time"] = metrics.get("peak_margin_time") if out["margin_account"] else \
        metrics.get("peak_exposure_time")
    if out["margin_account"]:
        out["answer"] = (f"Margin peak: {pct(out['peak_margin_pct'])} of initial capital, "
                         f"{pct(out['peak_margin_equity_pct'])} of equity at that bar, tied up as margin"
                         f"{at(out['peak_margin_time'])}")
    else:
        out["answer"] = (f"Exposure peak: {pct(out['peak_exposure_pct'])} of equity"
                         f"{at(out['peak_exposure_time'])}; cash account, no margin")
    return out


#: Every metric key, by the group that computes it (``compute_metrics(result, keys=...)`` computes only
#: the groups of the keys asked for: an optimiser ranking thousands of runs by one key needs one group).
METRIC_GROUPS: dict[str, tuple[str, ...]] = {
    "returns": ("initial_capital", "final_equity", "net_transfers", "start", "end", "n_bars", "period_days",
                "periods_per_year", "total_return_pct", "cagr_pct", "volatility_pct", "sharpe", "sortino",
                "calmar", "max_drawdown_pct", "max_drawdown_duration_hours",
                "deepest_drawdown_duration_hours", "max_drawdown_peak_time", "max_drawdown_trough_time",
                "max_drawdown_recovery_time", "time_underwater_pct", "notes"),
    "trades": ("total_trades", "win_rate", "profit_factor", "avg_trade_pnl", "best_trade_pnl",
               "worst_trade_pnl", "fees_paid", "traded_notional", "turnover", "exposure_pct", "n_fills",
               "n_orders", "orders_rejected", "rejected_margin", "rejected_min_notional", "liquidations"),
    "margin": ("margin_account", "peak_margin_ratio", "peak_margin_pct", "peak_margin_time",
               "peak_margin_equity_pct", "peak_exposure_pct", "peak_exposure_time"),
    "concurrency": ("peak_concurrent_positions", "peak_concurrent_assets", "peak_filled_levels",
                    "crash_bars", "crash_mean_assets", "normal_mean_assets"),
    "kill_switch": ("kill_switch_triggers", "kill_switch_window_hours", "kill_switch_threshold_pct"),
    "risk": ("var_95_pct", "cvar_95_pct", "diversification_ratio", "diversification_ratio_ex_ante"),
}
_GROUP_OF = {key: group for group, keys in METRIC_GROUPS.items() for key in keys}


def metric_groups(keys: Iterable[str]) -> set[str]:
    """The groups that compute ``keys``; an unknown key is a ``ValueError`` naming the known ones.

    >>> sorted(metric_groups(["sharpe", "max_drawdown_pct", "peak_margin_pct"]))
    ['margin', 'returns']
    """
    out = set()
    for k in keys:
        if k not in _GROUP_OF:
            raise ValueError(f"{k!r} is not a metric; metrics: {', '.join(sorted(_GROUP_OF))}")
        out.add(_GROUP_OF[k])
    return out


def compute_metrics(result: Any, close: pd.DataFrame | None = None,
                    keys: Iterable[str] | None = None) -> dict[str, Any]:
    """All metrics of a Result (keys and definitions in the module docstring), or with ``keys`` those
    of the groups (``METRIC_GROUPS``) that hold them: the same values, fewer computed.

    ``close`` (wide close prices) enables the crash-bar concurrency figures; it defaults to
    ``result.close`` when the Result carries it.
    """
    groups = set(METRIC_GROUPS) if keys is None else metric_groups(keys)
    equity: pd.Series = result.equity
    R.check_equity(equity, "compute_metrics")
    cap = float(result.initial_capital)
    if not cap > 0:
        raise ValueError(f"compute_metrics: initial_capital must be > 0, got {cap}")
    account_equity = equity
    # capital moved by an allocator is not performance: returns, drawdown and CAGR are time-weighted
    equity = R.performance_equity(result)
    out: dict[str, Any] = {}
    if "returns" in groups:
        out.update(_return_metrics(result, equity, account_equity, cap))
    if "trades" in groups:
        # a Result holds its figures (cached; computed from the raw arrays when it has them)
        ledger = result.ledger_figures if hasattr(result, "ledger_figures") else ledger_figures(result)
        mean_equity = float(account_equity.mean()) if len(account_equity) else cap
        out.update(_trade_stats(ledger.closed_trade_pnl))
        out.update({
            "fees_paid": ledger.fees_paid,
            "traded_notional": ledger.traded_notional,
            "turnover": ledger.traded_notional / mean_equity if mean_equity > 0 else math.nan,
            "exposure_pct": _exposure_pct(result),
            "n_fills": ledger.n_fills,
            "n_orders": ledger.n_orders, "orders_rejected": ledger.orders_rejected,
            "rejected_margin": ledger.rejected_margin, "rejected_min_notional": ledger.rejected_min_notional,
            "liquidations": ledger.liquidations,
        })
    if "margin" in groups:
        out.update(_margin_figures(result, equity))
    if "concurrency" in groups:
        conc = fill_concurrency(result, close)
        out.update({k: conc[k] for k in METRIC_GROUPS["concurrency"]})
    if "kill_switch" in groups:
        ks = kill_switch_summary(result)
        out.update({"kill_switch_triggers": ks["triggers"], "kill_switch_window_hours": ks["window_hours"],
                    "kill_switch_threshold_pct": ks["threshold_pct"]})
    if "risk" in groups:
        out.update(risk_metrics(result))
    if "notes" in out:
        out["notes"] = out.pop("notes")          # last, after every figure it may explain
    return out


def _return_metrics(result: Any, equity: pd.Series, account_equity: pd.Series, cap: float) -> dict[str, Any]:
    """The ``returns`` group: returns, risk-adjusted ratios and drawdowns of the (time-weighted) equity."""
    flows = R.cash_flows(result)
    index = pd.DatetimeIndex(equity.index)
    freq = R.infer_freq(index, getattr(result, "freq", None))
    final = float(equity.iloc[-1]) if len(equity) else cap
    days = R.period_days(index, freq)
    ppy = R.periods_per_year(index, freq)
    rets = R.bar_returns(equity, initial=cap)
    dd = drawdown_summary(equity, initial=cap, freq=freq)
    cagr = R.cagr_pct(final, cap, days)
    total = R.total_return_pct(final, cap)
    notes = []
    if math.isnan(cagr) and days > 0 and final > 0:
        notes.append(f"cagr_pct: not reported, a {total:+.2f}% return over {days:.4g} days cannot be "
                     "annualised (the compounded figure overflows); calmar likewise")
    return {
        "initial_capital": cap,
        "final_equity": float(account_equity.iloc[-1]) if len(account_equity) else cap,
        "net_transfers": float(flows.sum()) if flows is not None else 0.0,
        "start": index[0] if len(index) else None,
        "end": index[-1] if len(index) else None,
        "n_bars": len(equity),
        "period_days": days,
        "periods_per_year": ppy,
        "total_return_pct": total,
        "cagr_pct": cagr,
        "volatility_pct": R.volatility_pct(rets, ppy),
        "sharpe": R.sharpe_ratio(rets, ppy),
        "sortino": R.sortino_ratio(rets, ppy),
        "calmar": _calmar(cagr, dd["max_drawdown_pct"]),
        **{k: dd[k] for k in ("max_drawdown_pct", "max_drawdown_duration_hours",
                              "deepest_drawdown_duration_hours", "max_drawdown_peak_time",
                              "max_drawdown_trough_time", "max_drawdown_recovery_time",
                              "time_underwater_pct")},
        "notes": notes,
    }


def _calmar(cagr: float, mdd: float) -> float:
    """cagr_pct / max_drawdown_pct; NaN without a drawdown or when the ratio is not finite."""
    if not mdd > 0 or math.isnan(cagr):
        return math.nan
    ratio = cagr / mdd
    return ratio if math.isfinite(ratio) else math.nan


def is_missing(x: Any) -> bool:
    """True for None and NaN (used by the reports to print a dash)."""
    return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x))
