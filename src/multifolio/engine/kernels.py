"""Compiled numba kernels of the simulation: fills, market batches, resting orders, marking.

Everything here works on plain arrays (layouts in ``codes``) so that the same kernels serve the
vectorised ``from_weights`` loop and the ``Strategy`` simulator. The pandas-facing wrappers live in
``vectorized``, ``simulator`` and ``multifolio.api``.

State arrays (updated in place):
- ``acct``  float64[N_ACCOUNT]: cash, realized PnL (gross of fees), fees paid, initial cash,
  maintenance margin rate, margin-account flag, shorting flag.
- ``pos``   float64[3, N]: signed quantity, average entry price, last known close.
- ``cfg``   float64[6, N]: proportional fee, fixed fee, slippage, leverage, min notional, qty step.
- ledgers: fills ``ff/fi``, rejections ``rf/ri``, events ``ef/ei``; ``counts`` = [n_fills, n_rejects,
  n_events]. Callers guarantee room for ``room_needed(N, M)`` rows before each bar.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from multifolio.engine import codes as C

_EPS = 1e-12


@nb.njit(cache=True)
def room_needed(n_assets: int, n_book: int) -> int:
    """Ledger rows one bar may write at most (two batches, resting fills, liquidation, delisting)."""
    return 4 * n_assets + 2 * n_book + 16


@nb.njit(cache=True)
def _opposite(a, b):
    """Signs differ (products of tiny quantities underflow to zero, so compare signs instead)."""
    return (a > 0.0 and b < 0.0) or (a < 0.0 and b > 0.0)


@nb.njit(cache=True)
def _same_side(a, b):
    return (a > 0.0 and b > 0.0) or (a < 0.0 and b < 0.0)


@nb.njit(cache=True)
def _apply_fill(t, j, q, base, px, order_id, reason, kind, status, placed, order_price,
                acct, pos, cfg, ff, fi, counts):
    """Book a fill of signed quantity q at price px: cash, fees, realized PnL, average price, ledger."""
    fee = cfg[C.C_FEE, j] * abs(q) * px + cfg[C.C_FIXED, j]
    held = pos[C.P_QTY, j]
    avg = pos[C.P_AVG, j]
    realized = 0.0
    new = held + q
    if _opposite(held, q):
        closed = min(abs(q), abs(held))
        realized = closed * (px - avg) * (1.0 if held > 0.0 else -1.0)
        if abs(new) <= _EPS * max(abs(held), abs(q)):
            new = 0.0
            pos[C.P_AVG, j] = 0.0
        elif _opposite(new, held):      # flipped: the remainder opens at the fill price
            pos[C.P_AVG, j] = px
    else:
        pos[C.P_AVG, j] = (avg * abs(held) + px * abs(q)) / abs(new)
    pos[C.P_QTY, j] = new
    acct[C.A_CASH] -= q * px + fee
    acct[C.A_FEES] += fee
    acct[C.A_REALIZED] += realized
    n = counts[0]
    ff[n, C.F_QTY] = q
    ff[n, C.F_PRICE] = px
    ff[n, C.F_BASE_PRICE] = base
    ff[n, C.F_FEE] = fee
    ff[n, C.F_REALIZED] = realized
    ff[n, C.F_ORDER_PRICE] = order_price
    _order_columns(fi[n], t, j, order_id, reason, kind, status, placed)
    counts[0] = n + 1
    return fee


@nb.njit(cache=True)
def _order_columns(row, t, j, order_id, reason, kind, status, placed):
    """The integer columns fills and rejections share."""
    row[C.I_BAR] = t
    row[C.I_ASSET] = j
    row[C.I_ORDER] = order_id
    row[C.I_REASON] = reason
    row[C.I_KIND] = kind
    row[C.I_STATUS] = status
    row[C.I_PLACED] = placed


@nb.njit(cache=True)
def _reject(t, j, q, price, order_id, reason, kind, placed, rf, ri, counts):
    n = counts[1]
    rf[n, C.R_QTY] = q
    rf[n, C.R_PRICE] = price
    _order_columns(ri[n], t, j, order_id, reason, kind, C.REJECTED, placed)
    counts[1] = n + 1


@nb.njit(cache=True)
def _event(t, kind, j, v0, v1, v2, ef, ei, counts):
    n = counts[2]
    ei[n, C.E_BAR] = t
    ei[n, C.E_KIND] = kind
    ei[n, C.E_ASSET] = j
    ef[n, 0] = v0
    ef[n, 1] = v1
    ef[n, 2] = v2
    counts[2] = n + 1


@nb.njit(cache=True)
def tradable_prices(prices, op, cl, out):
    """``out[j]`` = ``prices[j]`` where bar j is tradable, else NaN; returns ``out``.

    The one rule of tradability (``MarketData.tradable``): a bar is tradable when its open and its
    close are both present. No market, target or resting order fills on a bar that is not (a missing
    open or a missing close alike: the price is "no price", reason ``no_price`` for market orders).
    """
    for j in range(out.shape[0]):
        if np.isnan(op[j]) or np.isnan(cl[j]):
            out[j] = np.nan
        else:
            out[j] = prices[j]
    return out


@nb.njit(cache=True)
def _cash_short(acct, q, px, fee):
    """Cash account only: would booking this fill leave cash below zero?"""
    return acct[C.A_MARGIN] == 0.0 and acct[C.A_CASH] - q * px - fee < 0.0


@nb.njit(cache=True)
def _round_step(q, step):
    """Round |q| down to the asset's quantity step (toward zero)."""
    if step <= 0.0:
        return q
    n = np.floor(abs(q) / step + 1e-9)
    return np.sign(q) * n * step


