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


def risk_budget_weights(cov: np.ndarray, budgets: np.ndarray | None = None, tol: float = 1e-13,
                        max_iter: int = 100) -> np.ndarray:
    """Long-only weights whose risk contributions ``w_i (Cov w)_i / w'Cov w`` equal the budgets.

    Newton's method on the strictly convex ``1/2 y'Cov y - sum b_i log y_i`` (its minimiser has
    ``y_i (Cov y)_i = b_i``), with a backtracking step that keeps y > 0; ``w = y / sum y``.

    >>> w = risk_budget_weights(np.array([[0.04, 0.0], [0.0, 0.01]]))
    >>> w.round(6).tolist()                        # uncorrelated: w ~ 1/vol
    [0.333333, 0.666667]
    """
    cov = np.asarray(cov, dtype=np.float64)
    n = cov.shape[0]
    b = np.full(n, 1.0 / n) if budgets is None else np.asarray(budgets, dtype=np.float64)
    b = b / b.sum()
    scale = float(np.mean(np.diag(cov)))
    s = cov / scale
    y = b / np.sqrt(np.diag(s))
    y *= np.sqrt(1.0 / float(y @ s @ y))

    def f(v: np.ndarray) -> float:
        return 0.5 * float(v @ s @ v) - float(b @ np.log(v))

    fy = f(y)
    for _ in range(max_iter):
        sy = s @ y
        g = sy - b / y
        if np.max(np.abs(g * y)) < tol:
            break
        h = s + np.diag(b / (y * y))
        d = -np.linalg.solve(h, g)
        step = 1.0
        neg = d < 0
        if neg.any():
            step = min(1.0, 0.99 * float(np.min(-y[neg] / d[neg])))
        dec = float(g @ d)
        while True:
            yn = y + step * d
            fn = f(yn)
            if fn <= fy + 1e-4 * step * dec or step < 1e-12:
                break
            step *= 0.5
        if fn > fy and step < 1e-12:
            break
        y, fy = yn, fn
    return y / y.sum()
