"""What every risk rule shares: the hooks, a self-description, and the checks of common parameters.

A rule has ``init(ctx)`` (once), ``on_bar(ctx)`` (every bar after marking, even while the strategy is
paused: account-level actions such as ``close_all``, ``pause``, ``halt``, ``reduce_only``) and may define
``pre_trade(view, batch)`` (every market-type order batch of the strategy) and ``pre_limits(view,
batch)`` (resting orders as they are placed), which cut, scale or drop orders through the batch (see
``multifolio.engine.batch``). ``describe()`` says what the rule is, for the run's ``RunInfo``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from multifolio.engine.run_info import RuleInfo

MODES = ("record", "flatten", "halt")


def check_mode(mode: str, rule: str) -> str:
    if mode not in MODES:
        raise ValueError(f"{rule} mode must be one of {list(MODES)}, got {mode!r}")
    return mode


def check_threshold(threshold: float, rule: str) -> float:
    try:
        x = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"{rule} threshold must be a number of percent, got {threshold!r}") from None
    if isinstance(threshold, bool) or not math.isfinite(x) or not 0.0 < x < 100.0:
        raise ValueError(f"{rule} threshold is a % of equity and must be in (0, 100), got {threshold!r}")
    return x


class RiskRule:
    """Base class of the built-in rules; any object with ``init`` and ``on_bar`` works as a rule.

    ``name`` is the registry name; ``PARAMS`` the constructor parameters that ``describe()`` reports.
    """

    name: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[str, ...]] = ()
    #: A breaker whose ``on_bar`` reads nothing but the bar, its time and the end-of-bar equity, and
    #: in ``record`` mode only logs events (``KillSwitch``, ``MaxDrawdownBreaker``).
    WATCHES_EQUITY_ONLY: ClassVar[bool] = False

    def init(self, ctx: Any) -> None:
        """Called once before the first bar."""

    def on_bar(self, ctx: Any) -> None:
        """Called every bar after marking, before the strategy."""

    @property
    def watches_bars(self) -> bool:
        """Whether the rule's ``on_bar`` does anything: the simulator steps into Python at every bar
        only for rules that do (an order-screening rule is called on the strategy's decisions)."""
        return type(self).on_bar is not RiskRule.on_bar

    @property
    def replays_after_run(self) -> bool:
        """Whether the rule may watch a compiled run afterwards: a breaker in ``record`` mode never trades,
        pauses or screens, so its ``on_bar`` replayed over the finished run's bars (each end-of-bar equity
        final in ``next_open`` execution) logs the same events as it would have bar by bar."""
        return self.WATCHES_EQUITY_ONLY and getattr(self, "mode", None) == "record"

    def act(self, ctx: Any, mode: str, reason: str, pause_bars: int) -> None:
        """What a breaker does once it fires: ``record`` nothing more, ``flatten`` close everything and
        pause the strategy for ``pause_bars``, ``halt`` close everything and stop trading."""
        if mode in ("flatten", "halt"):
            ctx.close_all(reason=reason)
        if mode == "flatten":
            ctx.pause(int(ctx.bar) + pause_bars)
        elif mode == "halt":
            ctx.halt()

    def describe(self) -> RuleInfo:
        return RuleInfo(self.name or type(self).__name__, {k: getattr(self, k) for k in self.PARAMS})


def describe_rule(rule: Any) -> RuleInfo:
    """A rule's self-description; a rule without ``describe`` is named by its class."""
    describe = getattr(rule, "describe", None)
    if callable(describe):
        return describe()
    return RuleInfo(type(rule).__name__, {})
