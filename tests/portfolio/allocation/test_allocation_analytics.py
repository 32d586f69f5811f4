"""Attribution and risk analytics of allocation runs, against hand computations from the Result."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import multifolio as mf
from multifolio.analytics import allocation as A
from multifolio.portfolio.allocation import diversification_ratio, efficient_frontier, simplex_qp
from multifolio.strategies.allocate import Allocate


def _close(n_bars: int = 320, n_assets: int = 5, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2020-01-01", periods=n_bars, freq="B", tz="UTC")
    common = rng.normal(0, 0.01, (n_bars, 1))
    rets = common + rng.normal(0.0004, 1.0, (n_bars, n_assets)) * np.linspace(0.005, 0.02, n_assets)
    return pd.DataFrame(100 * np.exp(np.cumsum(rets, axis=0)), index=idx,
                        columns=[f"S{j}" for j in range(n_assets)])


def _run(**kw):
    close = _close()
    return close, mf.backtest(close, Allocate(model="risk_parity", lookback=60, schedule="monthly", **kw),
                              execution="close")


def test_return_contributions_add_up_to_the_portfolio_returns():
    # close execution, no fees: equity moves only by held quantities x price changes, so the summed
    # per-asset contributions equal the summed bar returns of equity
    close, res = _run()
    contrib = A.contributions(res)
    port = res.equity.pct_change().iloc[1:]
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), port.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(A.return_contributions(res).sum(), port.sum(), atol=1e-10)


def test_ex_post_risk_contributions_decompose_the_variance():
    close, res = _run()
    rc = A.ex_post_risk_contributions(res)
    assert abs(rc.sum() - 1.0) < 1e-12
    c = A.contributions(res)
    rp = c.sum(axis=1)
    i = "S2"
    assert abs(rc[i] - np.cov(c[i], rp)[0, 1] / rp.var()) < 1e-12


def test_ex_ante_contributions_are_equal_for_risk_parity_and_dr_from_events():
    close, res = _run()
    ante = A.ex_ante_risk_contributions(res)
    assert len(ante) == len(res.events[res.events["kind"] == "rebalance"])
    np.testing.assert_allclose(ante.to_numpy(), 0.2, rtol=1e-8)
    d = res.events[res.events["kind"] == "rebalance"]["details"].iloc[-1]
    w, cov = np.asarray(d["weights"]), np.asarray(d["cov"])
    dr = (w @ np.sqrt(np.diag(cov))) / np.sqrt(w @ cov @ w)
    assert abs(A.ex_ante_diversification(res).iloc[-1] - dr) < 1e-12
    assert abs(diversification_ratio(w, cov) - dr) < 1e-12
    m = res.metrics
    assert abs(m["diversification_ratio_ex_ante"] - A.ex_ante_diversification(res).mean()) < 1e-12
    assert m["diversification_ratio"] > 1.0


def test_var_cvar_empyrical_definitions_and_rolling():
    r = np.array([0.03, -0.05, 0.01, -0.02, 0.0, 0.04, -0.01, -0.03, 0.02, 0.01, -0.04])
    # 5th percentile by linear interpolation: rank 0.05 x 10 = 0.5 between -0.05 and -0.04
    assert abs(A.value_at_risk(r) - (-0.045)) < 1e-15
    # int((11 - 1) x 0.05) = 0: the single lowest return
    assert A.conditional_value_at_risk(r) == -0.05
    eq = pd.Series(np.cumprod(1 + np.r_[0.0, np.random.default_rng(1).normal(0, 0.01, 300)]),
                   index=pd.date_range("2021-01-01", periods=301, freq="D", tz="UTC"))
    roll = A.rolling_var_cvar(eq, window=100)
    d = eq.pct_change().iloc[1:]
    for k in (99, 150, 299):
        win = d.iloc[k - 99: k + 1].to_numpy()
        assert abs(roll["var"].iloc[k] - A.value_at_risk(win)) < 1e-15
        assert abs(roll["cvar"].iloc[k] - A.conditional_value_at_risk(win)) < 1e-15
    assert roll["var"].iloc[:99].isna().all()


def test_frontier_starts_at_min_variance_and_the_chosen_point_is_not_left_of_it():
    close, res = _run()
    fr = A.last_frontier(res)
    d = res.events[res.events["kind"] == "rebalance"]["details"].iloc[-1]
    cov, mean = np.asarray(d["cov"]), np.asarray(d["mean"])
    w0 = simplex_qp(cov)
    assert abs(fr["vol"][0] - np.sqrt(w0 @ cov @ w0)) < 1e-12
    assert abs(fr["ret"][-1] - mean.max()) < 1e-15
    vol, ret = efficient_frontier(cov, mean, 40)
    # no frontier point has a lower volatility than the minimum-variance one; the chosen portfolio is on
    # or to the right of the frontier at its own return
    assert vol.min() >= fr["vol"][0] - 1e-15
    at = np.interp(fr["chosen_ret"], ret, vol)
    assert fr["chosen_vol"] >= at * (1 - 1e-6) or fr["chosen_ret"] < ret[0]


def test_reports_carry_the_allocation_section(tmp_path):
    close, res = _run()
    d = json.loads(res.to_json())
    alloc = d["allocation"]
    assert set(alloc["per_asset"]) == set(close.columns)
    assert abs(sum(r["risk_contribution_ex_post"] for r in alloc["per_asset"].values()) - 1) < 1e-9
    page = (tmp_path / "r.html")
    res.to_html(str(page))
    text = page.read_text()
    assert "Allocation and risk" in text
    for figure in ("Risk contribution per asset", "Correlation of asset returns", "Volatility %",
                   "Rolling 1-day historical VaR"):
        assert figure in text
    # a run without rebalance events has no such section
    plain = mf.backtest(close, mf.strategies.EqualWeight())
    assert "allocation" not in json.loads(plain.to_json())
