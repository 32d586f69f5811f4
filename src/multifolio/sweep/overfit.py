"""Overfitting statistics of a parameter search: deflated Sharpe ratio and PBO by CSCV.

**Deflated Sharpe ratio** (Bailey & López de Prado, "The Deflated Sharpe Ratio", 2014). The best of N
trials has a high Sharpe ratio by luck alone; the DSR is the probability that the selected trial's
true Sharpe ratio is above the one expected from the best of N trials with no skill::

    SR0 = sqrt(V) * ((1 - g) * Z(1 - 1/N) + g * Z(1 - 1/(N e)))      g = 0.5772... (Euler-Mascheroni)
    DSR = Phi((SR - SR0) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurt - 1) / 4 * SR^2))

with SR the selected trial's (per-period, not annualised) Sharpe ratio estimated on T returns, V the
variance of the N trials' Sharpe ratios, skew and kurt (not excess) of the selected trial's returns,
Z the standard normal quantile and Phi its distribution function. The paper's example: annualised SR
2.5 over 1250 daily returns (250 a year), skew -3, kurtosis 10, N = 100 trials whose annualised SRs
vary by V = 0.5:

>>> round(deflated_sharpe_ratio(2.5 / 250 ** 0.5, n_trials=100, var_trials=0.5 / 250, n_obs=1250,
...                             skew=-3.0, kurt=10.0), 4)
0.9004

**Probability of backtest overfitting** (Bailey, Borwein, López de Prado & Zhu, "The Probability of
Backtest Overfitting", 2017), by combinatorially symmetric cross-validation (CSCV): the T x N matrix of
the trials' returns is cut into S time blocks; for each of the C(S, S/2) ways to pick half the blocks
as in-sample (the rest out-of-sample), take the trial with the best in-sample Sharpe ratio and its
relative rank w = rank / (N + 1) among the N out-of-sample Sharpe ratios (rank 1 = worst); its logit
is l = ln(w / (1 - w)). PBO is the share of splits with l <= 0: how often the in-sample winner is no
better than the median out-of-sample.

>>> import numpy as np
>>> m = np.array([[1.0, 0.0], [1.2, 0.1], [-1.0, 0.0], [-1.1, 0.1]])  # trial 0 wins one half, loses the other
>>> pbo_cscv(m, n_blocks=2)
1.0
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm

__all__ = ["EULER_GAMMA", "block_stats", "deflated_sharpe_ratio", "expected_max_sharpe", "pbo_cscv",
           "pbo_from_blocks", "return_moments", "sharpe_from_sums"]

EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(n_trials: int, var_trials: float) -> float:
    """SR0: the expected maximum Sharpe ratio of ``n_trials`` skill-less trials whose Sharpe ratios have
    variance ``var_trials`` (0 for a single trial).

    >>> expected_max_sharpe(1, 0.3)
    0.0
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if n_trials == 1 or not var_trials > 0:
        return 0.0
    z1 = norm.ppf(1.0 - 1.0 / n_trials)
    z2 = norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(var_trials) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def deflated_sharpe_ratio(sharpe: float, *, n_trials: int, var_trials: float, n_obs: int,
                          skew: float = 0.0, kurt: float = 3.0) -> float:
    """The DSR of a selected trial (see the module docstring); NaN when it cannot be estimated.

    ``sharpe`` is per period (not annualised), ``n_obs`` the number of returns it was estimated on,
    ``kurt`` the plain (not excess) kurtosis. With ``n_trials=1`` it is the probabilistic Sharpe ratio
    against 0.

    >>> round(deflated_sharpe_ratio(0.1, n_trials=1, var_trials=0.0, n_obs=101), 4)  # Phi(1 / sqrt(1.005))
    0.8407
    """
    if not (math.isfinite(sharpe) and n_obs > 1):
        return float("nan")
    sr0 = expected_max_sharpe(int(n_trials), float(var_trials))
    denom = 1.0 - skew * sharpe + (kurt - 1.0) / 4.0 * sharpe ** 2
    if not (math.isfinite(denom) and denom > 0):
        return float("nan")
    return float(norm.cdf((sharpe - sr0) * math.sqrt(n_obs - 1) / math.sqrt(denom)))


