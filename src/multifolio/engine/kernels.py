"""Compiled numba kernels of the simulation: fills, market batches, resting orders, marking.

Everything here works on named state (``records``) so that the same kernels serve the vectorised
``from_weights`` loop and the ``Strategy`` simulator. The pandas-facing wrappers live in ``vectorized``,
``simulator``/``account`` and ``multifolio.api``.

State (updated in place):
- ``acct``  one ``ACCOUNT_DTYPE`` record: cash, realized PnL (gross of fees), fees paid, initial cash,
  maintenance margin rate, margin-account and shorting flags (``acct[0].cash`` ...).
- ``pos``   ``POSITION_DTYPE`` records, one per asset: signed quantity, average entry price, last close.
- ``costs`` ``COST_DTYPE`` records, one per asset: fee rate, fixed fee, slippage, leverage, min notional,
  quantity step.
- ``book``  ``ORDER_DTYPE`` records of the resting orders (the used rows only).
- ``led``   ``Ledgers``: fill, rejection and event records and their used counts (``led.n[0]``).
  Callers guarantee room for ``room_needed(N, M)`` rows before each bar.
- ``snap``  ``SNAPSHOT_DTYPE`` records, one per bar; ``qh`` the T x N quantities held.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from multifolio.engine import codes as C
from multifolio.engine.records import MarketOrders

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
def _full(led, room):
    """Is any ledger within ``room`` rows of its end (the caller grows them and calls again)?"""
    n = led.n[0]
    return (n.fills + room > led.fills.shape[0] or n.rejections + room > led.rejections.shape[0]
            or n.events + room > led.events.shape[0])


@nb.njit(cache=True)
def _financing_full(acct, led, n_assets):
    """Too few financing rows left for one bar (3 charges per asset at most)?"""
    return acct[0].has_financing and led.n[0].financing + 3 * n_assets + 1 > led.financing.shape[0]


@nb.njit(cache=True)
def _apply_fill(t, j, q, base, px, order_id, reason, kind, status, placed, order_price,
                acct, pos, costs, led):
    """Book a fill of signed quantity q at price px: cash, fees, realized PnL, average price, ledger.
    Values are in the account's currency: qty x price x ``costs[j].mult`` (contract size x the bar's
    conversion rate; 1 by default)."""
    mult = costs[j].mult
    fee = costs[j].fee_rate * abs(q) * px * mult + costs[j].fixed_fee
    held = pos[j].qty
    avg = pos[j].avg_price
    realized = 0.0
    new = held + q
    if _opposite(held, q):
        closed = min(abs(q), abs(held))
        realized = closed * (px - avg) * (1.0 if held > 0.0 else -1.0) * mult
        if abs(new) <= _EPS * max(abs(held), abs(q)):
            new = 0.0
            pos[j].avg_price = 0.0
        elif _opposite(new, held):      # flipped: the remainder opens at the fill price
            pos[j].avg_price = px
    else:
        pos[j].avg_price = (avg * abs(held) + px * abs(q)) / abs(new)
    pos[j].qty = new
    acct[0].cash -= q * px * mult + fee
    acct[0].fees_paid += fee
    acct[0].realized_pnl += realized
    n = led.n[0].fills
    f = led.fills[n]
    f.qty = q
    f.price = px
    f.base_price = base
    f.fee = fee
    f.realized_pnl = realized
    f.order_price = order_price
    f.mult = mult
    f.bar = t
    f.asset = j
    f.order_id = order_id
    f.reason = reason
    f.kind = kind
    f.status = status
    f.placed = placed
    led.n[0].fills = n + 1
    return fee


@nb.njit(cache=True)
def _reject(t, j, q, price, order_id, reason, kind, placed, led):
    n = led.n[0].rejections
    r = led.rejections[n]
    r.qty = q
    r.price = price
    r.bar = t
    r.asset = j
    r.order_id = order_id
    r.reason = reason
    r.kind = kind
    r.placed = placed
    led.n[0].rejections = n + 1


@nb.njit(cache=True)
def _event(t, kind, j, figure1, figure2, figure3, led):
    n = led.n[0].events
    e = led.events[n]
    e.bar = t
    e.kind = kind
    e.asset = j
    e.figure1 = figure1
    e.figure2 = figure2
    e.figure3 = figure3
    led.n[0].events = n + 1


@nb.njit(cache=True)
def _finance(t, j, kind, q, p, rate, days, amount, acct, led):
    n = led.n[0].financing
    r = led.financing[n]
    r.qty = q
    r.price = p
    r.rate = rate
    r.days = days
    r.amount = amount
    r.bar = t
    r.asset = j
    r.kind = kind
    led.n[0].financing = n + 1
    acct[0].cash += amount
    acct[0].financing_paid -= amount


@nb.njit(cache=True)
def charge_financing(t, op, sched, funding, acct, pos, costs, led):
    """At the start of bar t (before its open fills), charge the positions held into it: overnight swap
    (``swap_days`` of the bar x the long or short annual rate / 365), borrow on shorts (annual rate x
    ``year_frac``) and perpetual funding (``funding[t, j]`` x qty where that field is not NaN: longs pay
    a positive rate, shorts receive it). Notional at bar t's open (the last close where there is none).
    Each charge moves cash and is a financing record. Runs once per bar (``financed_to``)."""
    if not acct[0].has_financing or t <= acct[0].financed_to:
        return
    acct[0].financed_to = t
    days = sched[t].swap_days
    yf = sched[t].year_frac
    for j in range(pos.shape[0]):
        q = pos[j].qty
        if q == 0.0:
            continue
        p = op[j]
        if np.isnan(p):
            p = pos[j].last_price
        if np.isnan(p):
            continue
        notional = abs(q) * p * costs[j].mult
        if days > 0.0:
            rate = costs[j].swap_long if q > 0.0 else costs[j].swap_short
            if rate != 0.0:
                _finance(t, j, C.FIN_SWAP, q, p, rate, days, -rate * notional * days / 365.0, acct, led)
        if q < 0.0 and yf > 0.0 and costs[j].borrow_rate != 0.0:
            rate = costs[j].borrow_rate
            _finance(t, j, C.FIN_BORROW, q, p, rate, yf * 365.0, -rate * notional * yf, acct, led)
        if acct[0].has_funding:
            fr = funding[t, j]
            if not np.isnan(fr) and fr != 0.0:
                _finance(t, j, C.FIN_FUNDING, q, p, fr, 0.0, -fr * q * p * costs[j].mult, acct, led)


@nb.njit(cache=True, inline="always")
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
def _cash_short(acct, q, px, fee, mult):
    """Cash account only: would booking this fill leave cash below zero?"""
    return not acct[0].is_margin and acct[0].cash - q * px * mult - fee < 0.0


@nb.njit(cache=True)
def _round_step(q, step):
    """Round |q| down to the asset's quantity step (toward zero)."""
    if step <= 0.0:
        return q
    n = np.floor(abs(q) / step + 1e-9)
    return np.sign(q) * n * step


