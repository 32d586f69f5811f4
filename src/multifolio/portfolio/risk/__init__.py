"""Portfolio risk rules: checks on the account after marking, and on every order before it is queued.

A rule has ``init(ctx)`` (once) and ``on_bar(ctx)`` (every bar, even while the strategy is paused). It
reads the account through ``ctx`` and may act with the context verbs (``close_all``, ``pause``, ``halt``,
``reduce_only``) and ``ctx.log_event``. A rule may also screen every order of the strategy before it
reaches the account: ``pre_trade(view, batch)`` for market-type batches, ``pre_limits(view, batch)`` for
resting orders (see :class:`~multifolio.portfolio.risk.base.RiskRule`).

* :class:`KillSwitch` -- equity down ``threshold`` % or more from its peak within a rolling ``window``
  of hours; modes ``record`` (count only), ``flatten`` (close everything, pause for the window),
  ``halt`` (close everything, stop trading).
* :class:`MaxDrawdownBreaker` -- the same actions when equity is ``threshold`` % below its all-time peak
  (its exits carry the reason ``max_drawdown``).

Order screening (``pre_trade``), each cut logged with the figures behind it: :class:`CorrelationSizing`,
:class:`VarLimit`, :class:`RiskPerTrade`, :class:`DrawdownScaling`, :class:`MaxPositions`,
:class:`MaxWeight`, :class:`MaxGrossLeverage`, :class:`MaxCorrelation`; account level:
:class:`PortfolioStop` (close and halt, or reducing-only; optional re-arm after a cool-down).

Rules are registered by name in :data:`RISK_RULES` for configuration files::

    risk:
      - {rule: kill_switch, window: 24, threshold: 30, mode: record}
"""

from __future__ import annotations

from typing import Any

from multifolio.portfolio.risk.base import RiskRule, describe_rule
from multifolio.portfolio.risk.correlation_sizing import CorrelationSizing
from multifolio.portfolio.risk.drawdown_scaling import DrawdownScaling
from multifolio.portfolio.risk.kill_switch import KillSwitch
from multifolio.portfolio.risk.max_correlation import MaxCorrelation
from multifolio.portfolio.risk.max_drawdown import MaxDrawdownBreaker
from multifolio.portfolio.risk.max_gross_leverage import MaxGrossLeverage
from multifolio.portfolio.risk.max_positions import MaxPositions
from multifolio.portfolio.risk.max_weight import MaxWeight
from multifolio.portfolio.risk.portfolio_stop import PortfolioStop
from multifolio.portfolio.risk.risk_per_trade import RiskPerTrade
from multifolio.portfolio.risk.var_limit import VarLimit

__all__ = ["CorrelationSizing", "DrawdownScaling", "KillSwitch", "MaxCorrelation", "MaxDrawdownBreaker",
           "MaxGrossLeverage", "MaxPositions", "MaxWeight", "PortfolioStop", "RISK_RULES", "RiskPerTrade",
           "RiskRule", "VarLimit", "describe_rule", "make_rule"]

RISK_RULES: dict[str, type] = {
    "kill_switch": KillSwitch,
    "max_drawdown": MaxDrawdownBreaker,
    "correlation_sizing": CorrelationSizing,
    "var_limit": VarLimit,
    "risk_per_trade": RiskPerTrade,
    "drawdown_scaling": DrawdownScaling,
    "portfolio_stop": PortfolioStop,
    "max_positions": MaxPositions,
    "max_weight": MaxWeight,
    "max_gross_leverage": MaxGrossLeverage,
    "max_correlation": MaxCorrelation,
}


def make_rule(spec: str | dict[str, Any] | Any) -> Any:
    """A rule from a name, a ``{"rule": name, **params}`` dict, or an object already built.

    >>> make_rule({"rule": "kill_switch", "threshold": 20}).threshold
    20.0
    """
    if hasattr(spec, "on_bar"):
        return spec
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, dict):
        params = dict(spec)
        name = params.pop("rule", None) or params.pop("name", None)
        if name is None:
            raise ValueError(f"risk rule spec {spec!r} lacks 'rule' (one of {sorted(RISK_RULES)})")
    else:
        raise ValueError(f"risk rule must be a name, a dict or a rule object, got {spec!r}")
    try:
        cls = RISK_RULES[name]
    except KeyError:
        raise ValueError(f"unknown risk rule {name!r}; known: {sorted(RISK_RULES)}") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"risk rule {name!r}: {exc}") from None