@nb.njit(cache=True)
def _mark(j, prices, pos):
    p = prices[j]
    if np.isnan(p):
        return pos[C.P_LAST, j]
    return p


@nb.njit(cache=True)
def _equity_margin(prices, pos, cfg):
    """Equity and margin used, marked at ``prices`` (last known close where NaN)."""
    eq = 0.0
    mu = 0.0
    for j in range(pos.shape[1]):
        q = pos[C.P_QTY, j]
        if q != 0.0:
            m = _mark(j, prices, pos)
            eq += q * m
            mu += abs(q) * m / cfg[C.C_LEV, j]
    return eq, mu


@nb.njit(cache=True)
def execute_batch(t, prices, o_asset, o_kind, o_value, o_id, o_reason, placed,
                  acct, pos, cfg, ff, fi, rf, ri, ef, ei, counts, filled_out):
    """Execute one batch of market-type orders at bar t at the unslipped prices ``prices`` (N).

    Orders (K rows, NaN value = no order) are market quantities, notionals, target weights or target
    quantities, converted to quantities against the portfolio value V = cash + sum qty x p. The parts that
    reduce a position fill first (sells before buys); the parts that open or extend one fill next, all
    scaled by one common factor when cash (or free margin) cannot cover them (fixed fees included).
    In a cash account a reducing fill that would leave cash below zero (its proceeds after the
    proportional fee do not cover its fixed fee and cash cannot make up the difference) is skipped
    and logged as rejected ``insufficient_cash``: cash never goes below zero. ``prices`` must be NaN
    where a bar is not tradable (``tradable_prices``). ``filled_out[k]`` receives the filled quantity
    of order k.
    """
    k_orders = o_asset.shape[0]
    n_assets = pos.shape[1]
    margin = acct[C.A_MARGIN] != 0.0
    allow_short = acct[C.A_SHORT] != 0.0
    for k in range(k_orders):
        filled_out[k] = 0.0
    eq_pos, _ = _equity_margin(prices, pos, cfg)
    value = acct[C.A_CASH] + eq_pos
    planned = pos[C.P_QTY].copy()
    delta = np.zeros(k_orders)
    reduce_part = np.zeros(k_orders)
    for k in range(k_orders):
        v = o_value[k]
        if np.isnan(v):
            continue
        j = o_asset[k]
        p = prices[j]
        kind = o_kind[k]
        if np.isnan(p):
            if not (kind == C.TARGET_WEIGHT and v == 0.0 and planned[j] == 0.0):
                _reject(t, j, 0.0, np.nan, o_id[k], C.NO_PRICE, kind, placed, rf, ri, counts)
            continue
        if kind == C.MARKET:
            d = v
        elif kind == C.NOTIONAL:
            d = v / p
        elif kind == C.TARGET_WEIGHT:
            d = v * value / p - planned[j]
        else:
            d = v - planned[j]
        if d == 0.0:
            continue
        before = planned[j]
        if not allow_short and before + d < 0.0:
            d = -before if before > 0.0 else 0.0
            if d == 0.0:
                _reject(t, j, v, p, o_id[k], C.SHORT_NOT_ALLOWED, kind, placed, rf, ri, counts)
                continue
        if _opposite(before, d):
            r = min(abs(d), abs(before))
            reduce_part[k] = r if d > 0.0 else -r
        delta[k] = d
        planned[j] = before + d
    # phase 1: reducing parts, sells first then buys to cover
    for side in range(2):
        for k in range(k_orders):
            r = reduce_part[k]
            if r == 0.0 or (side == 0) != (r < 0.0):
                continue
            j = o_asset[k]
            held = pos[C.P_QTY, j]
            full_close = abs(r) >= abs(held) * (1.0 - 1e-12) and delta[k] == r
            q = r if full_close else _round_step(r, cfg[C.C_STEP, j])
            if full_close:
                q = -held
            p = prices[j]
            if q == 0.0 or (not full_close and abs(q) * p < cfg[C.C_MIN, j]):
                reason = C.MIN_NOTIONAL if cfg[C.C_MIN, j] > 0.0 else C.ZERO_QTY
                _reject(t, j, r, p, o_id[k], reason, o_kind[k], placed, rf, ri, counts)
                reduce_part[k] = 0.0
                delta[k] = 0.0
                continue
            s = cfg[C.C_SLIP, j]
            px = p * (1.0 - s) if q < 0.0 else p * (1.0 + s)
            if _cash_short(acct, q, px, cfg[C.C_FEE, j] * abs(q) * px + cfg[C.C_FIXED, j]):
                _reject(t, j, q, p, o_id[k], C.INSUFFICIENT_CASH, o_kind[k], placed, rf, ri, counts)
                reduce_part[k] = 0.0
                delta[k] = 0.0
                continue
            _apply_fill(t, j, q, p, px, o_id[k], o_reason[k], o_kind[k], C.FILLED, placed, np.nan,
                        acct, pos, cfg, ff, fi, counts)
            filled_out[k] += q
    # phase 2: opening parts, scaled by one factor so that free margin (cash) stays >= 0
    need_var = 0.0
    need_fixed = 0.0
    n_open = 0
    for k in range(k_orders):
        o = delta[k] - reduce_part[k]
        if o == 0.0:
            continue
        j = o_asset[k]
        p = prices[j]
        s = cfg[C.C_SLIP, j]
        b = p * (1.0 + s) if o > 0.0 else p * (1.0 - s)
        need_var += abs(o) * (p * s + cfg[C.C_FEE, j] * b + p / cfg[C.C_LEV, j])
        need_fixed += cfg[C.C_FIXED, j]
        n_open += 1
    if n_open == 0:
        return
    eq_pos, mu = _equity_margin(prices, pos, cfg)
    free = acct[C.A_CASH] + eq_pos - mu
    scale = 1.0
    if need_var + need_fixed > free:
        # a few ulps below the exact factor so that rounding cannot leave cash a hair below zero
        shave = 1.0 - 4.0 * (n_open + 1) * 2.220446049250313e-16
        scale = (free - need_fixed) / need_var * shave if need_var > 0.0 else 0.0
        if scale < 1e-9:        # nothing left to buy with: no dust fills of 1e-13 shares
            scale = 0.0
        _event(t, C.EV_SCALED, -1, scale, free, need_var + need_fixed, ef, ei, counts)
    status = C.FILLED if scale >= 1.0 else C.SCALED
    short_reason = C.INSUFFICIENT_MARGIN if margin else C.INSUFFICIENT_CASH
    for side in range(2):
        for k in range(k_orders):
            o = delta[k] - reduce_part[k]
            if o == 0.0 or (side == 0) != (o < 0.0):
                continue
            j = o_asset[k]
            p = prices[j]
            if scale <= 0.0:
                _reject(t, j, o, p, o_id[k], short_reason, o_kind[k], placed, rf, ri, counts)
                continue
            q = _round_step(o * scale, cfg[C.C_STEP, j])
            if q == 0.0 or abs(q) * p < cfg[C.C_MIN, j]:
                reason = C.MIN_NOTIONAL if cfg[C.C_MIN, j] > 0.0 else C.ZERO_QTY
                if scale < 1.0 and cfg[C.C_MIN, j] == 0.0:
                    reason = short_reason
                _reject(t, j, o, p, o_id[k], reason, o_kind[k], placed, rf, ri, counts)
                continue
            s = cfg[C.C_SLIP, j]
            px = p * (1.0 + s) if q > 0.0 else p * (1.0 - s)
            _apply_fill(t, j, q, p, px, o_id[k], o_reason[k], o_kind[k], status, placed, np.nan,
                        acct, pos, cfg, ff, fi, counts)
            filled_out[k] += q
    _ = n_assets


