"""Accounting invariants on random prices and random orders (hypothesis).

Must show (issue 2), for a cash account and any mix of market, notional, limit, stop and target
orders (plus cancels and stop-loss/take-profit brackets):

* equity = cash + sum(qty x last known close) at every bar, from ``result.positions`` and the prices;
* cash never below zero;
* every fill's ``base_price`` lies inside its bar's [low, high], and ``price`` = base_price x (1 + s)
  for a buy, x (1 - s) for a sell;
* the fills' fee column sums to ``metrics["fees_paid"]`` and to the last snapshot's ``fees_paid``;
* no resting (limit/stop) fill on a bar that is not tradable (open or close missing), and with
  ``from_weights`` no fill at all there except forced closes.

Costs go up to their bounds (fee rates and slippage near 1, fixed fees larger than many orders) and
the markets have partial bars (an open without a close, a close without an open). The cash-account
invariants run on more than 1,000 random cases per CI run (``test_cash_account_*``: 600 + 400).

The examples are derandomized (the same ones on every run, so CI is reproducible) and bounded so
that the whole file stays within a few seconds after the engine's kernels are compiled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from mf_testdata import random_market, random_weights

import multifolio as mf
from multifolio.engine.strategy import Strategy

N_BARS = 30
N_ASSETS = 3
CASH = 10_000.0

KINDS = ("market", "notional", "limit", "stop", "target_weight", "target_qty", "cancel_all")

# Sizes and offsets on a grid of hundredths / thousandths: the properties are about the books, and
# sub-normal sizes (1e-300 of equity) would only test dust handling, which test_hand_cases pins.
FRACTION = st.integers(-60, 60).map(lambda x: x / 100.0)        # size as a fraction of equity
OFFSET = st.integers(-60, 60).map(lambda x: x / 1000.0)         # price offset as a fraction
# one planned order: (bar, kind, asset, size, price offset)
ORDER = st.tuples(st.integers(0, N_BARS - 1), st.sampled_from(KINDS), st.integers(0, N_ASSETS - 1),
                  FRACTION, OFFSET)
BRACKET = st.tuples(st.integers(0, N_BARS - 1), st.integers(0, N_ASSETS - 1),
                    st.integers(5, 50).map(lambda x: x / 100.0),
                    st.integers(1, 50).map(lambda x: x / 1000.0),
                    st.integers(1, 50).map(lambda x: x / 1000.0))

# No shrinking phase: a failing example is reported as generated (seeded, so reproducible), which
# keeps a failing run as short as a passing one instead of minutes of shrinking.
PROPS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                 phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def partial_bars(frames, seed: int, rate: float = 0.06):
    """Blank the open or the close (not both, high/low kept) of random cells: bars that are present
    but not tradable. Bar 0 and the first asset's final bar stay complete."""
    open_, high, low, close = (f.copy() for f in frames)
    rng = np.random.default_rng(seed + 20_000)
    hit = rng.random(close.shape) < rate
    hit[0, :] = False
    hit[-1, 0] = False
    which = rng.random(close.shape) < 0.5
    o, c = open_.to_numpy(copy=True), close.to_numpy(copy=True)
    o[hit & which] = np.nan
    c[hit & ~which] = np.nan
    open_ = pd.DataFrame(o, index=close.index, columns=close.columns)
    close = pd.DataFrame(c, index=close.index, columns=close.columns)
    return open_, high, low, close


def planned_orders(plan: list[tuple]):
    """A Strategy that places the planned orders at their bars; sizes scale with the equity and the
    last known close, so that the plan means something whatever the prices are."""
    by_bar: dict[int, list[tuple]] = {}
    for bar, *rest in plan:
        by_bar.setdefault(bar, []).append(tuple(rest))

    class PlannedOrders(Strategy):
        def on_bar(self, ctx) -> None:
            for kind, j, frac, offset in by_bar.get(ctx.bar, ()):
                sym = ctx.symbols[j]
                px = float(ctx.price[j])
                if not np.isfinite(px) or px <= 0:      # never listed yet: nothing to size with
                    continue
                qty = frac * float(ctx.equity) / px
                if (abs(frac) < 1e-3 or not qty) and kind in ("market", "notional", "limit", "stop",
                                                               "flip"):
                    continue                            # a zero-size order is not a plan
                if kind == "market":
                    ctx.order(sym, qty)
                elif kind == "notional":
                    ctx.order(sym, notional=frac * float(ctx.equity))
                elif kind == "limit":
                    ctx.order(sym, qty, limit=px * (1.0 + offset))
                elif kind == "stop":
                    ctx.order(sym, qty, stop=px * (1.0 + abs(offset) * np.sign(qty)))
                elif kind == "target_weight":
                    ctx.target_weights({sym: abs(frac)})
                elif kind == "target_qty":
                    ctx.target_qty({sym: abs(qty)})
                elif kind == "flip":
                    # open (or add to) a position now, and rest a limit order 2.5 times its size on
                    # the other side just beyond the close: when it fills, the position crosses zero
                    ctx.order(sym, qty)
                    level = px * (1.0 + abs(offset) / 10.0 * np.sign(qty))
                    ctx.order(sym, -2.5 * qty, limit=level)
                else:
                    ctx.cancel_all(sym)

    return PlannedOrders()


