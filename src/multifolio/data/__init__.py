from multifolio.data.errors import MarketDataError
from multifolio.data.market_data import MarketData

__all__ = ["MarketData", "MarketDataError"]