@nb.njit(cache=True)
def _touch_price(kind, q, level, o, h, l):
    """Unslipped fill price of a resting order on a bar, or NaN when the bar does not reach it."""
    if kind == C.LIMIT:
        if q > 0.0:
            if o <= level:
                return o
            return level if l <= level else np.nan
        if o >= level:
            return o
        return level if h >= level else np.nan
    # stop
    if q > 0.0:
        if o >= level:
            return o
        return level if h >= level else np.nan
    if o <= level:
        return o
    return level if l <= level else np.nan


@nb.njit(cache=True)
def match_resting(t, op, hi, lo, bi, bf, acct, pos, cfg, ff, fi, rf, ri, counts):
    """Match the book's active resting orders against bar t (open/high/low rows, NaN = no bar).

    Priority: orders reducing a position first, stops before limits, then placement order. Each fill
    is checked against free margin (cash in a cash account); an opening fill that does not fit is
    rejected, and in a cash account so is any fill (a reducing one too) that would leave cash below
    zero (``insufficient_cash``). ``op`` must be NaN where the bar is not tradable (``run_span`` masks
    it with ``tradable_prices``). Returns the number of orders that changed state.
    """
    m = bi.shape[0]
    if m == 0:
        return 0
    margin = acct[C.A_MARGIN] != 0.0
    allow_short = acct[C.A_SHORT] != 0.0
    keys = np.empty(m, dtype=np.int64)
    base = np.empty(m)
    nc = 0
    for r in range(m):
        if bi[r, C.B_STATUS] != C.OPEN or bi[r, C.B_ACTIVE_FROM] > t:
            continue
        j = bi[r, C.B_ASSET]
        if np.isnan(op[j]):
            continue
        q = bf[r, C.BF_QTY]
        px = _touch_price(bi[r, C.B_KIND], q, bf[r, C.BF_PRICE], op[j], hi[j], lo[j])
        if np.isnan(px):
            continue
        held = pos[C.P_QTY, j]
        opening = 0 if (bi[r, C.B_REDUCE_ONLY] != 0 or _opposite(held, q)) else 1
        is_limit = 1 if bi[r, C.B_KIND] == C.LIMIT else 0
        keys[nc] = (opening * 2 + is_limit) * m + r
        base[r] = px
        nc += 1
    if nc == 0:
        return 0
    order = np.sort(keys[:nc])
    # running equity and margin used, marked at the open (last close where no bar)
    eq_pos, mu = _equity_margin(op, pos, cfg)
    eq = acct[C.A_CASH] + eq_pos
    changed = 0
    for idx in range(nc):
        r = order[idx] % m
        if bi[r, C.B_STATUS] != C.OPEN:      # cancelled by an OCO sibling earlier on this bar
            continue
        j = bi[r, C.B_ASSET]
        kind = bi[r, C.B_KIND]
        q = bf[r, C.BF_QTY]
        p = base[r]
        held = pos[C.P_QTY, j]
        changed += 1
        if bi[r, C.B_REDUCE_ONLY] != 0:
            if held == 0.0 or _same_side(held, q):
                bi[r, C.B_STATUS] = C.CANCELLED
                continue
            if abs(q) > abs(held):
                q = -held
        if not allow_short and held + q < 0.0:
            q = -held if held > 0.0 else 0.0
            if q == 0.0:
                bi[r, C.B_STATUS] = C.REJECTED
                _reject(t, j, bf[r, C.BF_QTY], p, bi[r, C.B_ID], C.SHORT_NOT_ALLOWED, kind,
                        bi[r, C.B_PLACED], rf, ri, counts)
                continue
        full_close = held != 0.0 and q == -held
        if not full_close:
            q = _round_step(q, cfg[C.C_STEP, j])
            if q == 0.0 or abs(q) * p < cfg[C.C_MIN, j]:
                reason = C.MIN_NOTIONAL if cfg[C.C_MIN, j] > 0.0 else C.ZERO_QTY
                bi[r, C.B_STATUS] = C.REJECTED
                _reject(t, j, bf[r, C.BF_QTY], p, bi[r, C.B_ID], reason, kind, bi[r, C.B_PLACED],
                        rf, ri, counts)
                continue
        s = cfg[C.C_SLIP, j]
        px = p * (1.0 + s) if q > 0.0 else p * (1.0 - s)
        mark = op[j] if not np.isnan(op[j]) else pos[C.P_LAST, j]
        new = held + q
        lev = cfg[C.C_LEV, j]
        fee = cfg[C.C_FEE, j] * abs(q) * px + cfg[C.C_FIXED, j]
        d_eq = q * (mark - px) - fee
        d_mu = (abs(new) - abs(held)) * mark / lev
        if (d_mu > 0.0 and (eq + d_eq) - (mu + d_mu) < -1e-9 * max(1.0, abs(eq))) \
                or (d_mu <= 0.0 and _cash_short(acct, q, px, fee)):
            bi[r, C.B_STATUS] = C.REJECTED
            reason = C.INSUFFICIENT_MARGIN if margin else C.INSUFFICIENT_CASH
            _reject(t, j, q, p, bi[r, C.B_ID], reason, kind, bi[r, C.B_PLACED], rf, ri, counts)
            continue
        _apply_fill(t, j, q, p, px, bi[r, C.B_ID], bi[r, C.B_REASON], kind, C.FILLED,
                    bi[r, C.B_PLACED], bf[r, C.BF_PRICE], acct, pos, cfg, ff, fi, counts)
        eq += d_eq
        mu += d_mu
        bi[r, C.B_STATUS] = C.FILLED
        sib = bi[r, C.B_OCO]
        if sib >= 0 and bi[sib, C.B_STATUS] in (C.OPEN, C.PENDING):
            bi[sib, C.B_STATUS] = C.CANCELLED
        for col in (C.B_CHILD_SL, C.B_CHILD_TP):
            c = bi[r, col]
            if c >= 0 and bi[c, C.B_STATUS] == C.PENDING:
                bi[c, C.B_STATUS] = C.OPEN
                bi[c, C.B_ACTIVE_FROM] = t + 1
                bf[c, C.BF_QTY] = -q
    return changed