@nb.njit(cache=True)
def _slipped(p, q, costs, j):
    """The fill price of a buy (q > 0) or sell at the unslipped price p: slipped against the order, then
    on the instrument's price tick (when it has one) rounded against the order too (a buy up, a sell
    down), so that a fill is never better than its slipped price."""
    s = costs[j].slippage
    px = p * (1.0 + s) if q > 0.0 else p * (1.0 - s)
    tick = costs[j].tick
    if tick > 0.0:
        n = px / tick
        px = (np.ceil(n - 1e-9) if q > 0.0 else np.floor(n + 1e-9)) * tick
    return px


@nb.njit(cache=True, inline="always")
def convert(t, fx, acct, pos, costs):
    """Conversion rates become each converted instrument's ``mult`` (contract size x rate). ``fx`` has
    two rows per bar: row 2t the rate known at bar t's open (the previous close), row 2t + 1 its close,
    so that fills at the open never use a rate from later in the bar; ``t`` here is that row. A
    position's notional sits in cash at its average price; moving it to the new rate (cash -= q x
    contract size x avg price x (new rate - old rate)) leaves the position's PnL, q x contract size x
    (price - avg price), the only thing exposed to the rate: a CFD's or an FX pair's PnL, converted at
    the bar's rate. Runs once per row (``converted_to``); nothing to do without a converted instrument."""
    if not acct[0].has_conversion or t <= acct[0].converted_to:
        return
    acct[0].converted_to = t
    for j in range(pos.shape[0]):
        c = costs[j].fx_col
        if c < 0:
            continue
        new = costs[j].contract_size * fx[t, c]
        q = pos[j].qty
        if q != 0.0:
            acct[0].cash -= q * pos[j].avg_price * (new - costs[j].mult)
        costs[j].mult = new


@nb.njit(cache=True)
def _mark(j, prices, pos):
    p = prices[j]
    if np.isnan(p):
        return pos[j].last_price
    return p


@nb.njit(cache=True)
def _equity_margin(prices, pos, costs):
    """Equity and margin used, marked at ``prices`` (last known close where NaN)."""
    eq = 0.0
    mu = 0.0
    for j in range(pos.shape[0]):
        q = pos[j].qty
        if q != 0.0:
            m = _mark(j, prices, pos) * costs[j].mult
            eq += q * m
            mu += abs(q) * m / costs[j].leverage
    return eq, mu


