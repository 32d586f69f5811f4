"""Allocation models against hand cases, sklearn and skfolio (on the same windows), and their invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multifolio.portfolio.allocation import (
    MODELS,
    Constraints,
    cap_weights,
    ewma_cov,
    ledoit_wolf,
    make_model,
    risk_contributions,
    sample_cov,
    simplex_qp,
)

skfolio = pytest.importorskip("skfolio")
from skfolio.measures import RiskMeasure  # noqa: E402
from skfolio.optimization import (  # noqa: E402
    EqualWeighted,
    HierarchicalRiskParity,
    InverseVolatility,
    MaximumDiversification,
    MeanRisk,
    ObjectiveFunction,
    RiskBudgeting,
)
from skfolio.seriation import HierarchicalSeriation  # noqa: E402


def window(seed: int, t: int = 252, n: int = 30, factors: int = 3) -> np.ndarray:
    """Factor-structured returns with assets of different volatility (correlated, like stocks)."""
    rng = np.random.default_rng(seed)
    f = rng.normal(0.0, 0.01, (t, factors)) @ rng.normal(0.5, 1.0, (factors, n))
    return f + rng.normal(0.0, 0.01, (t, n)) * rng.uniform(0.5, 2.0, n)


SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_inverse_volatility_matches_skfolio(seed):
    x = window(seed)
    w = make_model("inverse_volatility").weights(x)
    np.testing.assert_allclose(w, InverseVolatility().fit(x).weights_, atol=1e-5, rtol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_risk_parity_equal_contributions_and_matches_skfolio(seed):
    x = window(seed)
    w = make_model("risk_parity").weights(x)
    rc = risk_contributions(w, sample_cov(x))
    assert np.max(np.abs(rc / rc.mean() - 1.0)) < 1e-8
    sk = RiskBudgeting(risk_measure=RiskMeasure.VARIANCE).fit(x).weights_
    np.testing.assert_allclose(w, sk, atol=1e-5, rtol=0)


def test_risk_budgets_are_met():
    x = window(5, n=6)
    b = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 1.0])
    w = make_model("risk_parity", budgets=b.tolist()).weights(x)
    rc = risk_contributions(w, sample_cov(x))
    np.testing.assert_allclose(rc, b / b.sum(), rtol=1e-8)
    sk = RiskBudgeting(risk_measure=RiskMeasure.VARIANCE, risk_budget=b).fit(x).weights_
    np.testing.assert_allclose(w, sk, atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_min_variance_no_higher_than_skfolio(seed):
    x = window(seed, n=40)
    cov = sample_cov(x)
    w = make_model("min_variance").weights(x)
    assert w.min() >= 0 and abs(w.sum() - 1) < 1e-12
    sk = MeanRisk(objective_function=ObjectiveFunction.MINIMIZE_RISK, risk_measure=RiskMeasure.VARIANCE)
    ws = sk.fit(x).weights_
    assert w @ cov @ w <= ws @ cov @ ws * (1 + 1e-9)
    # KKT: the marginal variance is equal on held assets and not lower on the others
    g = cov @ w
    held = w > 1e-12
    nu = g[held].mean()
    assert np.max(np.abs(g[held] - nu)) < 1e-10 * nu
    assert np.all(g[~held] >= nu * (1 - 1e-10))


@pytest.mark.parametrize("seed", SEEDS)
def test_max_diversification_reaches_skfolio_ratio(seed):
    x = window(seed, n=40)
    cov = sample_cov(x)
    sd = np.sqrt(np.diag(cov))

    def dr(w):
        return w @ sd / np.sqrt(w @ cov @ w)

    w = make_model("max_diversification").weights(x)
    assert dr(w) >= dr(MaximumDiversification().fit(x).weights_) * (1 - 1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_hrp_matches_skfolio(seed):
    x = window(seed, n=40)
    w = make_model("hrp").weights(x)
    sk = HierarchicalRiskParity(seriation_estimator=HierarchicalSeriation(optimal_ordering=False)).fit(x)
    np.testing.assert_allclose(w, sk.weights_, atol=1e-10)


def test_equal_weight_matches_skfolio():
    x = window(0, n=7)
    np.testing.assert_allclose(make_model("equal_weight").weights(x), EqualWeighted().fit(x).weights_)


def test_skfolio_model_is_the_estimator_fitted_on_the_window():
    x = window(3, n=10)
    m = make_model("skfolio:HierarchicalRiskParity", risk_measure="variance")
    np.testing.assert_allclose(m.weights(x),
                               HierarchicalRiskParity(risk_measure=RiskMeasure.VARIANCE).fit(x).weights_)
    # a convex estimator: same problem, solver tolerance
    rb = make_model({"name": "skfolio:RiskBudgeting", "risk_measure": "variance"}).weights(x)
    np.testing.assert_allclose(rb, make_model("risk_parity").weights(x), atol=1e-4)
    with pytest.raises(ValueError, match="unknown skfolio estimator"):
        make_model("skfolio:Nope").weights(x)


def test_ledoit_wolf_matches_sklearn():
    from sklearn.covariance import LedoitWolf
    for seed in SEEDS:
        x = window(seed, t=60, n=20)
        cov, shrink = ledoit_wolf(x)
        lw = LedoitWolf().fit(x)
        assert abs(shrink - lw.shrinkage_) < 1e-12
        np.testing.assert_allclose(cov, lw.covariance_, rtol=1e-10, atol=1e-16)


def test_ewma_matches_pandas():
    x = window(1, t=80, n=4)
    ref = pd.DataFrame(x).ewm(halflife=10.0).cov(bias=False).iloc[-4:].to_numpy()
    np.testing.assert_allclose(ewma_cov(x, 10.0), ref, rtol=1e-10)


def test_performance_weighted_hand_case():
    x = np.array([[0.02, 0.01, -0.01], [0.0, 0.01, -0.02], [0.01, 0.0, 0.0]])
    s = x.mean(0) / x.std(0, ddof=1)                     # 1, 1.1547, negative
    w = make_model("performance_weighted").weights(x)
    np.testing.assert_allclose(w, [s[0] / (s[0] + s[1]), s[1] / (s[0] + s[1]), 0.0])
    np.testing.assert_allclose(make_model("performance_weighted").weights(-np.abs(x) - 0.01), [1 / 3] * 3)


def test_mask_and_missing_values_exclude_assets():
    x = window(2, n=5)
    x[10, 1] = np.nan
    mask = np.array([True, True, True, False, True])
    for name in MODELS:
        w = make_model(name).weights(x, mask)
        assert w[1] == 0 and w[3] == 0, name
        assert abs(w.sum() - 1) < 1e-12 and w.min() >= 0, name
    assert make_model("risk_parity").weights(x, np.zeros(5, bool)).tolist() == [0.0] * 5


def test_simplex_qp_hand_case():
    # variances 1 and 4, uncorrelated: w ~ 1/var = (0.8, 0.2); a third asset with covariance 2 to the first
    # has marginal variance 0.8 x 2 = 1.6 there, above the others' 0.8: it stays out (KKT)
    a = np.array([[1.0, 0.0, 2.0], [0.0, 4.0, 0.0], [2.0, 0.0, 9.0]])
    w = simplex_qp(a)
    assert w[2] == 0.0
    np.testing.assert_allclose(w[:2], [0.8, 0.2], atol=1e-12)


def test_cap_redistributes_until_it_holds():
    # 0.3 excess of the first goes 5:2:1 to the others; the second then exceeds the cap and its 0.1375
    # excess goes 2:1 to the last two
    np.testing.assert_allclose(cap_weights(np.array([0.6, 0.25, 0.1, 0.05]), 0.3),
                               [0.3, 0.3, 0.175 + 0.1375 * 2 / 3, 0.0875 + 0.1375 / 3], atol=1e-12)


weights_st = st.lists(st.floats(0.0, 10.0, allow_nan=False), min_size=2, max_size=25)


@settings(max_examples=150, deadline=None)
@given(raw=weights_st, max_w=st.floats(0.05, 1.0), min_w=st.one_of(st.none(), st.floats(0.001, 0.05)),
       cash=st.floats(0.0, 0.5), max_pos=st.one_of(st.none(), st.integers(1, 25)))
def test_constraints_hold_on_random_weights(raw, max_w, min_w, cash, max_pos):
    w = np.asarray(raw)
    if w.sum() == 0:
        return
    c = Constraints(max_weight=max_w, min_weight=min_w, cash_buffer=cash, max_positions=max_pos)
    keep = c.select(w)
    out = c.apply(np.where(keep, w, 0.0))
    inv = 1.0 - cash
    held = out > 0
    assert out.min() >= 0
    assert np.all(out <= max_w * inv * (1 + 1e-9))
    if min_w is not None:
        assert np.all(out[held] >= min_w * inv * (1 - 1e-9))
    if max_pos is not None:
        assert held.sum() <= max_pos
    # fully invested unless every held asset is at its cap
    if held.sum() * max_w >= 1.0 + 1e-9:
        assert abs(out.sum() - inv) < 1e-9
    else:
        np.testing.assert_allclose(out[held], max_w * inv)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 12), name=st.sampled_from(sorted(MODELS)))
def test_models_sum_to_one_on_random_windows(seed, n, name):
    x = window(seed, t=60, n=n, factors=2)
    w = make_model(name).weights(x)
    assert np.all(w >= 0) and abs(w.sum() - 1.0) < 1e-10


def test_max_correlation_leaves_out_lower_ranked_twin():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 0.01, (200, 1))
    x = np.hstack([base, base + rng.normal(0, 1e-4, (200, 1)), rng.normal(0, 0.01, (200, 2))])
    w = make_model("equal_weight").weights(x)
    w = w * np.array([1.0, 0.9, 1.0, 1.0])          # asset 1 ranks below its twin
    keep = Constraints(max_correlation=0.9).select(w, np.corrcoef(x, rowvar=False))
    assert keep.tolist() == [True, False, True, True]


def test_long_short_gross_and_net_limits():
    c = Constraints(long_only=False, gross=1.5, net=0.2, max_weight=0.6)
    out = c.apply(np.array([0.9, 0.6, -0.3, -0.1]))
    assert np.abs(out).sum() <= 1.5 + 1e-12 and abs(out.sum()) <= 0.2 + 1e-12
    assert np.abs(out).max() <= 0.6 + 1e-12
