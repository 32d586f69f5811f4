"""Hierarchical risk parity (Lopez de Prado, 2016), compiled.

Distance ``sqrt(0.5 (1 - corr))``, Ward linkage (Lance-Williams updates), assets ordered by the leaves of
the tree (the quasi-diagonal order: left branch first, the branch holding the smaller cluster id on the
left, as SciPy's ``leaves_list``), then recursive bisection: each half gets ``1 - v / (v + v_other)`` of
its parent's weight, ``v`` being the variance of the half's inverse-variance portfolio. This is skfolio's
``HierarchicalRiskParity`` with ``HierarchicalSeriation(optimal_ordering=False)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numba as nb
import numpy as np

from multifolio.strategies.allocation.base import AllocationModel


@nb.njit(cache=True)
def ward_order(dist: np.ndarray) -> np.ndarray:
    """Leaf order of the Ward tree of a distance matrix (naive O(n^3) agglomeration)."""
    n = dist.shape[0]
    d = dist.copy()
    active = np.ones(n, dtype=np.bool_)
    size = np.ones(n)
    label = np.arange(n)
    left = np.zeros(max(n - 1, 1), dtype=np.int64)
    right = np.zeros(max(n - 1, 1), dtype=np.int64)
    for step in range(n - 1):
        best = np.inf
        bi = -1
        bj = -1
        for i in range(n):
            if active[i]:
                for j in range(i + 1, n):
                    if active[j] and d[i, j] < best:
                        best = d[i, j]
                        bi = i
                        bj = j
        dij = d[bi, bj]
        for k in range(n):
            if active[k] and k != bi and k != bj:
                nk = size[k]
                tot = size[bi] + size[bj] + nk
                v = ((nk + size[bi]) * d[bi, k] ** 2 + (nk + size[bj]) * d[bj, k] ** 2 - nk * dij ** 2) / tot
                v = np.sqrt(max(v, 0.0))
                d[bi, k] = v
                d[k, bi] = v
        a = label[bi]
        b = label[bj]
        left[step] = min(a, b)
        right[step] = max(a, b)
        label[bi] = n + step
        size[bi] += size[bj]
        active[bj] = False
    order = np.empty(n, dtype=np.int64)
    if n == 1:
        order[0] = 0
        return order
    stack = np.empty(2 * n, dtype=np.int64)
    top = 0
    stack[0] = 2 * n - 2
    k = 0
    while top >= 0:
        node = stack[top]
        top -= 1
        if node < n:
            order[k] = node
            k += 1
        else:
            top += 1
            stack[top] = right[node - n]
            top += 1
            stack[top] = left[node - n]
    return order


@nb.njit(cache=True)
def _bisect(cov: np.ndarray, order: np.ndarray) -> np.ndarray:
    n = order.shape[0]
    w = np.ones(n)
    ivar = 1.0 / np.diag(cov)
    lo = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    lo[0] = 0
    hi[0] = n
    top = 0
    while top >= 0:
        a = lo[top]
        b = hi[top]
        top -= 1
        if b - a < 2:
            continue
        mid = a + (b - a) // 2
        risks = np.zeros(2)
        for h in range(2):
            s = a if h == 0 else mid
            e = mid if h == 0 else b
            tot = 0.0
            for p in range(s, e):
                tot += ivar[order[p]]
            v = 0.0
            for p in range(s, e):
                for q in range(s, e):
                    v += ivar[order[p]] * ivar[order[q]] * cov[order[p], order[q]]
            risks[h] = v / (tot * tot)
        alpha = 1.0 - risks[0] / (risks[0] + risks[1])
        for p in range(a, mid):
            w[order[p]] *= alpha
        for p in range(mid, b):
            w[order[p]] *= 1.0 - alpha
        top += 1
        lo[top] = a
        hi[top] = mid
        top += 1
        lo[top] = mid
        hi[top] = b
    return w


def hrp_weights(cov: np.ndarray, corr: np.ndarray | None = None) -> np.ndarray:
    """HRP weights from a covariance (and the correlation the tree is built on; default: the covariance's).

    >>> hrp_weights(np.diag([1.0, 4.0])).round(6).tolist()      # two uncorrelated assets: ~ 1/variance
    [0.8, 0.2]
    """
    cov = np.ascontiguousarray(cov, dtype=np.float64)
    if corr is None:
        sd = np.sqrt(np.diag(cov))
        corr = cov / np.outer(sd, sd)
    dist = np.sqrt(np.clip(0.5 * (1.0 - np.asarray(corr, dtype=np.float64)), 0.0, None))
    np.fill_diagonal(dist, 0.0)
    order = ward_order(dist)
    w = _bisect(cov, order)
    return w / w.sum()


class HRPModel(AllocationModel):
    """Hierarchical risk parity (Ward tree on the correlation distance, recursive bisection).

    >>> x = np.array([[0.01, 0.02], [-0.01, -0.02], [0.01, -0.02], [-0.01, 0.02]])
    >>> HRPModel().weights(x).round(6).tolist()
    [0.8, 0.2]
    """

    name: ClassVar[str] = "hrp"
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = dict(AllocationModel.PARAMS)

    def _weights(self, x: np.ndarray, cov: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
        return hrp_weights(cov)
