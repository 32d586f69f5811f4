"""multifolio: multi-asset portfolio backtesting on shared capital."""

from multifolio.data import MarketData, MarketDataError

__version__ = "0.1.0"

__all__ = ["MarketData", "MarketDataError", "__version__"]
