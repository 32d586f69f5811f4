"""No look-ahead: rewriting the future must not change the past.

Must show (issue 2): changing every price after bar t leaves all decisions and fills up to t
unchanged (``execution="close"``), or up to the open of t+1 (``execution="next_open"``, where the
orders decided at the close of t fill at the open of t+1: there the open of t+1 is kept and only
its high, low and close are rewritten, with everything later).

Checked for ``from_weights`` (fixed weights) and for Strategies that decide from ``ctx`` (a
momentum top-N written here, with resting limit orders, and the built-in ``TopN``). The rewritten
future is far from the original one (prices scaled by up to 2x either way, new gaps, a delisting),
so that any leak would show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mf_testdata import random_market, random_weights

import multifolio as mf
from multifolio.engine.strategy import Strategy
from multifolio.strategies.top_n import TopN

N_BARS = 45
N_ASSETS = 5
RESTING = ("limit", "stop", "stop_loss", "take_profit")   # kinds/reasons that match against high/low


def rewrite_future(open_, high, low, close, t: int, keep_next_open: bool, seed: int):
    """OHLC frames equal to the inputs up to bar t (and the open of t+1 when ``keep_next_open``),
    with every later price scaled by a random factor, some bars removed, one asset delisted."""
    rng = np.random.default_rng(seed)
    o, h, lo, c = (f.to_numpy(float).copy() for f in (open_, high, low, close))
    n_bars, n_assets = c.shape
    first = t + 1
    factor = np.exp(rng.normal(0.0, 0.35, size=(n_bars - first, n_assets)))
    c[first:] *= factor
    if not keep_next_open:
        o[first:] *= factor
    else:
        o[first + 1:] *= factor[1:]
    wick = 1.0 + np.abs(rng.normal(0.0, 0.03, size=(n_bars - first, n_assets)))
    h[first:] = np.maximum(o[first:], c[first:]) * wick
    lo[first:] = np.minimum(o[first:], c[first:]) / wick
    holes = np.zeros_like(c, dtype=bool)
    holes[first + 1:] = rng.random((n_bars - first - 1, n_assets)) < 0.1
    holes[first + 3:, n_assets - 1] = True                        # a delisting in the new future
    for a in (o, h, lo, c):
        a[holes] = np.nan
    frames = [pd.DataFrame(a, index=close.index, columns=close.columns) for a in (o, h, lo, c)]
    for orig, new in zip((open_, high, low, close), frames, strict=True):
        upto = first + (1 if keep_next_open and orig is open_ else 0)
        pd.testing.assert_frame_equal(orig.iloc[:upto], new.iloc[:upto])
    return tuple(frames)


def _fills_until(res, index: pd.DatetimeIndex, t: int, next_open: bool) -> pd.DataFrame:
    """Fills at bars <= t; in next_open mode also the fills at the open of t+1 (market and target
    orders decided at t), but not the resting orders matched against t+1's high/low."""
    f = res.fills
    bar = index.get_indexer(pd.DatetimeIndex(f["timestamp"]))
    keep = bar <= t
    if next_open:
        at_open = (bar == t + 1) & ~f["kind"].astype(str).isin(RESTING) \
            & ~f["reason"].astype(str).isin(RESTING)
        keep |= at_open.to_numpy()
    cols = ["timestamp", "symbol", "qty", "price", "base_price", "fee", "kind", "reason"]
    return f.loc[keep, cols].sort_values(["timestamp", "symbol", "qty"], kind="stable") \
        .reset_index(drop=True)


def _orders_until(res, index: pd.DatetimeIndex, t: int) -> pd.DataFrame:
    """Market and target orders placed at bars <= t: what was asked (not how it ended).

    Resting orders are left out here: their rows depend on their fate after t (a limit placed at t
    may fill or be cancelled later); their fills up to t are compared with the other fills, and the
    presence of cancelled and open orders in ``Result.orders`` is pinned in test_hand_cases.
    """
    o = res.orders
    if len(o) == 0:
        return o
    bar = index.get_indexer(pd.DatetimeIndex(o["timestamp"]))
    keep = (bar <= t) & ~o["kind"].astype(str).isin(RESTING).to_numpy()
    cols = [c for c in ("timestamp", "symbol", "kind", "qty", "price") if c in o.columns]
    return o.loc[keep, cols].sort_values(cols[:3], kind="stable").reset_index(drop=True)


def assert_same_past(res_a, res_b, index: pd.DatetimeIndex, t: int, next_open: bool) -> None:
    """Everything up to bar t (and the open of t+1 in next_open mode) is identical."""
    pd.testing.assert_series_equal(res_a.equity.iloc[: t + 1], res_b.equity.iloc[: t + 1])
    pd.testing.assert_frame_equal(res_a.snapshots.iloc[: t + 1], res_b.snapshots.iloc[: t + 1])
    pd.testing.assert_frame_equal(res_a.positions.iloc[: t + 1], res_b.positions.iloc[: t + 1])
    fa = _fills_until(res_a, index, t, next_open)
    fb = _fills_until(res_b, index, t, next_open)
    assert len(fa) > 0
    pd.testing.assert_frame_equal(fa, fb)
    pd.testing.assert_frame_equal(_orders_until(res_a, index, t), _orders_until(res_b, index, t))