@nb.njit(cache=True)
def activate_children(t, rows, filled, bi, bf):
    """Activate the SL/TP children of market entries that filled at bar t (from bar t+1)."""
    for k in range(rows.shape[0]):
        r = rows[k]
        if r < 0:
            continue
        for col in (C.B_CHILD_SL, C.B_CHILD_TP):
            c = bi[r, col]
            if c < 0 or bi[c, C.B_STATUS] != C.PENDING:
                continue
            if filled[k] == 0.0:
                bi[c, C.B_STATUS] = C.CANCELLED
            else:
                bi[c, C.B_STATUS] = C.OPEN
                bi[c, C.B_ACTIVE_FROM] = t + 1
                bf[c, C.BF_QTY] = -filled[k]


@nb.njit(cache=True)
def close_positions(t, prices, which, reason, acct, pos, cfg, ff, fi, rf, ri, counts):
    """Close the positions of the assets flagged in ``which`` at ``prices`` (slipped, with fees).

    An asset with no price keeps its position (it cannot trade). Forced closes ignore the exchange's
    minimum notional and quantity step: they close exactly what is held. In a cash account a close
    whose proceeds (after the proportional fee) do not cover its fixed fee while cash cannot make up
    the difference is rejected (``insufficient_cash``) and the position is kept: cash never goes
    below zero.
    """
    for j in range(pos.shape[1]):
        q = pos[C.P_QTY, j]
        if not which[j] or q == 0.0:
            continue
        p = prices[j]
        if np.isnan(p):
            _reject(t, j, -q, np.nan, -1, C.NO_PRICE, C.MARKET, t, rf, ri, counts)
            continue
        s = cfg[C.C_SLIP, j]
        px = p * (1.0 + s) if q < 0.0 else p * (1.0 - s)
        if _cash_short(acct, -q, px, cfg[C.C_FEE, j] * abs(q) * px + cfg[C.C_FIXED, j]):
            _reject(t, j, -q, p, -1, C.INSUFFICIENT_CASH, C.MARKET, t, rf, ri, counts)
            continue
        _apply_fill(t, j, -q, p, px, -1, reason, C.MARKET, C.FILLED, t, np.nan, acct, pos, cfg, ff, fi,
                    counts)


