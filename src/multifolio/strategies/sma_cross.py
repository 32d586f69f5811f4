"""SMA cross: long an asset while its fast SMA is above its slow SMA, at 1/N of the book each.

Its decisions follow from the signals alone (which assets cross, bar by bar), so where nothing else needs
Python the simulator runs the bars compiled (``run_bars``), with the result ``on_bar`` gives.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numba as nb
import numpy as np

from multifolio.engine.compiled import BarRun
from multifolio.engine.strategy import Strategy
from multifolio.strategies._params import positive_int
from multifolio.strategies.indicators import sma


class SmaCross(Strategy):
    """Per asset: enter long at weight 1/N when SMA(fast) crosses above SMA(slow), exit when below.

    Only assets whose signal changes are traded, so open positions are not rebalanced every bar.

    >>> SmaCross(fast=5, slow=20).fast
    5
    """

    name: ClassVar[str] = "sma_cross"
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {
        "fast": (int, 10, "fast SMA period (bars)"),
        "slow": (int, 50, "slow SMA period (bars)"),
    }

    def __init__(self, fast: int = 10, slow: int = 50) -> None:
        self.fast = positive_int("fast", fast)
        self.slow = positive_int("slow", slow)
        if self.fast >= self.slow:
            raise ValueError(f"fast ({fast}) must be smaller than slow ({slow})")
        self.schedule = "every_bar"
        self._signal: np.ndarray | None = None
        self._held: np.ndarray | None = None

    def init(self, ctx: Any) -> None:
        close = ctx.data.close
        fast, slow = sma(close, self.fast), sma(close, self.slow)
        with np.errstate(invalid="ignore"):
            sig = np.where(np.isnan(fast) | np.isnan(slow), np.nan, (fast > slow).astype(float))
        self._signal = sig
        self._tradable = ctx.data.tradable
        self._held = np.zeros(ctx.n_assets, dtype=bool)
        self._targets: np.ndarray | None = None       # run_bars' target rows (made on its first call)

    def on_bar(self, ctx: Any) -> None:
        sig = self._signal[ctx.bar]
        want = sig == 1.0
        known = ~np.isnan(sig) & ctx.tradable
        change = known & (want != self._held)
        if not change.any():
            return
        target = np.full(ctx.n_assets, np.nan)
        target[change] = np.where(want[change], 1.0 / ctx.n_assets, 0.0)
        self._held[change] = want[change]
        ctx.target_weights(target, reason="signal")

    def run_bars(self, run: BarRun, t0: int, t1: int) -> None:
        """Bars t0..t1-1 without Python: ``on_bar``'s targets of every decision bar, worked out from the
        signals once (the assets held change only where a signal does)."""
        if self._targets is None:
            self._targets = _cross_targets(self._signal, self._tradable, run.decide, 1.0 / len(self._held),
                                           self._held)
        run.target_rows(self._targets, t0, t1, reason="signal")


@nb.njit(cache=True)
def _cross_targets(signal, tradable, decide, weight, held):  # pragma: no cover - numba
    """``on_bar``'s target row of every decision bar (NaN: no order), ``held`` updated as it goes."""
    out = np.full(signal.shape, np.nan)
    for t in range(signal.shape[0]):
        if not decide[t]:
            continue
        for j in range(signal.shape[1]):
            s = signal[t, j]
            if s != s or not tradable[t, j]:
                continue
            want = s == 1.0
            if want != held[j]:
                out[t, j] = weight if want else 0.0
                held[j] = want
    return out