@nb.njit(cache=True)
def execute_batch(t, prices, orders, placed, acct, pos, costs, led, filled_out):
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
    o_asset, o_kind, o_value, o_id, o_reason = orders
    k_orders = o_asset.shape[0]
    n_assets = pos.shape[0]
    margin = acct[0].is_margin
    allow_short = acct[0].allow_short
    for k in range(k_orders):
        filled_out[k] = 0.0
    eq_pos, _ = _equity_margin(prices, pos, costs)
    value = acct[0].cash + eq_pos
    planned = pos.qty.copy()
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
                _reject(t, j, 0.0, np.nan, o_id[k], C.NO_PRICE, kind, placed, led)
            continue
        if kind == C.MARKET:
            d = v
        elif kind == C.NOTIONAL:
            d = v / (p * costs[j].mult)
        elif kind == C.TARGET_WEIGHT:
            d = v * value / (p * costs[j].mult) - planned[j]
        else:
            d = v - planned[j]
        if d == 0.0:
            continue
        before = planned[j]
        if not allow_short and before + d < 0.0:
            d = -before if before > 0.0 else 0.0
            if d == 0.0:
                _reject(t, j, v, p, o_id[k], C.SHORT_NOT_ALLOWED, kind, placed, led)
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
            held = pos[j].qty
            full_close = abs(r) >= abs(held) * (1.0 - 1e-12) and delta[k] == r
            q = r if full_close else _round_step(r, costs[j].qty_step)
            if full_close:
                q = -held
            p = prices[j]
            if q == 0.0 or (not full_close and abs(q) * p * costs[j].mult < costs[j].min_notional):
                reason = C.MIN_NOTIONAL if costs[j].min_notional > 0.0 else C.ZERO_QTY
                _reject(t, j, r, p, o_id[k], reason, o_kind[k], placed, led)
                reduce_part[k] = 0.0
                delta[k] = 0.0
                continue
            px = _slipped(p, q, costs, j)
            mult = costs[j].mult
            fee = costs[j].fee_rate * abs(q) * px * mult + costs[j].fixed_fee
            if _cash_short(acct, q, px, fee, mult):
                _reject(t, j, q, p, o_id[k], C.INSUFFICIENT_CASH, o_kind[k], placed, led)
                reduce_part[k] = 0.0
                delta[k] = 0.0
                continue
            _apply_fill(t, j, q, p, px, o_id[k], o_reason[k], o_kind[k], C.FILLED, placed, np.nan,
                        acct, pos, costs, led)
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
        s = costs[j].slippage
        b = _slipped(p, o, costs, j)
        slip = p * s if costs[j].tick <= 0.0 else abs(b - p)
        mult = costs[j].mult
        need_var += abs(o) * (slip * mult + costs[j].fee_rate * b * mult + p * mult / costs[j].leverage)
        need_fixed += costs[j].fixed_fee
        n_open += 1
    if n_open == 0:
        return
    eq_pos, mu = _equity_margin(prices, pos, costs)
    free = acct[0].cash + eq_pos - mu
    scale = 1.0
    if need_var + need_fixed > free:
        # a few ulps below the exact factor so that rounding cannot leave cash a hair below zero
        shave = 1.0 - 4.0 * (n_open + 1) * 2.220446049250313e-16
        scale = (free - need_fixed) / need_var * shave if need_var > 0.0 else 0.0
        if scale < 1e-9:        # nothing left to buy with: no dust fills of 1e-13 shares
            scale = 0.0
        _event(t, C.EV_SCALED, -1, scale, free, need_var + need_fixed, led)
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
                _reject(t, j, o, p, o_id[k], short_reason, o_kind[k], placed, led)
                continue
            q = _round_step(o * scale, costs[j].qty_step)
            if q == 0.0 or abs(q) * p * costs[j].mult < costs[j].min_notional:
                reason = C.MIN_NOTIONAL if costs[j].min_notional > 0.0 else C.ZERO_QTY
                if scale < 1.0 and costs[j].min_notional == 0.0:
                    reason = short_reason
                _reject(t, j, o, p, o_id[k], reason, o_kind[k], placed, led)
                continue
            px = _slipped(p, q, costs, j)
            _apply_fill(t, j, q, p, px, o_id[k], o_reason[k], o_kind[k], status, placed, np.nan,
                        acct, pos, costs, led)
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
def match_resting(t, op, hi, lo, book, acct, pos, costs, led):
    """Match the book's active resting orders against bar t (open/high/low rows, NaN = no bar).

    Priority: orders reducing a position first; among them, those the bar opened beyond (they fill at
    the open, the bar's first price), then stops before limits (a bar touching both levels of a bracket
    fills the stop: the conservative choice), then placement order. Each fill
    is checked against free margin (cash in a cash account); an opening fill that does not fit is
    rejected, and in a cash account so is any fill (a reducing one too) that would leave cash below
    zero (``insufficient_cash``). ``op`` must be NaN where the bar is not tradable (``run_span`` masks
    it with ``tradable_prices``). Returns the number of orders that changed state.
    """
    m = book.shape[0]
    if m == 0:
        return 0
    margin = acct[0].is_margin
    allow_short = acct[0].allow_short
    keys = np.empty(m, dtype=np.int64)
    base = np.empty(m)
    nc = 0
    for r in range(m):
        if book[r].status != C.OPEN or book[r].active_from > t:
            continue
        j = book[r].asset
        if np.isnan(op[j]):
            continue
        q = book[r].qty
        px = _touch_price(book[r].kind, q, book[r].price, op[j], hi[j], lo[j])
        if np.isnan(px):
            continue
        held = pos[j].qty
        opening = 0 if (book[r].reduce_only != 0 or _opposite(held, q)) else 1
        is_limit = 1 if book[r].kind == C.LIMIT else 0
        intrabar = 0 if px == op[j] else 1      # a level the bar opened beyond fills first, at the open
        keys[nc] = (opening * 4 + intrabar * 2 + is_limit) * m + r
        base[r] = px
        nc += 1
    if nc == 0:
        return 0
    order = np.sort(keys[:nc])
    # running equity and margin used, marked at the open (last close where no bar)
    eq_pos, mu = _equity_margin(op, pos, costs)
    eq = acct[0].cash + eq_pos
    changed = 0
    for idx in range(nc):
        r = order[idx] % m
        if book[r].status != C.OPEN:      # cancelled by an OCO sibling earlier on this bar
            continue
        j = book[r].asset
        kind = book[r].kind
        q = book[r].qty
        p = base[r]
        held = pos[j].qty
        changed += 1
        if book[r].reduce_only != 0:
            if held == 0.0 or _same_side(held, q):
                book[r].status = C.CANCELLED
                continue
            if abs(q) > abs(held):
                q = -held
        if not allow_short and held + q < 0.0:
            q = -held if held > 0.0 else 0.0
            if q == 0.0:
                book[r].status = C.REJECTED
                _reject(t, j, book[r].qty, p, book[r].id, C.SHORT_NOT_ALLOWED, kind,
                        book[r].placed, led)
                continue
        full_close = held != 0.0 and q == -held
        if not full_close:
            q = _round_step(q, costs[j].qty_step)
            if q == 0.0 or abs(q) * p * costs[j].mult < costs[j].min_notional:
                reason = C.MIN_NOTIONAL if costs[j].min_notional > 0.0 else C.ZERO_QTY
                book[r].status = C.REJECTED
                _reject(t, j, book[r].qty, p, book[r].id, reason, kind, book[r].placed,
                        led)
                continue
        px = _slipped(p, q, costs, j)
        mark = op[j] if not np.isnan(op[j]) else pos[j].last_price
        new = held + q
        lev = costs[j].leverage
        mult = costs[j].mult
        fee = costs[j].fee_rate * abs(q) * px * mult + costs[j].fixed_fee
        d_eq = q * (mark - px) * mult - fee
        d_mu = (abs(new) - abs(held)) * mark * mult / lev
        if (d_mu > 0.0 and (eq + d_eq) - (mu + d_mu) < -1e-9 * max(1.0, abs(eq))) \
                or (d_mu <= 0.0 and _cash_short(acct, q, px, fee, mult)):
            book[r].status = C.REJECTED
            reason = C.INSUFFICIENT_MARGIN if margin else C.INSUFFICIENT_CASH
            _reject(t, j, q, p, book[r].id, reason, kind, book[r].placed, led)
            continue
        _apply_fill(t, j, q, p, px, book[r].id, book[r].reason, kind, C.FILLED,
                    book[r].placed, book[r].price, acct, pos, costs, led)
        eq += d_eq
        mu += d_mu
        book[r].status = C.FILLED
        sib = book[r].oco
        if sib >= 0 and book[sib].status in (C.OPEN, C.PENDING):
            book[sib].status = C.CANCELLED
        # an entry filled intrabar: the path inside the bar is unknown, its bracket starts next bar
        _wake_child(book, book[r].child_sl, t + 1, -q, px)
        _wake_child(book, book[r].child_tp, t + 1, -q, px)
    return changed


