"""Deflated Sharpe ratio and PBO by CSCV against published figures and hand computations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from multifolio.sweep.overfit import (
    EULER_GAMMA,
    block_stats,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    pbo_cscv,
    return_moments,
)


def test_deflated_sharpe_reproduces_the_papers_example():
    # Bailey & Lopez de Prado (2014), section "A numerical example": SR 2.5 annualised over 1250 daily
    # returns, skew -3, kurtosis 10, 100 trials with annualised SR variance 0.5 -> DSR = 0.9004.
    dsr = deflated_sharpe_ratio(2.5 / math.sqrt(250), n_trials=100, var_trials=0.5 / 250, n_obs=1250,
                                skew=-3.0, kurt=10.0)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_expected_max_sharpe_is_the_papers_formula():
    n, v = 10, 0.04
    z = stats.norm.ppf
    by_hand = math.sqrt(v) * ((1 - 0.5772156649) * z(1 - 1 / n) + 0.5772156649 * z(1 - 1 / (n * math.e)))
    assert expected_max_sharpe(n, v) == pytest.approx(by_hand, rel=1e-9)
    assert EULER_GAMMA == pytest.approx(0.5772156649, abs=1e-10)
    assert expected_max_sharpe(1, v) == 0.0


def test_deflated_sharpe_by_hand_and_its_direction():
    # One trial, normal returns: PSR = Phi(SR sqrt(T-1) / sqrt(1 + SR^2 / 2)).
    sr, t = 0.05, 400
    assert deflated_sharpe_ratio(sr, n_trials=1, var_trials=0.0, n_obs=t) == pytest.approx(
        stats.norm.cdf(sr * math.sqrt(t - 1) / math.sqrt(1 + sr * sr / 2)), rel=1e-12)
    few = deflated_sharpe_ratio(sr, n_trials=2, var_trials=1e-3, n_obs=t)
    many = deflated_sharpe_ratio(sr, n_trials=1000, var_trials=1e-3, n_obs=t)
    assert many < few   # more trials deflate more
    assert math.isnan(deflated_sharpe_ratio(float("nan"), n_trials=3, var_trials=0.1, n_obs=10))


def test_return_moments_match_scipy():
    r = np.random.default_rng(1).standard_t(5, size=500) * 0.01
    m = return_moments(r)
    assert m["n"] == 500
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1))
    assert m["skew"] == pytest.approx(stats.skew(r))
    assert m["kurt"] == pytest.approx(stats.kurtosis(r, fisher=False))


def test_pbo_is_zero_when_one_trial_is_best_everywhere_and_one_when_the_winner_always_flips():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, size=(80, 4))
    steady = noise + np.array([0.02, 0.0, 0.0, 0.0])        # trial 0 best in every block
    assert pbo_cscv(steady, n_blocks=4) == 0.0
    # Two trials; trial 0 earns +1 in even blocks and -1 in odd ones, trial 1 the mirror image, with a
    # little dispersion so the Sharpe ratios are finite. Whichever wins in sample lost out of sample
    # whenever the halves differ; with S = 2 there are two splits and both flip.
    flip = np.array([[1.0, -1.0], [1.1, -0.9], [-1.0, 1.0], [-0.9, 1.1]])
    assert pbo_cscv(flip, n_blocks=2) == 1.0


def test_pbo_hand_enumerated_case():
    # S = 4 blocks of 2 returns, 3 trials. Block means of the trials (Sharpe within a block ~ mean/std):
    #   trial 0: strong in blocks 0,1, weak in 2,3 ; trial 1: the reverse ; trial 2: flat, middling.
    blocks = {0: [(3, 4), (0, 1), (1, 2)],
              1: [(3, 4), (0, 1), (1, 2)],
              2: [(0, 1), (3, 4), (1, 2)],
              3: [(0, 1), (3, 4), (1, 2)]}
    m = np.array([[blocks[b][j][k] for j in range(3)] for b in range(4) for k in range(2)], dtype=float)
    # Sharpe ratios (mean / sample std): {3,4,3,4} -> 6.06, {0,1,0,1} -> 0.87, {1,2,1,2} -> 2.60,
    # {3,4,0,1} -> 1.10. The 6 splits of {0,1,2,3} into two halves: IS {0,1}: trial 0 wins (6.06), OOS
    # (blocks 2,3) it is worst (0.87) -> rank 1 of 3, w = 1/4, logit < 0. IS {2,3}: trial 1 wins and is
    # worst OOS -> logit < 0. The four mixed splits ({0,2}, {0,3}, {1,2}, {1,3}): trials 0 and 1 have
    # {3,4,0,1} (1.10) on both halves, trial 2 (2.60) wins in sample and is best out of sample: rank 3,
    # w = 3/4, logit > 0. PBO = 2/6.
    assert pbo_cscv(m, n_blocks=4) == pytest.approx(2 / 6)


def _naive_pbo(m: np.ndarray, s: int) -> float:
    """Straight from the paper: blocks of rows, Sharpe of the concatenated rows of each half."""
    parts = np.array_split(np.arange(m.shape[0]), s)
    n = m.shape[1]
    lam = []
    for c in itertools.combinations(range(s), s // 2):
        ins = np.concatenate([parts[i] for i in c])
        oos = np.concatenate([parts[i] for i in range(s) if i not in c])
        sr_is = m[ins].mean(0) / m[ins].std(0, ddof=1)
        sr_oos = m[oos].mean(0) / m[oos].std(0, ddof=1)
        best = int(np.argmax(sr_is))
        rank = stats.rankdata(sr_oos)[best]
        w = rank / (n + 1)
        lam.append(math.log(w / (1 - w)))
    return float(np.mean(np.array(lam) <= 0))


def test_pbo_from_block_sums_equals_the_direct_computation():
    rng = np.random.default_rng(7)
    m = rng.normal(0.0005, 0.01, size=(123, 9))
    assert pbo_cscv(m, n_blocks=6) == pytest.approx(_naive_pbo(m, 6))
    assert block_stats(m[:, 0], 6)[:, 0].sum() == 123


def test_pbo_arguments():
    with pytest.raises(ValueError, match="even number"):
        pbo_cscv(np.zeros((10, 3)), n_blocks=3)
    with pytest.raises(ValueError, match="cannot be cut"):
        pbo_cscv(np.zeros((3, 3)), n_blocks=4)
