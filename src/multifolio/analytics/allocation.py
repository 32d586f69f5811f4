"""Attribution and risk analytics of an allocation: return and risk contributions, diversification,
correlation, historical VaR / CVaR, and the efficient frontier at the last rebalance.

Everything is read from the Result: realised figures from ``positions``, ``close`` and ``equity``;
ex-ante ones from the ``rebalance`` events a strategy logged (details ``symbols``, ``weights``, ``cov``,
``mean``: see :mod:`multifolio.strategies.allocate`). Nothing is read from a strategy object.

Definitions (bar t, asset i): held weight ``w_i,t = qty_i,t x close_i,t / equity_t`` (end of bar);
asset return ``r_i,t = close_i,t / close_i,t-1 - 1``; contribution ``c_i,t = w_i,t-1 x r_i,t``.
* return contribution of i: ``sum_t c_i,t`` (arithmetic; their sum is the portfolio's summed return before
  costs and intra-bar trading);
* ex-post risk contribution of i: ``cov(c_i, r_p) / var(r_p)`` with ``r_p,t = sum_i c_i,t`` (sums to 1);
* ex-ante risk contribution at a rebalance: ``w_i (Cov w)_i / w'Cov w`` with the model's covariance;
* diversification ratio: ``w'sigma / sqrt(w'Cov w)``, ex-ante (mean over rebalances) and ex-post (time
  average of held weights, realised covariance of the period);
* VaR / CVaR (empyrical): on daily returns of equity, ``VaR = percentile(r, 5)``,
  ``CVaR = mean of the int((n - 1) x 0.05) + 1 lowest returns``; both are returns (negative = a loss).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from multifolio.analytics.returns import conditional_value_at_risk, performance_equity, value_at_risk
from multifolio.strategies.allocation.risk import (
    diversification_ratio,
    efficient_frontier,
    risk_contributions,
)
from multifolio.strategies.indicators import forward_filled


def daily_returns(equity: pd.Series) -> pd.Series:
    """Returns of the last equity of each UTC day (bar returns for daily bars).

    ``equity.groupby(day).last().pct_change().dropna()``, computed on the arrays (a groupby costs more
    than the rest of the risk metrics): a day's close is its last non-missing equity (NaN when it has
    none), its return is close / previous day's close - 1, and undefined returns are left out.
    """
    if len(equity) == 0:
        return pd.Series(dtype=float)
    days = pd.DatetimeIndex(equity.index).normalize()
    order = np.argsort(days.asi8, kind="stable")
    day_keys = days.asi8[order]
    values = equity.to_numpy(dtype=float)[order]
    starts = np.flatnonzero(np.concatenate([[True], day_keys[1:] != day_keys[:-1]]))
    last_valid = np.maximum.reduceat(np.where(np.isnan(values), -1, np.arange(len(values))), starts)
    close = np.where(last_valid >= 0, values[last_valid], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = close[1:] / close[:-1] - 1.0
    keep = ~np.isnan(r)
    # groupby's index of days: the normalised index itself when it has a frequency (one bar a day)
    day_index = days if days.freq is not None else days[order[starts]]
    return pd.Series(r[keep], index=day_index[1:][keep], name=equity.name)


def rolling_var_cvar(equity: pd.Series, window: int = 252, cutoff: float = 0.05) -> pd.DataFrame:
    """Rolling 1-day historical VaR and CVaR (columns ``var``, ``cvar``) over ``window`` days."""
    r = daily_returns(equity)
    var = np.full(len(r), np.nan)
    cvar = np.full(len(r), np.nan)
    if len(r) >= window:
        win = np.lib.stride_tricks.sliding_window_view(r.to_numpy(dtype=float), window)
        var[window - 1:] = np.percentile(win, 100.0 * cutoff, axis=1)
        k = int((window - 1) * cutoff)
        cvar[window - 1:] = np.partition(win, k, axis=1)[:, : k + 1].mean(axis=1)
    return pd.DataFrame({"var": var, "cvar": cvar})


class _Holdings(NamedTuple):
    """End-of-bar held weights (T x N) and the assets' bar returns (T-1 x N) on the bars of ``close``,
    NaN and inf read as 0. The arrays are laid out column by column, as a DataFrame holds its values,
    so that sums over bars add up in the order they did when these were frames."""

    weights: np.ndarray
    returns: np.ndarray
    close: pd.DataFrame


def _weights_and_returns(result: Any) -> _Holdings | None:
    close = getattr(result, "close", None)
    if close is None or len(close) < 2:
        return None
    pos = result.positions.reindex(index=close.index, columns=close.columns).to_numpy(dtype=float,
                                                                                        na_value=0.0)
    px = forward_filled(close.to_numpy(dtype=float))
    eq = result.equity.reindex(close.index).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (pos * np.where(np.isnan(px), 0.0, px)) / eq[:, None]
        r = px[1:] / px[:-1] - 1.0
    return _Holdings(np.asfortranarray(np.nan_to_num(w)), np.asfortranarray(np.nan_to_num(r)), close)


def contributions(result: Any) -> pd.DataFrame | None:
    """Per-bar contributions ``w_i,t-1 x r_i,t`` (T-1 x N), or None without prices."""
    held = _weights_and_returns(result)
    if held is None:
        return None
    return pd.DataFrame(held.weights[:-1] * held.returns, index=held.close.index[1:],
                        columns=held.close.columns)


def return_contributions(result: Any) -> pd.Series | None:
    """Each asset's contribution to return, ``sum_t w_i,t-1 r_i,t`` (a fraction)."""
    c = contributions(result)
    return None if c is None else c.sum()