@nb.njit(cache=True)
def _trail_level(o):
    """The level a moving stop (row record ``o``) asks for now: behind ``best`` by the trailing distance,
    at break-even once in profit by ``be_trigger``; NaN when nothing asks (the stop stays put)."""
    long_pos = o.qty < 0.0              # the child sells: it protects a long
    level = np.nan
    if o.trail > 0.0:
        level = o.best - o.trail if long_pos else o.best + o.trail
    elif o.trail_pct > 0.0:
        level = o.best * (1.0 - o.trail_pct) if long_pos else o.best * (1.0 + o.trail_pct)
    if o.be_trigger > 0.0:
        gain = o.best - o.entry_price if long_pos else o.entry_price - o.best
        if gain >= o.be_trigger:
            be = o.entry_price + o.be_offset if long_pos else o.entry_price - o.be_offset
            if np.isnan(level) or (long_pos and be > level) or (not long_pos and be < level):
                level = be
    return level


@nb.njit(cache=True)
def _tighten(o, level):
    """Move a stop to ``level`` if that is tighter (never loosen); a stop without a level takes it."""
    if np.isnan(level):
        return
    if np.isnan(o.price) or (o.qty < 0.0 and level > o.price) or (o.qty > 0.0 and level < o.price):
        o.price = level