@nb.njit(cache=True)
def cancel_asset_orders(j, reason_status, bi):
    for r in range(bi.shape[0]):
        if bi[r, C.B_ASSET] == j and (bi[r, C.B_STATUS] == C.OPEN or bi[r, C.B_STATUS] == C.PENDING):
            bi[r, C.B_STATUS] = reason_status


@nb.njit(cache=True)
def snapshot(t, cl, acct, pos, cfg, bi, snap, qh):
    """Mark every position at the close (last known close where no bar) and write snapshot row t."""
    n_assets = pos.shape[1]
    eq_pos = 0.0
    mu = 0.0
    unreal = 0.0
    gross = 0.0
    npos = 0
    for j in range(n_assets):
        c = cl[j]
        if not np.isnan(c):
            pos[C.P_LAST, j] = c
        q = pos[C.P_QTY, j]
        if q != 0.0:
            m = pos[C.P_LAST, j]
            eq_pos += q * m
            gross += abs(q) * m
            mu += abs(q) * m / cfg[C.C_LEV, j]
            unreal += q * (m - pos[C.P_AVG, j])
            npos += 1
        qh[t, j] = q
    n_orders = 0
    for r in range(bi.shape[0]):
        if bi[r, C.B_STATUS] == C.OPEN:
            n_orders += 1
    equity = acct[C.A_CASH] + eq_pos
    snap[t, C.S_EQUITY] = equity
    snap[t, C.S_CASH] = acct[C.A_CASH]
    snap[t, C.S_REALIZED] = acct[C.A_REALIZED] - acct[C.A_FEES]
    snap[t, C.S_UNREALIZED] = unreal
    snap[t, C.S_FEES] = acct[C.A_FEES]
    snap[t, C.S_MARGIN] = mu
    snap[t, C.S_MARGIN_RATIO] = snap[t, C.S_MARGIN] / acct[C.A_INITIAL]
    snap[t, C.S_GROSS] = gross
    snap[t, C.S_NPOS] = npos
    snap[t, C.S_NASSETS] = npos
    snap[t, C.S_NORDERS] = n_orders
    return equity, mu


