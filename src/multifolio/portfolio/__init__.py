"""Portfolios on the shared clock: risk rules on every order and on the account, and run specs.

>>> from multifolio.portfolio import RunSpec, make_rule
>>> make_rule("kill_switch").describe().name
'kill_switch'
"""

from multifolio.portfolio.risk import RISK_RULES, KillSwitch, MaxDrawdownBreaker, RiskRule, make_rule
from multifolio.portfolio.spec import AccountSpec, RuleSpec, RunSpec, build_rules, build_strategy

__all__ = ["RISK_RULES", "AccountSpec", "KillSwitch", "MaxDrawdownBreaker", "RiskRule", "RuleSpec", "RunSpec",
           "build_rules", "build_strategy", "make_rule"]