@nb.njit(cache=True)
def _wake_child(book, c, active_from, qty, ref):
    """A pending bracket child (row ``c``, -1 = none) becomes a live reduce-only order of ``qty``; with
    ``qty`` 0 (its entry did not fill) it is cancelled. ``ref`` is the entry's fill price: a moving
    stop starts from it. The one place brackets come alive, for market entries (``wake_brackets``) and
    resting ones (``match_resting``)."""
    if c >= 0 and book[c].status == C.PENDING:
        if qty == 0.0:
            book[c].status = C.CANCELLED
            return
        o = book[c]
        o.status = C.OPEN
        o.active_from = active_from
        o.qty = qty
        o.entry_price = ref
        o.best = ref
        if o.trail > 0.0 or o.trail_pct > 0.0 or o.be_trigger > 0.0:
            _tighten(o, _trail_level(o))


@nb.njit(cache=True)
def wake_brackets(book, rows, active_from, qty, ref):
    """The bracket children at ``rows`` of a market entry that filled ``-qty`` at ``ref`` (0: cancelled)."""
    for k in range(rows.shape[0]):
        _wake_child(book, rows[k], active_from, qty, ref)


@nb.njit(cache=True)
def retighten(book, r):
    """Re-apply a live stop's moves (after ``modify``) from its best price so far."""
    _tighten(book[r], _trail_level(book[r]))


@nb.njit(cache=True)
def move_stops(t, op, hi, lo, book):
    """After bar t's matching: trailing and break-even stops still open follow the bar's extreme in
    their favour (the high for a long) and tighten for the next bar. They never use a bar before they
    were live, nor the same bar's extreme to fill (the high may come after the low: conservative)."""
    for r in range(book.shape[0]):
        o = book[r]
        if o.status != C.OPEN or o.active_from > t:
            continue
        if not (o.trail > 0.0 or o.trail_pct > 0.0 or o.be_trigger > 0.0):
            continue
        j = o.asset
        if np.isnan(op[j]):
            continue
        if o.qty < 0.0:
            if hi[j] > o.best:
                o.best = hi[j]
        elif lo[j] < o.best:
            o.best = lo[j]
        _tighten(o, _trail_level(o))


@nb.njit(cache=True)
def close_positions(t, prices, which, reason, acct, pos, costs, led):
    """Close the positions of the assets flagged in ``which`` at ``prices`` (slipped, with fees).

    An asset with no price keeps its position (it cannot trade). Forced closes ignore the exchange's
    minimum notional and quantity step: they close exactly what is held. In a cash account a close
    whose proceeds (after the proportional fee) do not cover its fixed fee while cash cannot make up
    the difference is rejected (``insufficient_cash``) and the position is kept: cash never goes
    below zero.
    """
    for j in range(pos.shape[0]):
        q = pos[j].qty
        if not which[j] or q == 0.0:
            continue
        p = prices[j]
        if np.isnan(p):
            _reject(t, j, -q, np.nan, -1, C.NO_PRICE, C.MARKET, t, led)
            continue
        px = _slipped(p, -q, costs, j)
        mult = costs[j].mult
        fee = costs[j].fee_rate * abs(q) * px * mult + costs[j].fixed_fee
        if _cash_short(acct, -q, px, fee, mult):
            _reject(t, j, -q, p, -1, C.INSUFFICIENT_CASH, C.MARKET, t, led)
            continue
        _apply_fill(t, j, -q, p, px, -1, reason, C.MARKET, C.FILLED, t, np.nan, acct, pos, costs, led)