def bracket_orders(plan: list[tuple]):
    """A Strategy that buys with a stop-loss below and a take-profit above the last close."""
    by_bar: dict[int, list[tuple]] = {}
    for bar, *rest in plan:
        by_bar.setdefault(bar, []).append(tuple(rest))

    class Brackets(Strategy):
        def on_bar(self, ctx) -> None:
            for j, frac, sl, tp in by_bar.get(ctx.bar, ()):
                px = float(ctx.price[j])
                if np.isfinite(px) and px > 0:
                    ctx.order(ctx.symbols[j], frac * float(ctx.equity) / px,
                              stop_loss=px * (1.0 - sl), take_profit=px * (1.0 + tp))

    return Brackets()


def check_invariants(res, open_, high, low, close, slippage: float, vectorised: bool = False) -> None:
    """The accounting invariants of the module docstring, from the Result's public frames."""
    symbols = list(close.columns)
    pos = res.positions.reindex(columns=symbols).to_numpy(float)
    last_close = close.ffill().to_numpy(float)
    held_value = np.where(pos != 0.0, pos * np.nan_to_num(last_close), 0.0).sum(axis=1)
    cash = res.snapshots["cash"].to_numpy(float)
    equity = res.equity.to_numpy(float)
    scale = max(CASH, float(np.abs(equity).max()))
    # positions held only where a close is known (one cannot buy what never traded)
    assert not np.any((pos != 0.0) & np.isnan(last_close))
    np.testing.assert_allclose(equity, cash + held_value, rtol=0, atol=1e-9 * scale,
                               err_msg="equity != cash + sum(qty x last close)")
    np.testing.assert_allclose(res.snapshots["total_equity"].to_numpy(float), equity, rtol=0,
                               atol=1e-9 * scale)
    assert cash.min() >= -1e-9 * scale, f"cash went negative: {cash.min()}"

    fills = res.fills
    if len(fills):
        t = close.index.get_indexer(pd.DatetimeIndex(fills["timestamp"]))
        assert (t >= 0).all()
        j = np.array([symbols.index(s) for s in fills["symbol"]])
        tradable = (open_.notna() & close.notna()).to_numpy()[t, j]
        resting = fills["kind"].astype(str).isin(["limit", "stop"]).to_numpy()
        assert not (resting & ~tradable).any(), (
            f"resting fills on bars that are not tradable:\n{fills[resting & ~tradable]}")
        if vectorised:
            forced = fills["reason"].astype(str).isin(["delisted", "end_of_data"]).to_numpy()
            assert not (~forced & ~tradable).any(), (
                f"fills on bars that are not tradable:\n{fills[~forced & ~tradable]}")
        lo = low.to_numpy(float)[t, j]
        hi = high.to_numpy(float)[t, j]
        base = fills["base_price"].to_numpy(float)
        tol = 1e-12 * np.abs(base)
        bad = ~((base >= lo - tol) & (base <= hi + tol))
        assert not bad.any(), (
            f"fills outside the bar's [low, high]:\n{fills[bad]}\nlow {lo[bad]} high {hi[bad]}")
    fee_sum = float(fills["fee"].sum()) if len(fills) else 0.0
    assert fee_sum >= 0.0
    last_fees = float(res.snapshots["fees_paid"].iloc[-1])
    assert abs(fee_sum - last_fees) <= 1e-9 * max(1.0, fee_sum)
    assert abs(fee_sum - float(res.metrics["fees_paid"])) <= 1e-9 * max(1.0, fee_sum)
    if len(fills):
        # docs/contracts.md: "Buy fills at p(1+s), sell fills at p(1-s)" -- every fill, whatever
        # its kind (checked last, so that a failure here means the other invariants held)
        qty = fills["qty"].to_numpy(float)
        assert np.all(qty != 0.0)
        want = base * np.where(qty > 0, 1.0 + slippage, 1.0 - slippage)
        got = fills["price"].to_numpy(float)
        off = ~np.isclose(got, want, rtol=1e-12, atol=0.0)
        assert not off.any(), (
            "price != base_price x (1 +/- slippage) for fills:\n"
            f"{fills.loc[off, ['timestamp', 'symbol', 'qty', 'base_price', 'price', 'kind', 'reason']]}")


