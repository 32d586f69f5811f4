"""Small markets and scripted strategies for the risk-rule tests."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

import multifolio as mf
from multifolio.engine.strategy import Strategy


class Script(Strategy):
    """Runs ``steps[bar](ctx)`` at the given bars and nothing else."""

    def __init__(self, steps: dict[int, Callable]) -> None:
        self.steps = steps

    def on_bar(self, ctx) -> None:
        step = self.steps.get(ctx.bar)
        if step is not None:
            step(ctx)


def market(**closes: list[float]) -> mf.MarketData:
    n = len(next(iter(closes.values())))
    idx = pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC")
    return mf.MarketData.from_frames(pd.DataFrame(closes, index=idx))


def run(md: mf.MarketData, steps: dict[int, Callable], rules: list, **kw) -> mf.Result:
    """Close-mode run (screened and filled at the same prices), no end-of-data close."""
    kw.setdefault("cash", 1_000.0)
    return mf.backtest(md, Script(steps), execution="close", close_at_end=False, risk=rules, **kw)


def risk_events(res: mf.Result, rule: str | None = None) -> list[dict]:
    ev = res.events[res.events["kind"] == "risk"]
    out = []
    for t, sym, d in zip(ev["timestamp"], ev["symbol"], ev["details"], strict=True):
        if rule is None or d["rule"] == rule:
            out.append({"timestamp": t, "symbol": sym, **d})
    return out