@nb.njit(cache=True, inline="always")
def snapshot(t, cl, acct, pos, costs, book, snap, qh):
    """Mark every position at the close (last known close where no bar) and write snapshot row t."""
    n_assets = pos.shape[0]
    eq_pos = 0.0
    mu = 0.0
    unreal = 0.0
    gross = 0.0
    npos = 0
    for j in range(n_assets):
        c = cl[j]
        if not np.isnan(c):
            pos[j].last_price = c
        q = pos[j].qty
        if q != 0.0:
            m = pos[j].last_price
            mult = costs[j].mult
            eq_pos += q * m * mult
            gross += abs(q) * m * mult
            mu += abs(q) * m * mult / costs[j].leverage
            unreal += q * (m - pos[j].avg_price) * mult
            npos += 1
        qh[t, j] = q
    n_orders = 0
    for r in range(book.shape[0]):
        if book[r].status == C.OPEN:
            n_orders += 1
    equity = acct[0].cash + eq_pos
    snap[t].total_equity = equity
    snap[t].cash = acct[0].cash
    snap[t].realized_pnl = acct[0].realized_pnl - acct[0].fees_paid - acct[0].financing_paid
    snap[t].unrealized_pnl = unreal
    snap[t].fees_paid = acct[0].fees_paid
    snap[t].margin_used = mu
    snap[t].margin_ratio = snap[t].margin_used / acct[0].initial_cash
    snap[t].gross_exposure = gross
    snap[t].n_open_positions = npos
    snap[t].n_assets_with_positions = npos
    snap[t].n_open_orders = n_orders
    snap[t].financing_paid = acct[0].financing_paid
    return equity, mu


@nb.njit(cache=True, inline="always")
def end_of_bar(t, cl, last_bar, acct, pos, costs, book, snap, qh, led, delist=True):
    """Mark at the close, liquidate below maintenance margin, close delisted assets, snapshot row t."""
    equity, mu = snapshot(t, cl, acct, pos, costs, book, snap, qh)
    n_assets = pos.shape[0]
    if acct[0].is_margin and mu > 0.0 and equity < acct[0].maintenance_margin * mu:
        _event(t, C.EV_LIQUIDATION, -1, equity, mu, equity / mu, led)
        which = np.ones(n_assets, dtype=np.bool_)
        close_positions(t, cl, which, C.LIQUIDATION, acct, pos, costs, led)
        for r in range(book.shape[0]):
            if book[r].status == C.OPEN or book[r].status == C.PENDING:
                book[r].status = C.CANCELLED
        snapshot(t, cl, acct, pos, costs, book, snap, qh)
    if delist:
        close_delisted(t, cl, last_bar, acct, pos, costs, book, snap, qh, led)


@nb.njit(cache=True, inline="always")
def close_delisted(t, cl, last_bar, acct, pos, costs, book, snap, qh, led):
    """At an asset's last bar (data ends before the run does): close its position, cancel its orders."""
    n_assets = pos.shape[0]
    delisted = False
    for j in range(n_assets):
        if last_bar[j] == t:
            if pos[j].qty != 0.0:
                _event(t, C.EV_DELISTED, j, pos[j].qty, cl[j], 0.0, led)
                delisted = True
            for r in range(book.shape[0]):
                if book[r].asset == j and (book[r].status == C.OPEN or book[r].status == C.PENDING):
                    book[r].status = C.CANCELLED
    if delisted:
        which = np.zeros(n_assets, dtype=np.bool_)
        for j in range(n_assets):
            which[j] = last_bar[j] == t
        close_positions(t, cl, which, C.DELISTED, acct, pos, costs, led)
        snapshot(t, cl, acct, pos, costs, book, snap, qh)


@nb.njit(cache=True)
def execute_tradable(t, prices_t, op_t, cl_t, px, orders, placed, acct, pos, costs, led, filled):
    """``execute_batch`` at bar t's ``prices_t`` (its open or its close) where the bar is tradable
    (``tradable_prices`` into the N-buffer ``px``)."""
    execute_batch(t, tradable_prices(prices_t, op_t, cl_t, px), orders, placed, acct, pos, costs, led, filled)


@nb.njit(cache=True)
def fill_at_open(t, op_t, cl_t, px, sched, funding, fx, orders, placed, acct, pos, costs, led, filled):
    """Queued orders at bar t's open (``execution="next_open"``): bar t's conversion rates and the
    financing of the positions held into it come first (each runs once per bar), then the fills where
    the bar is tradable (``px``: an N-buffer)."""
    convert(2 * t, fx, acct, pos, costs)              # the rate known at the open
    charge_financing(t, op_t, sched, funding, acct, pos, costs, led)
    execute_tradable(t, op_t, op_t, cl_t, px, orders, placed, acct, pos, costs, led, filled)