# (fee rate, fixed fee per fill, slippage): rates up to just below their bound of 1, fixed fees up to
# a sizeable share of the 10,000 account (orders are 1% to 60% of equity)
COSTS = st.tuples(st.sampled_from([0.0, 0.001, 0.01, 0.5, 0.99]),
                  st.sampled_from([0.0, 0.5, 50.0, 2_000.0]),
                  st.sampled_from([0.0, 0.0005, 0.01, 0.5]))
CASH_PROPS = settings(PROPS, max_examples=600)
WEIGHT_PROPS = settings(PROPS, max_examples=400)


@PROPS
@given(seed=st.integers(0, 10_000), plan=st.lists(ORDER, max_size=40), costs=COSTS,
       execution=st.sampled_from(["next_open", "close"]))
def test_random_orders_keep_the_books_straight(seed, plan, costs, execution):
    fees, fixed_fees, slippage = costs
    open_, high, low, close = random_market(seed, n_bars=N_BARS, n_assets=N_ASSETS, delisting=True)
    data = mf.MarketData.from_frames(close, open=open_, high=high, low=low)
    res = mf.backtest(data, planned_orders(plan), cash=CASH, fees=fees, fixed_fees=fixed_fees,
                      slippage=slippage, execution=execution)
    check_invariants(res, open_, high, low, close, slippage)


@CASH_PROPS
@given(seed=st.integers(0, 10_000), plan=st.lists(ORDER, max_size=25), costs=COSTS,
       execution=st.sampled_from(["next_open", "close"]))
def test_cash_account_never_below_zero_with_fixed_fees_and_partial_bars(seed, plan, costs, execution):
    """The strategy path, every order kind, fixed fees always on, bars missing their open or close."""
    fees, fixed_fees, slippage = costs
    fixed_fees = fixed_fees or 5.0
    frames = random_market(seed, n_bars=N_BARS, n_assets=N_ASSETS, delisting=True)
    open_, high, low, close = partial_bars(frames, seed)
    data = mf.MarketData.from_frames(close, open=open_, high=high, low=low)
    res = mf.backtest(data, planned_orders(plan), cash=CASH, fees=fees, fixed_fees=fixed_fees,
                      slippage=slippage, execution=execution)
    short = bool((res.orders["reason"].astype(str) == "insufficient_cash").any())
    event(f"insufficient_cash rejections: {short}")
    check_invariants(res, open_, high, low, close, slippage)


@WEIGHT_PROPS
@given(seed=st.integers(0, 10_000), costs=COSTS, execution=st.sampled_from(["next_open", "close"]),
       cash=st.sampled_from([100.0, 1_000.0, CASH]))
def test_cash_account_weights_never_below_zero_with_fixed_fees_and_partial_bars(seed, costs, execution,
                                                                                 cash):
    """The vectorised path: random target weights on small accounts where fixed fees bite."""
    fees, fixed_fees, slippage = costs
    fixed_fees = fixed_fees or 5.0
    frames = random_market(seed, n_bars=N_BARS, n_assets=N_ASSETS, delisting=True)
    open_, high, low, close = partial_bars(frames, seed)
    w = random_weights(seed, close)
    res = mf.from_weights(close, w, open=open_, cash=cash, fees=fees, fixed_fees=fixed_fees,
                          slippage=slippage, execution=execution)
    scale = max(cash, float(res.equity.abs().max()))
    assert float(res.snapshots["cash"].min()) >= -1e-9 * scale
    check_invariants(res, open_, high, low, close, slippage, vectorised=True)


@PROPS
@given(seed=st.integers(0, 10_000), plan=st.lists(BRACKET, max_size=12), costs=COSTS,
       execution=st.sampled_from(["next_open", "close"]))
def test_random_brackets_keep_the_books_straight(seed, plan, costs, execution):
    fees, fixed_fees, slippage = costs
    # big bars (3% ranges) so that stop-losses and take-profits actually trigger
    open_, high, low, close = random_market(seed, n_bars=N_BARS, n_assets=N_ASSETS, gaps=True)
    mid = (high + low) / 2.0
    high, low = mid + (high - mid) * 3.0, mid - (mid - low) * 3.0
    data = mf.MarketData.from_frames(close, open=open_, high=high, low=low)
    res = mf.backtest(data, bracket_orders(plan), cash=CASH, fees=fees, fixed_fees=fixed_fees,
                      slippage=slippage, execution=execution)
    check_invariants(res, open_, high, low, close, slippage)


