"""Numeric kernels of the allocation models: a long-only quadratic program on the simplex (primal active
set with rank-one inverse updates, compiled) and the equal-risk-contribution Newton solver.

No solver is started per fit: each is a loop over a few dense N x N operations.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _simplex_qp_kernel(a: np.ndarray, c: np.ndarray, binv: np.ndarray, max_iter: int) -> np.ndarray:
    """min 1/2 w'Aw + c'w  s.t. sum w = 1, w >= 0, from the inverse ``binv`` of ``a`` (all assets free).

    Primal active set from the equal-weight start: the inverse of A restricted to the free set is kept
    by rank-one updates (dropping a variable: Schur complement; adding one: bordered inverse).
    """
    n = a.shape[0]
    free = np.ones(n, dtype=np.bool_)
    w = np.full(n, 1.0 / n)
    b = binv.copy()
    ws = np.zeros(n)
    u = np.zeros(n)
    for _ in range(max_iter):
        # equality-constrained optimum on the free set: w = B (nu 1 - c), 1'w = 1
        s1 = 0.0
        sc = 0.0
        for i in range(n):
            if free[i]:
                r1 = 0.0
                rc = 0.0
                for j in range(n):
                    if free[j]:
                        r1 += b[i, j]
                        rc += b[i, j] * c[j]
                u[i] = r1
                ws[i] = rc
                s1 += r1
                sc += rc
        nu = (1.0 + sc) / s1
        alpha = 1.0
        block = -1
        for i in range(n):
            if free[i]:
                ws[i] = nu * u[i] - ws[i]
                if ws[i] < 0.0:
                    step = w[i] / (w[i] - ws[i])
                    if step < alpha:
                        alpha = step
                        block = i
            else:
                ws[i] = 0.0
        if block >= 0:
            for i in range(n):
                w[i] += alpha * (ws[i] - w[i])
            w[block] = 0.0
            # drop `block` from the free set: B <- B - B[:, k] B[k, :] / B[k, k]
            piv = b[block, block]
            for i in range(n):
                if free[i] and i != block:
                    f = b[i, block] / piv
                    for j in range(n):
                        if free[j] and j != block:
                            b[i, j] -= f * b[block, j]
            free[block] = False
            continue
        for i in range(n):
            w[i] = ws[i] if free[i] else 0.0
        # optimal on this free set: the most negative multiplier of a fixed asset joins the free set
        gfree = 0.0
        nfree = 0
        for i in range(n):
            if free[i]:
                g = c[i]
                for j in range(n):
                    g += a[i, j] * w[j]
                gfree += g
                nfree += 1
        nu = gfree / nfree
        worst = -1e-12 * (abs(nu) + 1.0)
        enter = -1
        for i in range(n):
            if not free[i]:
                g = c[i]
                for j in range(n):
                    g += a[i, j] * w[j]
                if g - nu < worst:
                    worst = g - nu
                    enter = i
        if enter < 0:
            return w
        # bordered inverse: u = B a_F, s = a_kk - a_F' u
        k = enter
        for i in range(n):
            acc = 0.0
            if free[i]:
                for j in range(n):
                    if free[j]:
                        acc += b[i, j] * a[j, k]
            u[i] = acc
        s = a[k, k]
        for i in range(n):
            if free[i]:
                s -= a[i, k] * u[i]
        for i in range(n):
            if free[i]:
                for j in range(n):
                    if free[j]:
                        b[i, j] += u[i] * u[j] / s
                b[i, k] = -u[i] / s
                b[k, i] = -u[i] / s
        b[k, k] = 1.0 / s
        free[k] = True
    return w


def simplex_qp(a: np.ndarray, c: np.ndarray | None = None) -> np.ndarray:
    """Minimise ``1/2 w'Aw + c'w`` over long-only weights summing to 1 (A symmetric positive definite).

    A singular A (fewer observations than assets) gets a ridge of 1e-10 of its mean diagonal.

    >>> simplex_qp(np.diag([1.0, 4.0])).round(6).tolist()       # minimum variance: w ~ 1/variance
    [0.8, 0.2]
    >>> simplex_qp(np.diag([1.0, 1.0]), np.array([0.0, 5.0])).tolist()    # a steep cost leaves asset 1 out
    [1.0, 0.0]
    """
    a = np.ascontiguousarray(a, dtype=np.float64)
    n = a.shape[0]
    if n == 1:
        return np.ones(1)
    scale = float(np.mean(np.diag(a)))
    if not scale > 0:
        return np.full(n, 1.0 / n)
    a = a / scale
    cc = np.zeros(n) if c is None else np.ascontiguousarray(c, dtype=np.float64) / scale
    try:
        low = np.linalg.cholesky(a)
        piv = np.diag(low)
        if piv.min() ** 2 < 1e-13 * piv.max() ** 2:
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        a = a + 1e-10 * np.eye(n)
    binv = np.linalg.inv(a)
    w = _simplex_qp_kernel(a, cc, binv, 4 * n + 20)
    w = np.maximum(w, 0.0)
    return w / w.sum()


@nb.njit(cache=True)
def _chol_solve(h: np.ndarray, g: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Solve ``h x = g`` for a symmetric positive definite ``h`` (Cholesky, in ``low``)."""
    n = h.shape[0]
    for j in range(n):
        s = h[j, j]
        for k in range(j):
            s -= low[j, k] * low[j, k]
        d = np.sqrt(s)
        low[j, j] = d
        for i in range(j + 1, n):
            s = h[i, j]
            for k in range(j):
                s -= low[i, k] * low[j, k]
            low[i, j] = s / d
    x = g.copy()
    for i in range(n):
        s = x[i]
        for k in range(i):
            s -= low[i, k] * x[k]
        x[i] = s / low[i, i]
    for i in range(n - 1, -1, -1):
        s = x[i]
        for k in range(i + 1, n):
            s -= low[k, i] * x[k]
        x[i] = s / low[i, i]
    return x


