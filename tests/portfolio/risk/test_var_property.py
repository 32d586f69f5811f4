"""After ``var_limit`` the ex-ante VaR of the post-trade portfolio is within the limit at every decision
bar (random markets, a rotating top-N book), recomputed here independently of the rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import multifolio as mf
from multifolio.portfolio import risk as R
from multifolio.strategies import TopN


def _market(seed: int, n_bars: int, n_assets: int) -> mf.MarketData:
    rng = np.random.default_rng(seed)
    vol = rng.uniform(0.005, 0.06, size=n_assets)
    r = rng.normal(0.0, 1.0, size=(n_bars, n_assets)) * vol
    idx = pd.date_range("2023-01-02", periods=n_bars, freq="D", tz="UTC")
    close = 50.0 * np.exp(np.cumsum(r, axis=0))
    return mf.MarketData.from_frames(pd.DataFrame(close, index=idx,
                                                  columns=[f"S{j}" for j in range(n_assets)]))


def _var(positions: np.ndarray, close: np.ndarray, t: int, window: int, conf: float) -> float:
    lo = max(0, t - window)
    r = close[lo + 1: t + 1] / close[lo: t] - 1.0
    pnl = r @ (positions * close[t])
    k = len(pnl)
    srt = np.sort(pnl)
    h = (k - 1) * (1.0 - conf / 100.0)            # linear interpolation between order statistics
    lo_i = int(np.floor(h))
    q = srt[lo_i] + (h - lo_i) * (srt[min(k - 1, lo_i + 1)] - srt[lo_i])
    return -q


@settings(max_examples=12, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), limit=st.sampled_from([0.5, 1.0, 2.0, 4.0]),
       conf=st.sampled_from([90.0, 95.0, 99.0]), k=st.integers(1, 4))
def test_post_trade_var_is_within_the_limit_at_every_decision_bar(seed, limit, conf, k) -> None:
    md = _market(seed, 70, 6)
    window = 20
    res = mf.backtest(md, TopN(k=k, lookback=5, schedule=3), cash=10_000.0, execution="close",
                      close_at_end=False, risk=[R.VarLimit(limit=limit, confidence=conf, window=window)])
    close = md.close
    pos = res.positions.to_numpy()
    eq = res.snapshots["total_equity"].to_numpy()
    risk = res.events[res.events["kind"] == "risk"]
    cut_bars = {md.index.get_loc(t): d for t, d in zip(risk["timestamp"], risk["details"], strict=True)}
    breach = res.events[res.events["kind"] == "var_limit_breach"]
    breaches = {md.index.get_loc(t): d for t, d in zip(breach["timestamp"], breach["details"], strict=True)}
    decisions = sorted(set(md.index.get_indexer(res.fills["timestamp"])) | set(cut_bars) | set(breaches))
    assert decisions
    n_breach = n_checked = 0
    for t in decisions:
        if t < 2:
            continue
        var = _var(pos[t], close, t, window, conf)
        cap = limit / 100.0 * eq[t]
        d = cut_bars.get(t, breaches.get(t))
        if t in breaches:
            # no scaling of the orders holds the limit (the book without them is above it): the
            # least risky scale was taken, never riskier than what was asked
            assert var <= d["var_before"] * (1 + 1e-9) + 1e-9
            assert abs(d["var_after"] - var) <= 1e-6 * max(1.0, var)
            n_breach += 1
            continue
        assert var <= cap * (1 + 1e-7) + 1e-7, (t, var, cap)
        n_checked += 1
        if d is not None:
            assert abs(d["var_after"] - var) <= 1e-6 * max(1.0, var)
    assert n_checked > 0 or n_breach > 0