def return_moments(returns: np.ndarray) -> dict[str, float]:
    """n, mean, std (ddof 1), Sharpe (mean / std, per period), skew and plain kurtosis of returns.

    >>> return_moments(np.array([0.01, -0.01, 0.01, -0.01]))["kurt"]
    1.0
    """
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    n = int(r.size)
    if n < 2:
        return {"n": n, "mean": float(r.mean()) if n else 0.0, "std": 0.0, "sharpe": float("nan"),
                "skew": 0.0, "kurt": 3.0}
    mean = float(r.mean())
    std = float(r.std(ddof=1))
    d = r - mean
    m2 = float(np.mean(d ** 2))
    skew = float(np.mean(d ** 3) / m2 ** 1.5) if m2 > 0 else 0.0
    kurt = float(np.mean(d ** 4) / m2 ** 2) if m2 > 0 else 3.0
    return {"n": n, "mean": mean, "std": std, "sharpe": mean / std if std > 0 else float("nan"),
            "skew": skew, "kurt": kurt}


def block_stats(returns: np.ndarray, n_blocks: int) -> np.ndarray:
    """``(n_blocks, 3)`` array: count, sum and sum of squares of the returns of each of ``n_blocks``
    consecutive, nearly equal time blocks (``np.array_split``). These sums are all CSCV needs.

    >>> block_stats(np.array([1.0, 2.0, 3.0]), 2).tolist()
    [[2.0, 3.0, 5.0], [1.0, 3.0, 9.0]]
    """
    r = np.asarray(returns, dtype=np.float64)
    r = np.where(np.isfinite(r), r, 0.0)
    out = np.zeros((n_blocks, 3))
    for i, part in enumerate(np.array_split(r, n_blocks)):
        out[i] = (part.size, part.sum(), float(np.sum(part ** 2)))
    return out


def sharpe_from_sums(n: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """Per-period Sharpe ratios (mean / std with ddof 1) from counts, sums and sums of squares;
    0 where the std is 0 or fewer than 2 returns."""
    n, s1, s2 = (np.asarray(x, dtype=np.float64) for x in (n, s1, s2))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = (s2 - n * mean ** 2) / (n - 1)
        sr = mean / np.sqrt(var)
    ok = (n > 1) & (var > 1e-24) & np.isfinite(sr)
    return np.where(ok, sr, 0.0)


def pbo_from_blocks(blocks: np.ndarray) -> dict[str, float | int]:
    """PBO by CSCV from per-trial block sums: ``blocks`` is ``(n_trials, S, 3)`` (see
    :func:`block_stats`), S even. Returns ``pbo``, ``n_splits`` and ``median_logit``.

    Ties in the in-sample ranking go to the first trial; out-of-sample ranks of tied values are
    averaged.
    """
    b = np.asarray(blocks, dtype=np.float64)
    if b.ndim != 3 or b.shape[2] != 3:
        raise ValueError("blocks must be (n_trials, n_blocks, 3)")
    n_trials, s, _ = b.shape
    if s < 2 or s % 2:
        raise ValueError(f"CSCV needs an even number of blocks >= 2, got {s}")
    if n_trials < 2:
        return {"pbo": float("nan"), "n_splits": 0, "median_logit": float("nan")}
    logits = []
    for chosen in itertools.combinations(range(s), s // 2):
        is_mask = np.zeros(s, dtype=bool)
        is_mask[list(chosen)] = True
        ins = b[:, is_mask, :].sum(axis=1)
        oos = b[:, ~is_mask, :].sum(axis=1)
        sr_is = sharpe_from_sums(ins[:, 0], ins[:, 1], ins[:, 2])
        sr_oos = sharpe_from_sums(oos[:, 0], oos[:, 1], oos[:, 2])
        best = int(np.argmax(sr_is))
        below = float(np.sum(sr_oos < sr_oos[best]))
        equal = float(np.sum(sr_oos == sr_oos[best]))
        rank = below + (equal + 1.0) / 2.0          # 1 = worst, N = best; ties share the mean rank
        w = rank / (n_trials + 1.0)
        logits.append(math.log(w / (1.0 - w)))
    arr = np.array(logits)
    return {"pbo": float(np.mean(arr <= 0.0)), "n_splits": int(arr.size),
            "median_logit": float(np.median(arr))}


def pbo_cscv(returns: np.ndarray | Sequence[Sequence[float]], n_blocks: int = 8) -> float:
    """PBO of the T x N matrix of trials' returns (columns = trials), with ``n_blocks`` time blocks."""
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError("returns must be a T x N matrix")
    if m.shape[0] < n_blocks:
        raise ValueError(f"{m.shape[0]} returns cannot be cut into {n_blocks} blocks")
    blocks = np.stack([block_stats(m[:, j], n_blocks) for j in range(m.shape[1])])
    return float(pbo_from_blocks(blocks)["pbo"])
