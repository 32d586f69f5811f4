"""HTML sections of an allocation run: risk contributions, correlation heatmap, efficient frontier, rolling
VaR / CVaR. Each function returns a plotly figure; :func:`allocation_section` is the report section (None
when the run logged no ``rebalance`` event with a covariance)."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from multifolio.analytics.allocation import allocation_summary
from multifolio.report.page import ReportContext, Section, para


def risk_contribution_figure(summary: dict[str, Any]) -> go.Figure:
    """Bars per asset: ex-ante risk contribution (last rebalance, mean) and ex-post, in %."""
    pa = summary["per_asset"]
    fig = go.Figure()
    for col, name in (("risk_contribution_ex_ante_last", "Ex-ante (last rebalance)"),
                      ("risk_contribution_ex_ante_mean", "Ex-ante (mean)"),
                      ("risk_contribution_ex_post", "Ex-post (realised)")):
        if col in pa.columns and pa[col].notna().any():
            fig.add_trace(go.Bar(x=[str(s) for s in pa.index], y=pa[col].to_numpy(dtype=float) * 100.0,
                                 name=name))
    fig.update_layout(title="Risk contribution per asset (% of portfolio variance)", barmode="group",
                      height=360, yaxis_title="%", margin={"t": 50, "b": 30})
    return fig


def correlation_figure(summary: dict[str, Any]) -> go.Figure:
    """Heatmap of the correlation of asset returns over the period."""
    corr = summary.get("correlation")
    fig = go.Figure()
    if corr is not None and len(corr):
        labels = [str(s) for s in corr.columns]
        fig.add_trace(go.Heatmap(z=corr.to_numpy(dtype=float), x=labels, y=labels, zmin=-1, zmax=1,
                                 colorscale="RdBu", reversescale=True))
    n = 0 if corr is None else len(corr)
    fig.update_layout(title="Correlation of asset returns", height=max(360, 18 * n + 120),
                      yaxis={"autorange": "reversed"}, margin={"t": 50, "b": 30})
    return fig


def frontier_figure(summary: dict[str, Any], periods_per_year: float = 252.0) -> go.Figure:
    """Long-only efficient frontier of the universe at the last rebalance (annualised), the assets and
    the chosen portfolio."""
    fr = summary.get("frontier")
    fig = go.Figure()
    if fr is not None:
        a = float(periods_per_year)
        sv = np.sqrt(a) * 100.0
        fig.add_trace(go.Scatter(x=np.asarray(fr["vol"]) * sv, y=np.asarray(fr["ret"]) * a * 100.0,
                                 mode="lines", name="Efficient frontier"))
        fig.add_trace(go.Scatter(x=np.asarray(fr["asset_vol"]) * sv,
                                 y=np.asarray(fr["asset_ret"]) * a * 100.0, mode="markers",
                                 name="Assets", text=fr["symbols"], marker={"size": 6}))
        fig.add_trace(go.Scatter(x=[fr["chosen_vol"] * sv], y=[fr["chosen_ret"] * a * 100.0],
                                 mode="markers", name="Chosen portfolio",
                                 marker={"size": 13, "symbol": "star", "color": "#c62828"}))
        title = f"Efficient frontier at the last rebalance ({fr['time']:%Y-%m-%d}), annualised"
    else:
        title = "Efficient frontier (no rebalance with returns)"
    fig.update_layout(title=title, xaxis_title="Volatility %", yaxis_title="Mean return %", height=420,
                      margin={"t": 50, "b": 30})
    return fig


def var_figure(summary: dict[str, Any]) -> go.Figure:
    """Rolling 1-day historical VaR and CVaR at 95% (daily returns, %)."""
    roll = summary.get("rolling_var_cvar")
    fig = go.Figure()
    if roll is not None and len(roll):
        for col, name in (("var", "VaR 95%"), ("cvar", "CVaR 95%")):
            fig.add_trace(go.Scatter(x=roll.index, y=roll[col].to_numpy(dtype=float) * 100.0, name=name,
                                     mode="lines"))
    fig.update_layout(title="Rolling 1-day historical VaR / CVaR (95%, 252 days)", height=320,
                      yaxis_title="daily return %", margin={"t": 50, "b": 30})
    return fig


def allocation_section(ctx: ReportContext) -> Section | None:
    """The report section of a run whose strategy allocated (logged ``rebalance`` events): risk
    contributions, correlation heatmap, efficient frontier with the chosen portfolio, rolling VaR."""
    summary = allocation_summary(ctx.result)
    if summary is None:
        return None
    figs = [risk_contribution_figure(summary), correlation_figure(summary),
            frontier_figure(summary, ctx.metrics.get("periods_per_year") or 252.0), var_figure(summary)]
    ex_ante = summary["diversification_ratio_ex_ante"]
    line = (f"{summary['n_rebalances']} rebalances · diversification ratio ex-post "
            f"{summary['diversification_ratio']:.2f}, ex-ante (mean) {ex_ante:.2f}"
            f" · 1-day VaR 95% {summary['var_95_pct']:.2f}%, CVaR {summary['cvar_95_pct']:.2f}%")
    return Section("Allocation and risk", [para(line, "muted"), *figs], anchor="allocation")


