"""Compiled loops of the order-screening rules: the figures they need at every decision, in one pass
over the causal price window instead of a chain of NumPy temporaries.

* :func:`max_abs_correlation` -- for each candidate order, its asset's largest |correlation| with a set
  of reference assets (held, or ordered earlier in the batch), from close-to-close returns;
* :func:`horizon_pnl` -- the P&L scenarios of two books (currency per asset) under overlapping
  ``h``-bar historical returns.

Both read a ``history`` window of closes (rows ending at the decision bar) and never look past it.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["horizon_pnl", "max_abs_correlation"]


@nb.njit(cache=True)
def _pair_corr(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation over the rows where both are finite (NaN with < 3 such rows or a
    constant series), clipped to [-1, 1]."""
    n = 0
    mx = 0.0
    my = 0.0
    for t in range(len(x)):
        if np.isfinite(x[t]) and np.isfinite(y[t]):
            n += 1
            mx += x[t]
            my += y[t]
    if n < 3:
        return np.nan
    mx /= n
    my /= n
    sxy = 0.0
    sxx = 0.0
    syy = 0.0
    for t in range(len(x)):
        if np.isfinite(x[t]) and np.isfinite(y[t]):
            dx = x[t] - mx
            dy = y[t] - my
            sxy += dx * dy
            sxx += dx * dx
            syy += dy * dy
    den = np.sqrt(sxx * syy)
    if not den > 0:
        return np.nan
    return min(1.0, max(-1.0, sxy / den))


