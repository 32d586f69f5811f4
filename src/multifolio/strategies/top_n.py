"""Top-N: hold the k assets with the highest score (momentum by default) at 1/k each."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from multifolio.engine.strategy import Strategy
from multifolio.strategies._params import positive_int
from multifolio.strategies._params import schedule as check_schedule


def momentum(close: np.ndarray, lookback: int) -> np.ndarray:
    """close[t] / close[t - lookback] - 1 (NaN where either end is missing): causal, T x N."""
    out = np.full(close.shape, np.nan)
    if close.shape[0] > lookback:
        out[lookback:] = close[lookback:] / close[:-lookback] - 1.0
    return out


def top_k_weights(scores: np.ndarray, k: int) -> np.ndarray:
    """1/k on the k highest finite scores of a row (ties: the lower column wins), 0 elsewhere.

    >>> top_k_weights(np.array([0.1, np.nan, 0.3, 0.2]), 2).tolist()
    [0.0, 0.0, 0.5, 0.5]
    """
    w = np.zeros(scores.shape[0])
    valid = np.isfinite(scores)
    n_valid = int(valid.sum())
    if n_valid == 0:
        return w
    keyed = np.where(valid, scores, -np.inf)
    order = np.argsort(-keyed, kind="stable")[: min(k, n_valid)]
    w[order] = 1.0 / k
    return w


class TopN(Strategy):
    """Each decision bar, hold the ``k`` best-scoring tradable assets at ``1/k`` each.

    The score is ``lookback``-bar momentum of the close, or any extra field of the MarketData
    (``score="my_signal"``), read at the decision bar. Assets without a bar are not selected.

    >>> TopN(k=3, lookback=20).k
    3
    """

    name: ClassVar[str] = "top_n"
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {
        "k": (int, 10, "number of assets held"),
        "lookback": (int, 20, "momentum lookback in bars (when no score field is given)"),
        "score": (str, None, "name of a MarketData field to rank by instead of momentum"),
        "schedule": (str, "monthly", "every_bar | daily | weekly | monthly | N (every N bars)"),
    }

    def __init__(self, k: int = 10, lookback: int = 20, score: str | None = None,
                 schedule: str | int = "monthly") -> None:
        self.k = positive_int("k", k)
        self.lookback = positive_int("lookback", lookback)
        self.score = score
        self.schedule = check_schedule(schedule)
        self._scores: np.ndarray | None = None

    def init(self, ctx: Any) -> None:
        if self.score is not None:
            scores = ctx.data.field(self.score)
        else:
            scores = momentum(ctx.data.close, self.lookback)
        self._scores = np.where(ctx.data.tradable, scores, np.nan)

    def on_bar(self, ctx: Any) -> None:
        row = self._scores[ctx.bar]
        if not np.isfinite(row).any():
            return
        ctx.target_weights(top_k_weights(row, self.k))