def assert_future_differs(res_a, res_b) -> None:
    """The rewrite really changed the outcome (otherwise the test would prove nothing)."""
    assert not np.allclose(res_a.equity.to_numpy(float), res_b.equity.to_numpy(float), rtol=1e-6)


CUTS = [5, 18, 33]


@pytest.mark.parametrize("execution", ["close", "next_open"])
@pytest.mark.parametrize("t", CUTS)
def test_from_weights_has_no_lookahead(t, execution):
    open_, high, low, close = random_market(41, n_bars=N_BARS, n_assets=N_ASSETS)
    weights = random_weights(41, close, nan_rows=0.1)
    next_open = execution == "next_open"
    o2, _h2, _l2, c2 = rewrite_future(open_, high, low, close, t, next_open, seed=t)
    kw = dict(cash=100_000.0, fees=0.001, fixed_fees=0.2, slippage=0.0005, execution=execution)
    res_a = mf.from_weights(close, weights, open=open_, **kw)
    res_b = mf.from_weights(c2, weights, open=o2, **kw)
    assert_same_past(res_a, res_b, close.index, t, next_open)
    assert_future_differs(res_a, res_b)


def _plain(values) -> tuple:
    """Floats with NaN as None, so that two logs compare equal when their NaNs sit in one place."""
    return tuple(None if np.isnan(v) else float(v) for v in np.asarray(values, dtype=float))


def momentum_strategy(k: int = 2, lookback: int = 4):
    """Top-k by ``lookback``-bar momentum from ``ctx.history``, rebalanced every bar, plus a resting
    limit buy 1% under the close of the leader; logs every decision and the account it saw."""
    class Momentum(Strategy):
        def __init__(self) -> None:
            super().__init__()
            self.decisions: list[tuple] = []

        def on_bar(self, ctx) -> None:
            hist = ctx.history("close", lookback + 1)
            seen = (ctx.bar, float(ctx.cash), float(ctx.equity), _plain(ctx.positions))
            if hist.shape[0] < lookback + 1:
                self.decisions.append((*seen, None))
                return
            score = hist[-1] / hist[0] - 1.0
            score = np.where(np.isfinite(score), score, -np.inf)
            top = np.argsort(-score, kind="stable")[:k]
            top = top[np.isfinite(score[top])]
            w = np.zeros(ctx.n_assets)
            w[top] = 0.9 / k
            w[~np.isfinite(np.asarray(ctx.close, dtype=float))] = np.nan   # no bar: leave alone
            ctx.target_weights(w)
            ctx.cancel_all()
            if len(top):
                lead = int(top[0])
                px = float(ctx.price[lead])
                ctx.order(ctx.symbols[lead], 0.02 * float(ctx.equity) / px, limit=0.99 * px)
            self.decisions.append((*seen, _plain(w)))

    return Momentum()


def _decisions_until(strategy, t: int) -> list[tuple]:
    return [d for d in strategy.decisions if d[0] <= t]


@pytest.mark.parametrize("execution", ["close", "next_open"])
@pytest.mark.parametrize("t", CUTS)
def test_strategy_has_no_lookahead(t, execution):
    open_, high, low, close = random_market(42, n_bars=N_BARS, n_assets=N_ASSETS)
    next_open = execution == "next_open"
    o2, h2, l2, c2 = rewrite_future(open_, high, low, close, t, next_open, seed=100 + t)
    kw = dict(cash=100_000.0, fees=0.001, slippage=0.0005, execution=execution)
    s_a, s_b = momentum_strategy(), momentum_strategy()
    res_a = mf.backtest(mf.MarketData.from_frames(close, open=open_, high=high, low=low), s_a, **kw)
    res_b = mf.backtest(mf.MarketData.from_frames(c2, open=o2, high=h2, low=l2), s_b, **kw)
    da, db = _decisions_until(s_a, t), _decisions_until(s_b, t)
    assert len(da) == t + 1
    assert da == db                      # same weights, same cash/equity/positions seen
    assert_same_past(res_a, res_b, close.index, t, next_open)
    assert_future_differs(res_a, res_b)


@pytest.mark.parametrize("execution", ["close", "next_open"])
def test_builtin_top_n_has_no_lookahead(execution):
    t = 20
    open_, high, low, close = random_market(43, n_bars=N_BARS, n_assets=N_ASSETS)
    next_open = execution == "next_open"
    o2, h2, l2, c2 = rewrite_future(open_, high, low, close, t, next_open, seed=7)
    kw = dict(cash=100_000.0, fees=0.001, execution=execution)
    res_a = mf.backtest(mf.MarketData.from_frames(close, open=open_, high=high, low=low),
                        TopN(k=2, lookback=5, schedule="every_bar"), **kw)
    res_b = mf.backtest(mf.MarketData.from_frames(c2, open=o2, high=h2, low=l2),
                        TopN(k=2, lookback=5, schedule="every_bar"), **kw)
    assert_same_past(res_a, res_b, close.index, t, next_open)
    assert_future_differs(res_a, res_b)
