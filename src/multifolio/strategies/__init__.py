"""Built-in strategies: equal weight, top-N by score, SMA cross, ATR grid."""

from multifolio.strategies.equal_weight import EqualWeight
from multifolio.strategies.grid_atr import GridATR
from multifolio.strategies.sma_cross import SmaCross
from multifolio.strategies.top_n import TopN

__all__ = ["EqualWeight", "GridATR", "SmaCross", "TopN"]
