"""Built-in strategies by name (for configs and ``multifolio strategies``)."""

from __future__ import annotations

from multifolio.engine.strategy import Strategy
from multifolio.strategies.allocate import Allocate
from multifolio.strategies.equal_weight import EqualWeight
from multifolio.strategies.grid_atr import GridATR
from multifolio.strategies.mean_reversion import MeanReversion
from multifolio.strategies.signals import Signals
from multifolio.strategies.sma_cross import SmaCross
from multifolio.strategies.top_n import TopN

STRATEGIES: dict[str, type[Strategy]] = {
    "equal_weight": EqualWeight,
    "top_n": TopN,
    "sma_cross": SmaCross,
    "grid_atr": GridATR,
    "signals": Signals,
    "allocate": Allocate,
    "mean_reversion": MeanReversion,
}
