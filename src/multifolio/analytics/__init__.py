"""Metrics from a Result: returns, risk, drawdowns, attribution, concurrency, kill switch, the five answers.

Everything takes a ``Result`` (or any object with its attributes) and returns plain dicts and frames.
"""

from multifolio.analytics.concurrency import crash_bars, equal_weight_index, fill_concurrency
from multifolio.analytics.drawdown import drawdown_episodes, drawdown_series, max_drawdown_pct
from multifolio.analytics.five_answers import five_answers
from multifolio.analytics.kill_switch import kill_switch_episodes, kill_switch_events, kill_switch_summary
from multifolio.analytics.metrics import compute_metrics
from multifolio.analytics.per_asset import per_asset_table

__all__ = ["compute_metrics", "crash_bars", "drawdown_episodes", "drawdown_series", "equal_weight_index",
           "fill_concurrency", "five_answers", "kill_switch_episodes", "kill_switch_events",
           "kill_switch_summary", "max_drawdown_pct", "per_asset_table"]
