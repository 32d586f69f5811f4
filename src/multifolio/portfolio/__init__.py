"""Portfolio-level rules on the shared account: risk rules (kill switch, drawdown breaker)."""

from multifolio.portfolio.risk import RISK_RULES, KillSwitch, MaxDrawdownBreaker, make_rule

__all__ = ["RISK_RULES", "KillSwitch", "MaxDrawdownBreaker", "make_rule"]