@nb.njit(cache=True)
def end_of_bar(t, cl, last_bar, acct, pos, cfg, bi, snap, qh, ff, fi, rf, ri, ef, ei, counts, delist=True):
    """Mark at the close, liquidate below maintenance margin, close delisted assets, snapshot row t."""
    equity, mu = snapshot(t, cl, acct, pos, cfg, bi, snap, qh)
    n_assets = pos.shape[1]
    if acct[C.A_MARGIN] != 0.0 and mu > 0.0 and equity < acct[C.A_MMR] * mu:
        _event(t, C.EV_LIQUIDATION, -1, equity, mu, equity / mu, ef, ei, counts)
        which = np.ones(n_assets, dtype=np.bool_)
        close_positions(t, cl, which, C.LIQUIDATION, acct, pos, cfg, ff, fi, rf, ri, counts)
        for r in range(bi.shape[0]):
            if bi[r, C.B_STATUS] == C.OPEN or bi[r, C.B_STATUS] == C.PENDING:
                bi[r, C.B_STATUS] = C.CANCELLED
        snapshot(t, cl, acct, pos, cfg, bi, snap, qh)
    if delist:
        close_delisted(t, cl, last_bar, acct, pos, cfg, bi, snap, qh, ff, fi, rf, ri, ef, ei, counts)


@nb.njit(cache=True)
def close_delisted(t, cl, last_bar, acct, pos, cfg, bi, snap, qh, ff, fi, rf, ri, ef, ei, counts):
    """At an asset's last bar (data ends before the run does): close its position, cancel its orders."""
    n_assets = pos.shape[1]
    delisted = False
    for j in range(n_assets):
        if last_bar[j] == t:
            if pos[C.P_QTY, j] != 0.0:
                _event(t, C.EV_DELISTED, j, pos[C.P_QTY, j], cl[j], 0.0, ef, ei, counts)
                delisted = True
            cancel_asset_orders(j, C.CANCELLED, bi)
    if delisted:
        which = np.zeros(n_assets, dtype=np.bool_)
        for j in range(n_assets):
            which[j] = last_bar[j] == t
        close_positions(t, cl, which, C.DELISTED, acct, pos, cfg, ff, fi, rf, ri, counts)
        snapshot(t, cl, acct, pos, cfg, bi, snap, qh)


@nb.njit(cache=True)
def run_span(t0, t1, op, hi, lo, cl, last_bar, bi, bf, acct, pos, cfg, snap, qh,
             ff, fi, rf, ri, ef, ei, counts, delist_later):
    """Bars t0..t1-1: match resting orders, mark, liquidate, delist, snapshot.

    ``delist_later`` (a bar, or -1): at that bar the delisting closes are left to the caller, who runs
    them after the strategy has traded at the close. Returns the first bar not processed (t1, or
    earlier when a ledger is nearly full).
    """
    room = room_needed(pos.shape[1], bi.shape[0])
    op_t = np.empty(pos.shape[1])
    for t in range(t0, t1):
        if (counts[0] + room > ff.shape[0] or counts[1] + room > rf.shape[0]
                or counts[2] + room > ef.shape[0]):
            return t
        # resting orders match only on tradable bars (open and close both present)
        tradable_prices(op[t], op[t], cl[t], op_t)
        match_resting(t, op_t, hi[t], lo[t], bi, bf, acct, pos, cfg, ff, fi, rf, ri, counts)
        end_of_bar(t, cl[t], last_bar, acct, pos, cfg, bi, snap, qh, ff, fi, rf, ri, ef, ei, counts,
                   t != delist_later)
    return t1


