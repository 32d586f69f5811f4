"""Top-N: hold the k assets with the highest score (momentum by default) at 1/k each.

The whole weight matrix is known after ``init`` (each row ranks that row's scores only), so where nothing
else needs Python the simulator runs the bars compiled (``run_bars``), with the result ``on_bar`` gives.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from multifolio.engine.compiled import BarRun
from multifolio.engine.strategy import Strategy
from multifolio.strategies._params import positive_int
from multifolio.strategies._params import schedule as check_schedule


def momentum(close: np.ndarray, lookback: int) -> np.ndarray:
    """close[t] / close[t - lookback] - 1 (NaN where either end is missing): causal, T x N."""
    out = np.full(close.shape, np.nan)
    if close.shape[0] > lookback:
        out[lookback:] = close[lookback:] / close[:-lookback] - 1.0
    return out


def top_k_weight_matrix(scores: np.ndarray, k: int) -> np.ndarray:
    """``top_k_weights`` for every row of a T x N score matrix at once (rows with no score: NaN).

    Selection by partition, O(T x N): the k-th largest score of each row is the threshold; every score
    above it is taken, and ties at the threshold go to the lowest columns (as a stable sort would).

    >>> top_k_weight_matrix(np.array([[0.1, 0.3, 0.2], [np.nan, np.nan, np.nan]]), 1).tolist()
    [[0.0, 1.0, 0.0], [nan, nan, nan]]
    """
    n_bars, n_assets = scores.shape
    valid = np.isfinite(scores)
    keyed = np.where(valid, scores, -np.inf)
    kk = min(k, n_assets)
    kth = -np.partition(-keyed, kk - 1, axis=1)[:, kk - 1:kk]      # k-th largest per row
    above = keyed > kth
    at = (keyed == kth) & valid
    room = kk - above.sum(axis=1, keepdims=True)                     # ties still admitted
    take = above | (at & (np.cumsum(at, axis=1) <= room))
    w = np.where(take, 1.0 / k, 0.0)
    w[~valid.any(axis=1)] = np.nan
    return w


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
        self._weights: np.ndarray | None = None

    def init(self, ctx: Any) -> None:
        if self.score is not None:
            scores = ctx.data.field(self.score)
        else:
            scores = momentum(ctx.data.close, self.lookback)
        # every row's ranking uses that row's scores only, so computing them all up front is causal
        self._weights = top_k_weight_matrix(np.where(ctx.data.tradable, scores, np.nan), self.k)

    def on_bar(self, ctx: Any) -> None:
        row = self._weights[ctx.bar]
        if np.isnan(row[0]):
            return
        ctx.target_weights(row)

    def run_bars(self, run: BarRun, t0: int, t1: int) -> None:
        """Bars t0..t1-1 without Python: the decisions are rows of the weight matrix made in ``init``
        (a row without any score is all NaN: no order, as in ``on_bar``)."""
        run.target_rows(self._weights, t0, t1)
