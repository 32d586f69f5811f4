"""Covariance estimators for allocation models: sample, Ledoit-Wolf shrinkage, EWMA.

Each takes a complete T x N window of returns (no NaN) and returns an N x N covariance per bar.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

COVARIANCES = ("sample", "ledoit_wolf", "ewma")


def sample_cov(x: np.ndarray) -> np.ndarray:
    """Sample covariance with ``ddof=1`` (``np.cov(x, rowvar=False)``).

    >>> sample_cov(np.array([[0.01, 0.0], [-0.01, 0.02]])).round(6).tolist()
    [[0.0002, -0.0002], [-0.0002, 0.0002]]
    """
    x = np.asarray(x, dtype=np.float64)
    d = x - x.mean(axis=0)
    return d.T @ d / max(x.shape[0] - 1, 1)


def ledoit_wolf(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf shrinkage towards ``mu I`` (as sklearn's ``LedoitWolf``): (covariance, shrinkage).

    The empirical covariance is the biased one (``ddof=0``) of the centred window, ``mu`` its mean
    variance; the shrinkage is the Ledoit-Wolf (2004) estimate, clipped to [0, 1].

    >>> cov, s = ledoit_wolf(np.array([[0.01, 0.02], [-0.01, 0.0], [0.0, -0.02]]))
    >>> 0.0 <= s <= 1.0, cov.shape
    (True, (2, 2))
    """
    x = np.asarray(x, dtype=np.float64)
    n, p = x.shape
    d = x - x.mean(axis=0)
    emp = d.T @ d / n
    if p == 1:
        return emp, 0.0
    d2 = d * d
    trace = d2.sum(axis=0) / n
    mu = trace.sum() / p
    beta_ = float((d2.T @ d2).sum())
    delta_ = float((emp * emp).sum())                 # = sum((X'X)^2) / n^2
    beta = (beta_ / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * trace.sum() + p * mu * mu) / p
    beta = min(beta, delta)
    shrink = 0.0 if beta == 0 else beta / delta
    cov = (1.0 - shrink) * emp
    cov.flat[:: p + 1] += shrink * mu
    return cov, float(shrink)


def ewma_cov(x: np.ndarray, half_life: float) -> np.ndarray:
    """Exponentially weighted covariance, weight ``2 ** (-age / half_life)`` (age 0 = the last row),
    with the unbiased correction of pandas' ``ewm(halflife=h).cov(bias=False)``.

    >>> x = np.array([[0.01, 0.0], [-0.01, 0.02], [0.02, 0.01]])
    >>> bool(np.allclose(ewma_cov(x, 1e9), sample_cov(x)))     # an infinite half-life is the sample one
    True
    """
    if not half_life > 0:
        raise ValueError(f"half_life must be > 0, got {half_life!r}")
    x = np.asarray(x, dtype=np.float64)
    t = x.shape[0]
    w = np.power(2.0, -np.arange(t - 1, -1, -1, dtype=np.float64) / half_life)
    w /= w.sum()
    m = w @ x
    d = x - m
    cov = (d * w[:, None]).T @ d
    denom = 1.0 - float(w @ w)
    return cov / denom if denom > 0 else cov


def make_covariance(method: str, half_life: float = 63.0) -> Callable[[np.ndarray], np.ndarray]:
    """The estimator ``x -> cov`` named ``method`` (one of :data:`COVARIANCES`).

    >>> make_covariance("sample")(np.eye(3)).shape
    (3, 3)
    """
    if method == "sample":
        return sample_cov
    if method == "ledoit_wolf":
        return lambda x: ledoit_wolf(x)[0]
    if method == "ewma":
        if not (isinstance(half_life, (int, float)) and half_life > 0):
            raise ValueError(f"half_life must be a number > 0, got {half_life!r}")
        return lambda x: ewma_cov(x, float(half_life))
    raise ValueError(f"covariance must be one of {COVARIANCES}, got {method!r}")