@nb.njit(cache=True)
def run_weights(t0, t1, ex, cl, w, at_open, order_base, last_bar, bi, acct, pos, cfg, snap, qh,
                ff, fi, rf, ri, ef, ei, counts):
    """The whole ``from_weights`` loop: target-weight batches from the rows of ``w`` (T x N).

    ``at_open``: the row decided at bar t executes at ``ex[t+1]`` (the next open, or the next close when
    no open was given); otherwise at ``cl[t]``. Either way only on a tradable bar (``ex`` and ``cl``
    both present, ``tradable_prices``); elsewhere the asset's order is dropped (``no_price``). Returns
    the first bar not processed.
    """
    n_assets = pos.shape[1]
    assets = np.arange(n_assets)
    kinds = np.full(n_assets, C.TARGET_WEIGHT, dtype=np.int64)
    reasons = np.full(n_assets, C.REBALANCE, dtype=np.int64)
    ids = np.empty(n_assets, dtype=np.int64)
    filled = np.empty(n_assets)
    px = np.empty(n_assets)
    room = room_needed(n_assets, 0)
    for t in range(t0, t1):
        if (counts[0] + room > ff.shape[0] or counts[1] + room > rf.shape[0]
                or counts[2] + room > ef.shape[0]):
            return t
        if at_open and t > 0 and _has_weight(w[t - 1]):
            for j in range(n_assets):
                ids[j] = order_base + (t - 1) * n_assets + j
            execute_batch(t, tradable_prices(ex[t], ex[t], cl[t], px), assets, kinds, w[t - 1], ids,
                          reasons, t - 1,
                          acct, pos, cfg, ff, fi, rf, ri, ef, ei, counts, filled)
        if not at_open:
            snapshot(t, cl[t], acct, pos, cfg, bi, snap, qh)  # updates the last known closes
            if _has_weight(w[t]):
                for j in range(n_assets):
                    ids[j] = order_base + t * n_assets + j
                execute_batch(t, tradable_prices(cl[t], ex[t], cl[t], px), assets, kinds, w[t], ids,
                              reasons, t,
                              acct, pos, cfg, ff, fi, rf, ri, ef, ei, counts, filled)
        end_of_bar(t, cl[t], last_bar, acct, pos, cfg, bi, snap, qh, ff, fi, rf, ri, ef, ei, counts)
    return t1


@nb.njit(cache=True)
def _has_weight(row):
    for v in row:
        if not np.isnan(v):
            return True
    return False


@nb.njit(cache=True)
def build_trades(fq, fpx, ffee, fbar, fasset, freason, n_assets):
    """Round trips from the fill ledger: a trade runs from flat to flat; a flip closes one, opens another.

    Returns per-trade arrays: asset, direction (+1/-1), entry bar, exit bar (-1 if open), peak abs qty,
    entry price (average of opening fills), exit price (average of closing fills), gross PnL, fees,
    exit reason.
    """
    n = fq.shape[0]
    cap = n + 1
    t_asset = np.empty(cap, dtype=np.int64)
    t_dir = np.empty(cap, dtype=np.int64)
    t_entry = np.empty(cap, dtype=np.int64)
    t_exit = np.empty(cap, dtype=np.int64)
    t_peak = np.empty(cap)
    t_epx = np.empty(cap)
    t_xpx = np.empty(cap)
    t_pnl = np.empty(cap)
    t_fees = np.empty(cap)
    t_reason = np.empty(cap, dtype=np.int64)
    held = np.zeros(n_assets)
    cur = np.full(n_assets, -1, dtype=np.int64)
    open_qty = np.zeros(cap)
    open_val = np.zeros(cap)
    close_qty = np.zeros(cap)
    close_val = np.zeros(cap)
    cost_avg = np.zeros(cap)      # average cost of what is held, as the account books it
    nt = 0
    for i in range(n):
        j = fasset[i]
        q = fq[i]
        px = fpx[i]
        fee_left = ffee[i]
        remaining = q
        while remaining != 0.0:
            h = held[j]
            if h == 0.0:
                tr = nt
                nt += 1
                cur[j] = tr
                t_asset[tr] = j
                t_dir[tr] = 1 if remaining > 0.0 else -1
                t_entry[tr] = fbar[i]
                t_exit[tr] = -1
                t_peak[tr] = 0.0
                t_pnl[tr] = 0.0
                t_fees[tr] = 0.0
                t_reason[tr] = 0
                open_qty[tr] = 0.0
                open_val[tr] = 0.0
                close_qty[tr] = 0.0
                close_val[tr] = 0.0
            tr = cur[j]
            if h == 0.0 or _same_side(h, remaining):      # opening or adding
                open_qty[tr] += abs(remaining)
                open_val[tr] += abs(remaining) * px
                cost_avg[tr] = (cost_avg[tr] * abs(h) + px * abs(remaining)) / (abs(h) + abs(remaining))
                held[j] = h + remaining
                t_fees[tr] += fee_left
                fee_left = 0.0
                remaining = 0.0
                if abs(held[j]) > t_peak[tr]:
                    t_peak[tr] = abs(held[j])
            else:                                      # reducing
                part = min(abs(remaining), abs(h))
                share = part / abs(remaining)
                fee_part = fee_left * share
                t_pnl[tr] += part * (px - cost_avg[tr]) * t_dir[tr]
                close_qty[tr] += part
                close_val[tr] += part * px
                t_fees[tr] += fee_part
                fee_left -= fee_part
                step = part if remaining > 0.0 else -part
                remaining -= step
                held[j] = h + step
                if abs(held[j]) <= 1e-12 * max(1.0, abs(h)):
                    held[j] = 0.0
                    t_exit[tr] = fbar[i]
                    t_reason[tr] = freason[i]
                    cur[j] = -1
                    if abs(remaining) <= 1e-12 * abs(q):
                        remaining = 0.0
    for tr in range(nt):
        t_epx[tr] = open_val[tr] / open_qty[tr] if open_qty[tr] > 0.0 else np.nan
        t_xpx[tr] = close_val[tr] / close_qty[tr] if close_qty[tr] > 0.0 else np.nan
    return (t_asset[:nt], t_dir[:nt], t_entry[:nt], t_exit[:nt], t_peak[:nt], t_epx[:nt], t_xpx[:nt],
            t_pnl[:nt], t_fees[:nt], t_reason[:nt])


