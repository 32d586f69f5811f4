"""multifolio: multi-asset portfolio backtesting on shared capital.

>>> import multifolio as mf
>>> sorted(n for n in ("from_weights", "backtest", "Strategy", "MarketData") if hasattr(mf, n))
['MarketData', 'Strategy', 'backtest', 'from_weights']
"""

from multifolio.api import backtest, from_weights
from multifolio.data import MarketData, MarketDataError
from multifolio.engine.strategy import Strategy
from multifolio.result import Result

__version__ = "0.1.0"

__all__ = ["MarketData", "MarketDataError", "Result", "Strategy", "backtest", "from_weights", "__version__"]