@nb.njit(cache=True)
def _matvec(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    n = a.shape[0]
    out = np.zeros(n)
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += a[i, j] * x[j]
        out[i] = acc
    return out


@nb.njit(cache=True)
def _erc_newton(c: np.ndarray, b: np.ndarray, tol: float, max_iter: int, ccd_sweeps: int) -> np.ndarray:
    n = c.shape[0]
    sb = np.sqrt(b)
    y = sb / np.sqrt(np.sum(sb * _matvec(c, sb)))
    # a few cyclical coordinate-descent sweeps (each coordinate's exact minimiser, O(n^2) a sweep) bring
    # y near the solution, where Newton converges quadratically
    cy = _matvec(c, y)
    for _ in range(ccd_sweeps):
        for i in range(n):
            s = cy[i] - c[i, i] * y[i]
            yi = (-s + np.sqrt(s * s + 4.0 * c[i, i] * b[i])) / (2.0 * c[i, i])
            dy = yi - y[i]
            if dy != 0.0:
                for k in range(n):
                    cy[k] += c[k, i] * dy
                y[i] = yi
    h = np.empty((n, n))
    low = np.zeros((n, n))
    bmax = b.max()
    for _ in range(max_iter):
        cy = _matvec(c, y)
        g = cy - b / y
        for i in range(n):
            for j in range(n):
                h[i, j] = c[i, j]
            h[i, i] += b[i] / (y[i] * y[i])
        d = _chol_solve(h, g, low)
        delta = np.sqrt(max(np.sum(g * d), 0.0))
        if delta > 0.3:
            y = y - d / (1.0 + delta)
        else:
            y = y - d
            cy = _matvec(c, y)
            err = 0.0
            for i in range(n):
                err = max(err, abs(y[i] * cy[i] - b[i]))
            if err < tol * bmax:
                break
    return y


def risk_budget_weights(cov: np.ndarray, budgets: np.ndarray | None = None, tol: float = 1e-12,
                        max_iter: int = 60) -> np.ndarray:
    """Long-only weights whose risk contributions ``w_i (Cov w)_i / w'Cov w`` equal the budgets.

    Coordinate-descent sweeps, then damped Newton (Spinu, 2013) on the self-concordant
    ``1/2 y'C y - sum b_i log y_i`` (C the correlation matrix), whose minimiser has ``y_i (C y)_i = b_i``:
    a step ``-d / (1 + delta)`` while the Newton decrement ``delta`` is large, full steps after
    (quadratic convergence); ``w = (y / sigma) / sum``. Compiled, Cholesky included (no BLAS threads).

    >>> w = risk_budget_weights(np.array([[0.04, 0.0], [0.0, 0.01]]))
    >>> w.round(6).tolist()                        # uncorrelated: w ~ 1/vol
    [0.333333, 0.666667]
    """
    cov = np.asarray(cov, dtype=np.float64)
    n = cov.shape[0]
    b = np.full(n, 1.0 / n) if budgets is None else np.asarray(budgets, dtype=np.float64)
    b = b / b.sum()
    sd = np.sqrt(np.diag(cov))
    c = np.ascontiguousarray(cov / np.outer(sd, sd))
    y = _erc_newton(c, b, tol, max_iter, 30)
    w = y / sd
    return w / w.sum()