@nb.njit(cache=True)
def settle_close(t, op_t, cl_t, last_bar, orders, has_orders, placed, acct, pos, costs, book, snap, qh, led,
                 filled, px):
    """The end of a decision at bar t in ``execution="close"`` mode, in one call: the queued orders (when
    ``has_orders``) fill at the close (``px``: an N-buffer for the tradable prices), the bar is marked
    again, then delisted assets are closed out."""
    if has_orders:
        execute_tradable(t, cl_t, op_t, cl_t, px, orders, placed, acct, pos, costs, led, filled)
        snapshot(t, cl_t, acct, pos, costs, book, snap, qh)
    close_delisted(t, cl_t, last_bar, acct, pos, costs, book, snap, qh, led)


@nb.njit(cache=True)
def run_span(t0, t1, op, hi, lo, cl, last_bar, book, acct, pos, costs, snap, qh, led, delist_later,
             sched, funding, fx):
    """Bars t0..t1-1 of the T x N open/high/low/close: match resting orders, mark, liquidate, delist,
    snapshot. (The four price arrays travel as four arguments: a named tuple costs ~1 us to type on every
    call, and the Strategy path calls this on every decision bar.)

    ``delist_later`` (a bar, or -1): at that bar the delisting closes are left to the caller, who runs
    them after the strategy has traded at the close. ``sched`` / ``funding``: the financing schedule and
    funding rates (``charge_financing``, at the start of each bar); ``fx`` the conversion rates
    (``convert``, before the financing). Returns the first bar not processed
    (t1, or earlier when a ledger is nearly full).
    """
    room = room_needed(pos.shape[0], book.shape[0])
    op_t = np.empty(pos.shape[0])
    for t in range(t0, t1):
        if _full(led, room) or _financing_full(acct, led, pos.shape[0]):
            return t
        bar_step(t, op_t, op, hi, lo, cl, last_bar, book, acct, pos, costs, snap, qh, led, t != delist_later,
                 sched, funding, fx)
    return t1


@nb.njit(cache=True)
def bar_step(t, op_t, op, hi, lo, cl, last_bar, book, acct, pos, costs, snap, qh, led, delist, sched,
             funding, fx):
    """Bar t of ``run_span`` (room checked by the caller; ``op_t`` an N-buffer): financing, resting
    orders matched, stops moved, marked at the close, liquidation and (``delist``) delisting closes."""
    # the bar's rows, taken once (each view of an array costs two atomic reference counts)
    o_t, h_t, l_t, c_t = op[t], hi[t], lo[t], cl[t]
    convert(2 * t, fx, acct, pos, costs)              # the rate known at the open
    charge_financing(t, o_t, sched, funding, acct, pos, costs, led)
    # resting orders match only on tradable bars (open and close both present)
    tradable_prices(o_t, o_t, c_t, op_t)
    match_resting(t, op_t, h_t, l_t, book, acct, pos, costs, led)
    if acct[0].has_moving_stops:       # trailing / break-even stops were ever placed
        move_stops(t, op_t, h_t, l_t, book)
    convert(2 * t + 1, fx, acct, pos, costs)          # marked at the close's rate
    end_of_bar(t, c_t, last_bar, acct, pos, costs, book, snap, qh, led, delist)


@nb.njit(cache=True)
def run_weights(t0, t1, ex, cl, w, at_open, order_base, last_bar, book, acct, pos, costs, snap, qh, led):
    """The whole ``from_weights`` loop: target-weight batches from the rows of ``w`` (T x N).

    ``at_open``: the row decided at bar t executes at ``ex[t+1]`` (the next open, or the next close when
    no open was given); otherwise at ``cl[t]``. Either way only on a tradable bar (``ex`` and ``cl``
    both present, ``tradable_prices``); elsewhere the asset's order is dropped (``no_price``). Returns
    the first bar not processed.
    """
    n_assets = pos.shape[0]
    assets = np.arange(n_assets)
    kinds = np.full(n_assets, C.TARGET_WEIGHT, dtype=np.int64)
    reasons = np.full(n_assets, C.REBALANCE, dtype=np.int64)
    ids = np.empty(n_assets, dtype=np.int64)
    filled = np.empty(n_assets)
    px = np.empty(n_assets)
    room = room_needed(n_assets, 0)
    for t in range(t0, t1):
        if _full(led, room):
            return t
        if at_open and t > 0 and _has_weight(w[t - 1]):
            for j in range(n_assets):
                ids[j] = order_base + (t - 1) * n_assets + j
            orders = MarketOrders(assets, kinds, w[t - 1], ids, reasons)
            execute_batch(t, tradable_prices(ex[t], ex[t], cl[t], px), orders, t - 1, acct, pos, costs, led,
                          filled)
        if not at_open:
            snapshot(t, cl[t], acct, pos, costs, book, snap, qh)  # updates the last known closes
            if _has_weight(w[t]):
                for j in range(n_assets):
                    ids[j] = order_base + t * n_assets + j
                orders = MarketOrders(assets, kinds, w[t], ids, reasons)
                execute_batch(t, tradable_prices(cl[t], ex[t], cl[t], px), orders, t, acct, pos, costs, led,
                              filled)
        end_of_bar(t, cl[t], last_bar, acct, pos, costs, book, snap, qh, led)
    return t1


