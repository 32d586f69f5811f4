"""Portfolio risk figures from weights and a covariance: risk contributions, diversification ratio and the
long-only efficient frontier (shared by the strategy, which records them, and the analytics)."""

from __future__ import annotations

import numpy as np

from multifolio.strategies.allocation.solvers import simplex_qp


def risk_contributions(w: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Each asset's share of the portfolio variance, ``w_i (Cov w)_i / w'Cov w`` (sums to 1).

    >>> risk_contributions(np.array([0.5, 0.5]), np.diag([0.04, 0.01])).round(6).tolist()
    [0.8, 0.2]
    """
    w = np.asarray(w, dtype=np.float64)
    mrc = np.asarray(cov, dtype=np.float64) @ w
    var = float(w @ mrc)
    return w * mrc / var if var > 0 else np.full(len(w), np.nan)


def diversification_ratio(w: np.ndarray, cov: np.ndarray) -> float:
    """Weighted average asset volatility over portfolio volatility, ``w'sigma / sqrt(w'Cov w)`` (1 for a
    single asset or perfectly correlated ones, higher when diversified).

    >>> round(diversification_ratio(np.array([0.5, 0.5]), np.diag([0.01, 0.01])), 6)    # sqrt(2)
    1.414214
    """
    w = np.asarray(w, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    var = float(w @ cov @ w)
    return float(np.abs(w) @ np.sqrt(np.diag(cov)) / np.sqrt(var)) if var > 0 else float("nan")


def efficient_frontier(cov: np.ndarray, mean: np.ndarray,
                       n_points: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Long-only mean-variance frontier: (volatility, mean return) of ``n_points`` portfolios, from the
    minimum-variance one to the highest-mean asset, each solving ``min 1/2 w'Cov w - lam mean'w``.

    >>> vol, ret = efficient_frontier(np.diag([0.01, 0.04]), np.array([0.01, 0.02]), 5)
    >>> bool(np.all(np.diff(ret) >= -1e-12)), round(float(ret[-1]), 6)
    (True, 0.02)
    """
    cov = np.asarray(cov, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    w0 = simplex_qp(cov)
    r0 = float(mean @ w0)
    r1 = float(mean.max())
    vols = []
    rets = []
    # lambda from 0 up to the scale where the top asset dominates, on a geometric grid
    spread = max(r1 - r0, 1e-18)
    lam_max = 4.0 * float(np.max(np.diag(cov))) / spread
    for lam in np.concatenate([[0.0], np.geomspace(lam_max * 1e-4, lam_max, n_points - 2), [np.inf]]):
        if np.isinf(lam):
            w = np.zeros(len(mean))
            w[int(np.argmax(mean))] = 1.0
        else:
            w = simplex_qp(cov, -lam * mean)
        vols.append(float(np.sqrt(max(w @ cov @ w, 0.0))))
        rets.append(float(mean @ w))
    order = np.argsort(rets, kind="stable")
    return np.asarray(vols)[order], np.asarray(rets)[order]