@nb.njit(cache=True)
def max_abs_correlation(close: np.ndarray, held: np.ndarray, cand: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Candidate order ``r`` (on asset ``cand[r]``) against its reference assets: those ``held``
    (a bool per asset) and those of earlier candidates (``cand[q]``, q < r), never its own.

    ``close``: (w + 1) x N closes; returns are close[t] / close[t - 1] - 1. Returns (c, best): the
    largest |correlation| per candidate (-1 when no reference has one) and the asset it is with (-1
    when none); ties go to the lowest asset. Pairs are over the bars where both returns exist (NaN
    with fewer than 3 or a constant series)."""
    w = close.shape[0] - 1
    n = close.shape[1]
    col = np.full(n, -1)                    # asset -> column of the assets involved
    m = 0
    for j in range(n):
        if held[j]:
            col[j] = m
            m += 1
    for q in range(len(cand)):
        if col[cand[q]] < 0:
            col[cand[q]] = m
            m += 1
    assets = np.empty(m, dtype=np.int64)
    for j in range(n):
        if col[j] >= 0:
            assets[col[j]] = j
    order = np.argsort(assets)              # ties go to the lowest asset: scan columns by asset
    r = np.empty((m, w))
    finite = True
    for k in range(m):
        j = assets[k]
        for t in range(w):
            v = close[t + 1, j] / close[t, j] - 1.0
            r[k, t] = v
            if not np.isfinite(v):
                finite = False
    first = np.full(m, len(cand))
    for q in range(len(cand)):
        k = col[cand[q]]
        if first[k] > q:
            first[k] = q
    c = np.full(len(cand), -1.0)
    best = np.full(len(cand), -1)
    g = np.empty((0, 0))
    ok = np.zeros(m, dtype=np.bool_)
    if finite and w >= 3:
        # unit-norm centred returns: one matrix product gives every candidate's correlations
        for k in range(m):
            mean = 0.0
            for t in range(w):
                mean += r[k, t]
            mean /= w
            ss = 0.0
            for t in range(w):
                d = r[k, t] - mean
                r[k, t] = d
                ss += d * d
            sd = np.sqrt(ss)
            ok[k] = sd > 0
            if ok[k]:
                for t in range(w):
                    r[k, t] /= sd
        zc = np.empty((len(cand), w))
        for q in range(len(cand)):
            zc[q] = r[col[cand[q]]]
        g = zc @ r.T
    for q in range(len(cand)):
        p = col[cand[q]]
        for i in range(m):
            k = order[i]
            if k == p or not (held[assets[k]] or first[k] < q):
                continue
            if finite:
                if w < 3 or not (ok[p] and ok[k]):
                    continue
                v = abs(min(1.0, max(-1.0, g[q, k])))
            else:
                v = abs(_pair_corr(r[p], r[k]))
                if not np.isfinite(v):
                    continue
            if v > c[q]:
                c[q] = v
                best[q] = assets[k]
    return c, best


@nb.njit(cache=True)
def horizon_pnl(close: np.ndarray, h: int, cols: np.ndarray, base: np.ndarray, extra: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """P&L scenarios s of the books ``base`` and ``extra`` (currency per column ``cols``):
    sum_k value_k x (close[s + h, cols[k]] / close[s, cols[k]] - 1), a non-finite return counting 0."""
    n = max(close.shape[0] - h, 0)
    pb = np.zeros(n)
    pe = np.zeros(n)
    for s in range(n):
        a = 0.0
        b = 0.0
        for k in range(len(cols)):
            j = cols[k]
            v = close[s + h, j] / close[s, j] - 1.0
            if np.isfinite(v):
                a += v * base[k]
                b += v * extra[k]
        pb[s] = a
        pe[s] = b
    return pb, pe


@nb.njit(cache=True)
def _select(x: np.ndarray, kth: int) -> float:
    """The ``kth`` smallest of ``x`` (0-based), reordering ``x`` in place so that every element before
    position ``kth`` is <= it (quickselect, median-of-three pivots)."""
    lo = 0
    hi = len(x) - 1
    while hi > lo:
        mid = (lo + hi) >> 1
        a, b, c = x[lo], x[mid], x[hi]
        if a > b:
            a, b = b, a
        if b > c:
            b = c
            if a > b:
                b = a
        pivot = b
        i = lo
        j = hi
        while i <= j:
            while x[i] < pivot:
                i += 1
            while x[j] > pivot:
                j -= 1
            if i <= j:
                x[i], x[j] = x[j], x[i]
                i += 1
                j -= 1
        if kth <= j:
            hi = j
        elif kth >= i:
            lo = i
        else:
            break
    return x[kth]


@nb.njit(cache=True)
def _loss_of(buf: np.ndarray, q: float) -> float:
    """Minus the linear ``q`` quantile of ``buf`` (reordered in place)."""
    n = len(buf)
    if n == 0:
        return 0.0
    h = (n - 1) * q
    lo = int(np.floor(h))
    hi = min(lo + 1, n - 1)
    b = _select(buf, hi)
    if hi == lo:
        a = b
    else:
        a = buf[0]
        for i in range(1, hi):
            if buf[i] > a:
                a = buf[i]
    return -(a + (h - lo) * (b - a))


@nb.njit(cache=True)
def _shortfall_of(buf: np.ndarray, q: float) -> float:
    """Expected shortfall: minus the mean of the scenarios at or below the linear ``q`` quantile."""
    if len(buf) == 0:
        return 0.0
    level = -_loss_of(buf, q)
    total = 0.0
    n = 0
    for v in buf:
        if v <= level:
            total += v
            n += 1
    return -total / n


@nb.njit(cache=True)
def quantile_loss(pnl: np.ndarray, q: float, cvar: bool = False) -> float:
    """Minus the linear-interpolation ``q`` quantile of ``pnl`` (``-np.quantile(pnl, q)``), by
    partial sort, or with ``cvar`` the expected shortfall beyond it; 0 without scenarios."""
    buf = pnl.copy()
    return _shortfall_of(buf, q) if cvar else _loss_of(buf, q)


@nb.njit(cache=True)
def _loss_at(base: np.ndarray, extra: np.ndarray, k: float, q: float, buf: np.ndarray,
             cvar: bool) -> float:
    for s in range(len(base)):
        buf[s] = base[s] + k * extra[s]
    return _shortfall_of(buf, q) if cvar else _loss_of(buf, q)


@nb.njit(cache=True)
def var_factor(base: np.ndarray, extra: np.ndarray, limit: float, q: float, cvar: bool = False) -> float:
    """The largest k in [0, 1] (to 1e-9) with quantile_loss(base + k extra, q, cvar) <= limit: on a grid of
    17 points, then above the largest feasible one by false position (Illinois), bisecting whenever
    the bracket does not halve (the loss is piecewise linear in k: it mostly lands on the root at
    once); without any feasible grid point, the grid's k of least loss."""
    n_grid = 17
    buf = np.empty(len(base))
    gs = np.empty(n_grid)
    j = -1
    for i in range(n_grid):
        gs[i] = _loss_at(base, extra, i / (n_grid - 1), q, buf, cvar) - limit
        if gs[i] <= 0.0:
            j = i
    if j < 0:
        return np.argmin(gs) / (n_grid - 1)
    if j == n_grid - 1:
        return 1.0
    lo = j / (n_grid - 1)
    hi = (j + 1) / (n_grid - 1)
    g_lo = gs[j]              # the loss above the limit at lo (<= 0): the stopping test reads it
    w_lo = g_lo               # the secant's weights (Illinois halves the one of a stuck end)
    w_hi = gs[j + 1]
    tol = 1e-12 * max(1.0, abs(limit))
    side = 0
    for _ in range(200):
        width = hi - lo
        if width <= 1e-9 or g_lo >= -tol:
            break
        k = lo - w_lo * width / (w_hi - w_lo)
        if not (lo < k < hi):
            k = 0.5 * (lo + hi)
        g = _loss_at(base, extra, k, q, buf, cvar) - limit
        if g <= 0.0:
            lo, g_lo, w_lo = k, g, g
            if side == -1:
                w_hi *= 0.5
            side = -1
        else:
            hi, w_hi = k, g
            if side == 1:
                w_lo *= 0.5
            side = 1
        if hi - lo > 0.5 * width:          # slow progress: bisect once
            k = 0.5 * (lo + hi)
            g = _loss_at(base, extra, k, q, buf, cvar) - limit
            if g <= 0.0:
                lo, g_lo, w_lo = k, g, g
            else:
                hi, w_hi = k, g
            side = 0
    return lo


@nb.njit(cache=True)
def ring_pnl(close: np.ndarray, h: int, t0: int, ring: np.ndarray, ring_bar: np.ndarray,
             cols: np.ndarray, base: np.ndarray, extra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`horizon_pnl` with the returns kept between calls: ``close`` holds the bars t0.., and the
    ``h``-bar return ending at bar s (all assets, non-finite stored as 0) lives in row s % len(ring)
    of ``ring`` (``ring_bar`` says which bar a row holds); rows not yet there are computed once."""
    n = max(close.shape[0] - h, 0)
    w = ring.shape[0]
    pb = np.zeros(n)
    pe = np.zeros(n)
    for i in range(n):
        s = t0 + h + i
        row = s % w
        if ring_bar[row] != s:
            for j in range(close.shape[1]):
                v = close[i + h, j] / close[i, j] - 1.0
                ring[row, j] = v if np.isfinite(v) else 0.0
            ring_bar[row] = s
        a = 0.0
        b = 0.0
        for k in range(len(cols)):
            v = ring[row, cols[k]]
            a += v * base[k]
            b += v * extra[k]
        pb[i] = a
        pe[i] = b
    return pb, pe


@nb.njit(cache=True)
def var_screen(close: np.ndarray, h: int, positions: np.ndarray, price: np.ndarray, asset: np.ndarray,
               change: np.ndarray, opening: np.ndarray, px: np.ndarray, limit: float, q: float,
               t0: int, ring: np.ndarray, ring_bar: np.ndarray, cvar: bool = False
               ) -> tuple[float, float, float]:
    """One ``var_limit`` decision: the book after a batch (``positions`` x ``price`` held, plus each
    order's reducing part ``change - opening`` and its opening part, valued at ``px``), its P&L
    scenarios under ``h``-bar returns of the ``close`` window (bars ``t0``..; kept in ``ring`` between
    calls, see :func:`ring_pnl`; an empty ring computes them afresh), and (before, k, after): the loss
    of the whole batch, the factor of :func:`var_factor` on the opening parts (1 when the batch holds
    the limit) and the loss at that factor (VaR, or with ``cvar`` the expected shortfall). NaN prices
    count 0."""
    n = len(positions)
    base = np.empty(n)
    extra = np.zeros(n)
    for j in range(n):
        p = price[j]
        base[j] = positions[j] * p if np.isfinite(p) else 0.0
    for i in range(len(asset)):
        p = px[i] if np.isfinite(px[i]) else 0.0
        base[asset[i]] += (change[i] - opening[i]) * p
        extra[asset[i]] += opening[i] * p
    m = 0
    for j in range(n):
        if base[j] != 0.0 or extra[j] != 0.0:
            m += 1
    cols = np.empty(m, dtype=np.int64)
    m = 0
    for j in range(n):
        if base[j] != 0.0 or extra[j] != 0.0:
            cols[m] = j
            m += 1
    if ring.shape[0] > 0:
        pb, pe = ring_pnl(close, h, t0, ring, ring_bar, cols, base[cols], extra[cols])
    else:
        pb, pe = horizon_pnl(close, h, cols, base[cols], extra[cols])
    before = quantile_loss(pb + pe, q, cvar)
    if before <= limit:
        return before, 1.0, before
    k = var_factor(pb, pe, limit, q, cvar)
    return before, k, quantile_loss(pb + k * pe, q, cvar)