@nb.njit(cache=True)
def _has_weight(row):
    for v in row:
        if not np.isnan(v):
            return True
    return False


@nb.njit(cache=True)
def build_trades(fills, n_assets):
    """Round trips from the fill records: a trade runs from flat to flat; a flip closes one, opens another.

    Returns per-trade arrays: asset, direction (+1/-1), entry bar, exit bar (-1 if open), peak abs qty,
    entry price (average of opening fills), exit price (average of closing fills), gross PnL, fees,
    exit reason.
    """
    n = fills.shape[0]
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
        j = fills[i].asset
        q = fills[i].qty
        px = fills[i].price
        fee_left = fills[i].fee
        remaining = q
        while remaining != 0.0:
            h = held[j]
            if h == 0.0:
                tr = nt
                nt += 1
                cur[j] = tr
                t_asset[tr] = j
                t_dir[tr] = 1 if remaining > 0.0 else -1
                t_entry[tr] = fills[i].bar
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
                t_pnl[tr] += part * (px - cost_avg[tr]) * t_dir[tr] * fills[i].mult
                close_qty[tr] += part
                close_val[tr] += part * px
                t_fees[tr] += fee_part
                fee_left -= fee_part
                step = part if remaining > 0.0 else -part
                remaining -= step
                held[j] = h + step
                if abs(held[j]) <= 1e-12 * max(1.0, abs(h)):
                    held[j] = 0.0
                    t_exit[tr] = fills[i].bar
                    t_reason[tr] = fills[i].reason
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
def present_targets(values, allow_negative):
    """The targets that are given (not NaN): their asset indices and values, and the index of the first
    infinite (or, unless ``allow_negative``, negative) one, or -1."""
    n = 0
    bad = -1
    for j in range(values.shape[0]):
        v = values[j]
        if v == v:
            n += 1
            if bad < 0 and (v == np.inf or v == -np.inf or (v < 0.0 and not allow_negative)):
                bad = j
    sel = np.empty(n, dtype=np.int64)
    vals = np.empty(n)
    k = 0
    for j in range(values.shape[0]):
        if values[j] == values[j]:
            sel[k] = j
            vals[k] = values[j]
            k += 1
    return sel, vals, bad


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
def book_add(book, m, assets, kind, qty, price, reason, bar, first_id, status, reduce_only):
    """Write the orders with a non-zero qty into rows m.. of the book (capacity is the caller's job).

    Returns the new row count.
    """
    active = bar + 1 if status == C.OPEN else C.NEVER
    r = m - 1
    for k in range(assets.shape[0]):
        if qty[k] == 0.0 and status == C.OPEN:
            continue
        r += 1
        book[r].id = first_id + (r - m)
        book[r].asset = assets[k]
        book[r].kind = kind
        book[r].active_from = active
        book[r].status = status
        book[r].oco = -1
        book[r].child_sl = -1
        book[r].child_tp = -1
        book[r].reason = reason
        book[r].placed = bar
        book[r].reduce_only = reduce_only
        book[r].qty = qty[k]
        book[r].price = price[k]
        book[r].trail = 0.0
        book[r].trail_pct = 0.0
        book[r].be_trigger = 0.0
        book[r].be_offset = 0.0
        book[r].best = np.nan
        book[r].entry_price = np.nan
    return r + 1


@nb.njit(cache=True)
def book_cancel(book, m, mask, all_assets, keep_brackets):
    """Cancel live orders (of the assets flagged in ``mask`` unless ``all_assets``); returns live left."""
    live = 0
    for r in range(m):
        st = book[r].status
        if st != C.OPEN and st != C.PENDING:
            continue
        if (all_assets or mask[book[r].asset]) and not (keep_brackets and book[r].reduce_only != 0):
            book[r].status = C.CANCELLED
        else:
            live += 1
    return live


@nb.njit(cache=True)
def book_compact(book, m):
    """Drop dead rows in place, renumbering OCO/child links; returns the new row count."""
    new_row = np.full(m, -1, dtype=np.int64)
    n = 0
    for r in range(m):
        st = book[r].status
        if st == C.OPEN or st == C.PENDING:
            new_row[r] = n
            n += 1
    if n == m:
        return m
    for r in range(m):
        d = new_row[r]
        if d < 0:
            continue
        book[d] = book[r]
        o = book[d]
        o.oco = new_row[o.oco] if o.oco >= 0 else -1
        o.child_sl = new_row[o.child_sl] if o.child_sl >= 0 else -1
        o.child_tp = new_row[o.child_tp] if o.child_tp >= 0 else -1
    return n
