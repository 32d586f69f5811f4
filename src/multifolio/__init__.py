"""multifolio: multi-asset portfolio backtesting on shared capital.

>>> import multifolio as mf
>>> sorted(n for n in ("from_weights", "backtest", "Strategy", "MarketData") if hasattr(mf, n))
['MarketData', 'Strategy', 'backtest', 'from_weights']
"""

from multifolio import portfolio
from multifolio.api import (
           backtest,
           backtest_portfolios,
           from_weights,
           from_weights_portfolios,
           optimize,
           run_spec,
)
from multifolio.data import MarketData, MarketDataError
from multifolio.engine.instruments import Instrument
from multifolio.engine.run_info import RunInfo
from multifolio.engine.strategy import Strategy
from multifolio.portfolio.allocator import CapitalAllocator
from multifolio.portfolio.portfolios import Portfolio
from multifolio.portfolio.spec import AccountSpec, RuleSpec, RunSpec
from multifolio.result import MultiResult, Result

__version__ = "0.1.0"

__all__ = ["AccountSpec", "CapitalAllocator", "Instrument", "MarketData", "MarketDataError", "MultiResult",
           "Portfolio",
           "Result", "RuleSpec", "RunInfo", "RunSpec", "Strategy", "backtest", "backtest_portfolios",
           "from_weights", "from_weights_portfolios", "optimize", "portfolio", "run_spec", "__version__"]
