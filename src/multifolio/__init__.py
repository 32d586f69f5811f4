"""multifolio: multi-asset portfolio backtesting on shared capital.

>>> import multifolio as mf
>>> sorted(n for n in ("from_weights", "backtest", "Strategy", "MarketData") if hasattr(mf, n))
['MarketData', 'Strategy', 'backtest', 'from_weights']
"""

from multifolio import portfolio
from multifolio.api import backtest, from_weights, optimize, run_spec
from multifolio.data import MarketData, MarketDataError
from multifolio.engine.run_info import RunInfo
from multifolio.engine.strategy import Strategy
from multifolio.portfolio.spec import AccountSpec, RuleSpec, RunSpec
from multifolio.result import Result

__version__ = "0.1.0"

__all__ = ["AccountSpec", "MarketData", "MarketDataError", "Result", "RuleSpec", "RunInfo", "RunSpec",
           "Strategy", "backtest", "from_weights", "optimize", "portfolio", "run_spec", "__version__"]