# -- order book maintenance (called once per decision bar; kept compiled so a grid that re-places
#    hundreds of levels every bar costs microseconds, not a dozen numpy calls) -------------------------

@nb.njit(cache=True)
def first_bad_limit(assets, qty, price, n_assets):
    """Index of the first order with an unknown asset, a non-finite qty or a bad price, or -1."""
    for k in range(assets.shape[0]):
        p = price[k]
        if assets[k] < 0 or assets[k] >= n_assets or not (p > 0.0) or p == np.inf \
                or not np.isfinite(qty[k]):
            return k
    return -1


@nb.njit(cache=True)
def book_add(bi, bf, m, assets, kind, qty, price, reason, bar, first_id, status, reduce_only):
    """Write the orders with a non-zero qty into rows m.. of the book (capacity is the caller's job).

    Returns the new row count.
    """
    active = bar + 1 if status == C.OPEN else C.NEVER
    r = m - 1
    for k in range(assets.shape[0]):
        if qty[k] == 0.0 and status == C.OPEN:
            continue
        r += 1
        bi[r, C.B_ID] = first_id + (r - m)
        bi[r, C.B_ASSET] = assets[k]
        bi[r, C.B_KIND] = kind
        bi[r, C.B_ACTIVE_FROM] = active
        bi[r, C.B_STATUS] = status
        bi[r, C.B_OCO] = -1
        bi[r, C.B_CHILD_SL] = -1
        bi[r, C.B_CHILD_TP] = -1
        bi[r, C.B_REASON] = reason
        bi[r, C.B_PLACED] = bar
        bi[r, C.B_REDUCE_ONLY] = reduce_only
        bf[r, C.BF_QTY] = qty[k]
        bf[r, C.BF_PRICE] = price[k]
        bf[r, C.BF_SL] = np.nan
        bf[r, C.BF_TP] = np.nan
    return r + 1


@nb.njit(cache=True)
def book_cancel(bi, m, mask, all_assets, keep_brackets):
    """Cancel live orders (of the assets flagged in ``mask`` unless ``all_assets``); returns live left."""
    live = 0
    for r in range(m):
        st = bi[r, C.B_STATUS]
        if st != C.OPEN and st != C.PENDING:
            continue
        if (all_assets or mask[bi[r, C.B_ASSET]]) and not (keep_brackets and bi[r, C.B_REDUCE_ONLY] != 0):
            bi[r, C.B_STATUS] = C.CANCELLED
        else:
            live += 1
    return live


@nb.njit(cache=True)
def book_live(bi, m):
    n = 0
    for r in range(m):
        st = bi[r, C.B_STATUS]
        if st == C.OPEN or st == C.PENDING:
            n += 1
    return n


@nb.njit(cache=True)
def book_compact(bi, bf, m):
    """Drop dead rows in place, renumbering OCO/child links; returns the new row count."""
    new_row = np.full(m, -1, dtype=np.int64)
    n = 0
    for r in range(m):
        st = bi[r, C.B_STATUS]
        if st == C.OPEN or st == C.PENDING:
            new_row[r] = n
            n += 1
    if n == m:
        return m
    for r in range(m):
        d = new_row[r]
        if d < 0:
            continue
        for c in range(bi.shape[1]):
            bi[d, c] = bi[r, c]
        for c in range(bf.shape[1]):
            bf[d, c] = bf[r, c]
        for c in (C.B_OCO, C.B_CHILD_SL, C.B_CHILD_TP):
            link = bi[d, c]
            bi[d, c] = new_row[link] if link >= 0 else -1
    return n