MARGIN_ORDER = st.tuples(st.integers(0, N_BARS - 1),
                         st.sampled_from(("market", "target_weight", "limit", "stop", "flip", "flip")),
                         st.integers(0, N_ASSETS - 1),
                         st.integers(-200, 200).map(lambda x: x / 100.0),
                         st.integers(-60, 60).map(lambda x: x / 1000.0))


def volatile_market(seed: int):
    """Gap-free OHLC with four times the log-moves of ``random_market`` (x -> x0 (x / x0)^4 per
    asset, which keeps every bar's open and close inside [low, high]), so that leveraged books
    reach the maintenance level now and then."""
    frames = random_market(seed, n_bars=N_BARS, n_assets=N_ASSETS, gaps=False,
                           late_listing=False)
    base = frames[3].iloc[0]
    return tuple(base * (f / base) ** 4 for f in frames)


def _resting_flip(fills: pd.DataFrame) -> bool:
    """Did a limit/stop fill take a position across zero (long to short or back)?"""
    for _, f in fills.groupby("symbol", sort=False):
        q = f["qty"].to_numpy(float)
        after = np.cumsum(q)
        before = after - q
        resting = f["kind"].astype(str).isin(["limit", "stop"]).to_numpy()
        if (resting & (before * after < 0)).any():
            return True
    return False


@settings(PROPS, max_examples=150)
@given(seed=st.integers(0, 10_000), plan=st.lists(MARGIN_ORDER, max_size=30),
       leverage=st.sampled_from([2.0, 3.0, 5.0]), fees=st.sampled_from([0.0, 0.001]),
       execution=st.sampled_from(["next_open", "close"]))
def test_margin_account_keeps_the_books_and_the_maintenance_level(seed, plan, leverage, fees,
                                                                  execution):
    """A margin account (leverage, shorting) under random orders: equity = cash + sum(qty x close),
    margin used = sum(|qty| x close) / leverage, and at the end of every bar equity >= maintenance
    x margin used (an account below it is liquidated at that close, with a ``liquidation`` event
    and fills of reason ``liquidation`` at the same timestamp)."""
    mm = 0.5
    open_, high, low, close = volatile_market(seed)
    data = mf.MarketData.from_frames(close, open=open_, high=high, low=low)
    res = mf.backtest(data, planned_orders(plan), cash=CASH, fees=fees, execution=execution,
                      leverage=leverage, allow_short=True, maintenance_margin=mm)
    pos = res.positions.reindex(columns=list(close.columns)).to_numpy(float)
    cl = close.to_numpy(float)
    equity = res.equity.to_numpy(float)
    scale = max(CASH, float(np.abs(equity).max()))
    cash = res.snapshots["cash"].to_numpy(float)
    np.testing.assert_allclose(equity, cash + (pos * cl).sum(axis=1), rtol=0, atol=1e-9 * scale)
    margin = res.snapshots["margin_used"].to_numpy(float)
    np.testing.assert_allclose(margin, (np.abs(pos) * cl).sum(axis=1) / leverage, rtol=0,
                               atol=1e-9 * scale)
    # the snapshots' PnL split adds up: realized (net of fees) + unrealized = equity - initial capital
    pnl = (res.snapshots["realized_pnl"] + res.snapshots["unrealized_pnl"]).to_numpy(float)
    np.testing.assert_allclose(pnl, equity - CASH, rtol=0, atol=1e-9 * scale,
                               err_msg="realized + unrealized != equity - initial capital")
    below = equity < mm * margin - 1e-9 * scale
    assert not below.any(), f"bars left below the maintenance level: {np.flatnonzero(below)}"
    ev = res.events[res.events["kind"].astype(str) == "liquidation"] if len(res.events) else None
    liq_times = set() if ev is None else set(ev["timestamp"])
    fills = res.fills
    event(f"resting fill crossed zero: {_resting_flip(fills)}")
    liq_fills = set(fills.loc[fills["reason"].astype(str) == "liquidation", "timestamp"])
    event(f"liquidated: {bool(liq_times)}")        # coverage, see --hypothesis-show-statistics
    assert liq_fills <= liq_times
    for ts in liq_times:
        t = close.index.get_loc(ts)
        assert np.all(pos[t] == 0.0), f"positions left after the liquidation at {ts}"
        assert ts in liq_fills
    if len(fills):
        t = close.index.get_indexer(pd.DatetimeIndex(fills["timestamp"]))
        j = np.array([list(close.columns).index(s) for s in fills["symbol"]])
        base = fills["base_price"].to_numpy(float)
        tol = 1e-12 * base
        assert np.all(base >= low.to_numpy(float)[t, j] - tol)
        assert np.all(base <= high.to_numpy(float)[t, j] + tol)
