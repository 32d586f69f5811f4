"""A strategy of your own on one shared account: 24-hour breakouts with stop-loss/take-profit brackets.

Each hour, every pair whose close breaks above its previous 24-hour high is bought for a fixed slice
of equity, with a stop-loss 3% below and a take-profit 6% above the close (a bracket, active from the
next bar). All pairs draw on the same cash, so in a broad rally later breakouts find less cash: the
engine scales the batch and logs it. A kill switch records every 15% drop within 24 hours.

    python examples/breakout_brackets.py            # 60 days of the bundled crypto sample
    python examples/breakout_brackets.py 120        # or another number of days
"""

from __future__ import annotations

import sys

import numpy as np

import multifolio as mf
from multifolio.data import samples
from multifolio.portfolio.risk import KillSwitch


class Breakout(mf.Strategy):
    """Buy a slice of equity on a new 24-bar high; exits are left to the bracket orders."""

    schedule = "every_bar"

    def __init__(self, lookback: int = 24, slice_pct: float = 10.0, stop_pct: float = 3.0,
                 target_pct: float = 6.0) -> None:
        self.lookback, self.slice = lookback, slice_pct / 100.0
        self.stop, self.target = stop_pct / 100.0, target_pct / 100.0

    def on_bar(self, ctx) -> None:
        highs = ctx.history("high", self.lookback + 1)
        if len(highs) <= self.lookback:
            return  # not warm yet
        prior_high = np.nanmax(highs[:-1], axis=0)
        close = ctx.close
        flat = ctx.positions == 0
        breakout = flat & ctx.tradable & (close > prior_high)
        for j in np.flatnonzero(breakout):
            ctx.order(ctx.symbols[j], notional=self.slice * ctx.equity,
                      stop_loss=close[j] * (1 - self.stop), take_profit=close[j] * (1 + self.target),
                      tag="breakout")


def main(days: float = 60) -> mf.Result:
    data = samples.crypto_hourly()
    start = data.index[-int(days * 24)]                     # the last `days` of hourly bars
    warmup = data.index[-int(days * 24) - 48]               # 48 bars for the 24-bar high to warm up
    result = mf.backtest(data.slice(warmup, None), Breakout(),
                         cash=10_000, fees=0.001, slippage=0.0005, start=start,
                         risk=[KillSwitch(window=24, threshold=15)])
    m = result.metrics
    print(result)
    print(f"return {m['total_return_pct']:+.1f}%, max drawdown {m['max_drawdown_pct']:.1f}%, "
          f"{m['total_trades']} trades, win rate {m['win_rate']:.0f}%, "
          f"peak {m['peak_concurrent_assets']} assets held at once, "
          f"kill switch fired {m['kill_switch_triggers']} times")
    print(result.trades["exit_reason"].astype(str).value_counts().to_string())
    return result


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60)