def ex_post_risk_contributions(result: Any) -> pd.Series | None:
    """Each asset's share of the realised variance, ``cov(c_i, r_p) / var(r_p)`` (sums to 1)."""
    c = contributions(result)
    if c is None or len(c) < 2:
        return None
    rp = c.sum(axis=1).to_numpy()
    var = float(np.var(rp, ddof=1))
    if not var > 0:
        return None
    cc = c.to_numpy() - c.to_numpy().mean(axis=0)
    return pd.Series(cc.T @ (rp - rp.mean()) / (len(rp) - 1) / var, index=c.columns)


_NO_REBALANCES = pd.DataFrame(columns=["timestamp", "details"])


def rebalances(result: Any) -> pd.DataFrame:
    """The ``rebalance`` events (timestamp, details) that carry weights and a covariance."""
    ev = getattr(result, "events", None)
    if ev is None or len(ev) == 0 or not {"kind", "details", "timestamp"} <= set(ev.columns):
        return _NO_REBALANCES.copy()      # a tenth of the cost of building the empty frame
    ev = ev[ev["kind"] == "rebalance"]
    ok = np.array([isinstance(d, dict) and "cov" in d and "weights" in d for d in ev["details"]], dtype=bool)
    return ev.loc[ok, ["timestamp", "details"]]


def ex_ante_risk_contributions(result: Any) -> pd.DataFrame | None:
    """Per rebalance (rows), each asset's ex-ante risk contribution from the model's covariance."""
    reb = rebalances(result)
    if len(reb) == 0:
        return None
    rows = []
    for d in reb["details"]:
        rows.append(pd.Series(risk_contributions(np.asarray(d["weights"]), np.asarray(d["cov"])),
                              index=d["symbols"]))
    out = pd.DataFrame(rows, index=pd.DatetimeIndex(reb["timestamp"]))
    return out.reindex(columns=list(result.symbols)).fillna(0.0)


def ex_ante_diversification(result: Any) -> pd.Series | None:
    """Per rebalance, the ex-ante diversification ratio of the target."""
    reb = rebalances(result)
    if len(reb) == 0:
        return None
    return pd.Series([diversification_ratio(np.asarray(d["weights"]), np.asarray(d["cov"]))
                      for d in reb["details"]], index=pd.DatetimeIndex(reb["timestamp"]))


def ex_post_diversification(result: Any) -> float:
    """Realised diversification ratio: time-average held weights, the period's sample covariance."""
    held = _weights_and_returns(result)
    if held is None or len(held.returns) < 2:
        return math.nan
    cov = np.atleast_2d(np.cov(held.returns, rowvar=False))
    return diversification_ratio(held.weights[:-1].mean(axis=0), cov)


def correlation_matrix(result: Any) -> pd.DataFrame | None:
    """Correlation of the assets' bar returns over the result period."""
    close = getattr(result, "close", None)
    if close is None or len(close) < 3:
        return None
    return close.pct_change(fill_method=None).iloc[1:].corr()


def last_frontier(result: Any, n_points: int = 25) -> dict[str, Any] | None:
    """Efficient frontier (per-bar volatility and mean) of the universe at the last rebalance, with the
    chosen portfolio's point: keys ``time``, ``symbols``, ``vol``, ``ret``, ``chosen_vol``,
    ``chosen_ret``, ``asset_vol``, ``asset_ret``."""
    reb = rebalances(result)
    if len(reb) == 0:
        return None
    d = reb["details"].iloc[-1]
    cov = np.asarray(d["cov"])
    mean = np.asarray(d.get("mean")) if d.get("mean") is not None else None
    if mean is None or len(mean) < 2:
        return None
    vol, ret = efficient_frontier(cov, mean, n_points)
    w = np.asarray(d["weights"])
    return {"time": reb["timestamp"].iloc[-1], "symbols": list(d["symbols"]), "vol": vol, "ret": ret,
            "chosen_vol": float(np.sqrt(max(w @ cov @ w, 0.0))), "chosen_ret": float(mean @ w),
            "asset_vol": np.sqrt(np.diag(cov)), "asset_ret": mean}


def risk_metrics(result: Any) -> dict[str, Any]:
    """The figures ``compute_metrics`` adds: ``var_95_pct``, ``cvar_95_pct`` (1-day historical, whole
    period, %), ``diversification_ratio`` (ex-post; NaN without prices) and
    ``diversification_ratio_ex_ante`` (mean over rebalances; NaN without rebalance events)."""
    r = daily_returns(performance_equity(result))    # an allocator's transfers are not returns
    ex_ante = ex_ante_diversification(result)
    return {"var_95_pct": value_at_risk(r) * 100.0, "cvar_95_pct": conditional_value_at_risk(r) * 100.0,
            "diversification_ratio": ex_post_diversification(result),
            "diversification_ratio_ex_ante": float(ex_ante.mean()) if ex_ante is not None else math.nan}


def allocation_summary(result: Any) -> dict[str, Any] | None:
    """The allocation section of the reports (None when the run logged no rebalance with a covariance):
    per-asset return contribution, ex-ante (last rebalance and mean) and ex-post risk contributions,
    diversification ratios, correlation matrix, rolling VaR/CVaR and the last frontier."""
    reb = rebalances(result)
    if len(reb) == 0:
        return None
    ante = ex_ante_risk_contributions(result)
    per_asset = pd.DataFrame({
        "return_contribution": return_contributions(result),
        "risk_contribution_ex_ante_last": ante.iloc[-1],
        "risk_contribution_ex_ante_mean": ante.mean(),
        "risk_contribution_ex_post": ex_post_risk_contributions(result),
    })
    roll = rolling_var_cvar(performance_equity(result))
    return {"n_rebalances": len(reb), "per_asset": per_asset, **risk_metrics(result),
            "correlation": correlation_matrix(result), "rolling_var_cvar": roll.dropna(),
            "frontier": last_frontier(result)}
