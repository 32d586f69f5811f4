"""Strategy base class and decision schedules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from multifolio.engine.run_info import StrategyInfo

SCHEDULES = ("every_bar", "daily", "weekly", "monthly")


def decision_mask(index: pd.DatetimeIndex, schedule: str | int, start_bar: int = 0) -> np.ndarray:
    """Bars at which ``on_bar`` runs: every bar, every N bars, or the last bar of each day/week/month,
    and always the run's first bar ``start_bar`` (the first bar after the warm-up).

    A calendar schedule decides on the last bar of each period (the close of the period, e.g. month end),
    so that with ``execution="next_open"`` it trades at the first open of the next period. The last bar of
    the data always counts as a period end. The run's first bar is a decision too, so a monthly strategy
    invests at once instead of waiting for the first month end (a strategy that lacks history there
    places nothing). Every N bars counts from ``start_bar``. Bars before ``start_bar`` are warm-up (the
    simulator clears them).

    >>> idx = pd.date_range("2024-01-04", periods=30, freq="D", tz="UTC")    # 4 Jan .. 2 Feb
    >>> [str(t.date()) for t in idx[decision_mask(idx, "monthly")]]
    ['2024-01-04', '2024-01-31', '2024-02-02']
    >>> [str(t.date()) for t in idx[decision_mask(idx, "monthly", start_bar=3)]]   # a run from 7 Jan
    ['2024-01-07', '2024-01-31', '2024-02-02']
    """
    n = len(index)
    start_bar = int(start_bar)
    if not 0 <= start_bar <= max(n - 1, 0):
        raise ValueError(f"start_bar must be in [0, {max(n - 1, 0)}], got {start_bar}")
    if isinstance(schedule, (int, np.integer)) and not isinstance(schedule, bool):
        if schedule < 1:
            raise ValueError(f"schedule: every N bars needs N >= 1, got {schedule}")
        mask = np.zeros(n, dtype=bool)
        mask[start_bar::int(schedule)] = True
        return mask
    if schedule == "every_bar":
        return np.ones(n, dtype=bool)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES} or an int (every N bars), got {schedule!r}")
    if n == 0:
        return np.zeros(0, dtype=bool)
    naive = index.tz_convert("UTC").tz_localize(None)
    days = naive.to_numpy().astype("datetime64[D]").astype(np.int64)   # any datetime unit
    if schedule == "daily":
        key = days
    elif schedule == "weekly":
        key = (days + 3) // 7          # 1970-01-01 was a Thursday: weeks start on Monday
    else:
        key = np.asarray(naive.year * 12 + naive.month)
    mask = np.empty(n, dtype=bool)
    mask[:-1] = key[1:] != key[:-1]
    mask[-1] = True
    mask[start_bar] = True     # the run's first bar: invest at once, not at the first period end
    return mask


class Strategy:
    """Base class: override ``init(ctx)`` (once) and ``on_bar(ctx)`` (at each decision bar).

    ``schedule`` limits when ``on_bar`` runs: ``"every_bar"`` (default), ``"daily"``, ``"weekly"``,
    ``"monthly"`` (last bar of each period, and the run's first bar) or an int N (every N bars from the
    run's first bar). Orders go through the context's
    verbs (``ctx.target_weights``, ``ctx.order``, ``ctx.place_limits``, ...); see ``Context``.

    >>> import numpy as np
    >>> class Hold(Strategy):
    ...     def on_bar(self, ctx):
    ...         ctx.target_weights(np.full(ctx.n_assets, 1.0 / ctx.n_assets))
    >>> Hold().schedule
    'every_bar'
    """

    schedule: str | int = "every_bar"
    name: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {}

    def init(self, ctx: Any) -> None:
        """Called once before the first bar; precompute causal indicators from ``ctx.data`` here."""

    def on_bar(self, ctx: Any) -> None:
        """Called at each decision bar with the cross-section up to and including ``ctx.time``."""

    def describe(self) -> StrategyInfo:
        """Name and parameters, for the run's ``RunInfo`` (``PARAMS`` names the reported ones)."""
        params = {k: getattr(self, k) for k in self.PARAMS if hasattr(self, k)}
        return StrategyInfo(self.name or type(self).__name__, params)

    def min_capital_per_asset(self, symbols: Sequence[str], min_notional: np.ndarray) -> np.ndarray:
        """Per asset, the smallest budget whose smallest order meets the exchange minimum notional.

        By default an asset's order is its whole budget, so the budget must reach ``min_notional``; a
        strategy that splits its budget into smaller orders (a grid's levels) says so by overriding this.
        """
        return np.asarray(min_notional, dtype=np.float64).copy()


def offers_compiled_bars(strategy: Strategy) -> bool:
    """Does the strategy run its bars compiled (``run_bars``) with the decisions its ``on_bar`` makes?

    Only when the class that defines ``run_bars`` also defines ``on_bar`` and no subclass below it
    overrides ``init``: a subclass that changes the decisions in Python (a custom ``on_bar`` on top of
    ``TopN``) is driven through its ``on_bar``, never through the parent's compiled twin.
    """
    def owner(name: str) -> type | None:
        return next((c for c in type(strategy).__mro__ if name in c.__dict__), None)

    runs = owner("run_bars")
    if runs is None or not callable(runs.__dict__["run_bars"]):
        return False
    init = owner("init")
    return owner("on_bar") is runs and (init is None or issubclass(runs, init))
