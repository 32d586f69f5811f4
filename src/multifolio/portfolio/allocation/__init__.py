"""``multifolio.portfolio.allocation``: the allocation models, constraints and rebalancing rules.

The implementation lives in :mod:`multifolio.strategies.allocation` (pure numeric code below both the
``allocate`` strategy and the portfolio allocator in the layer order); this module re-exports it under
the name the design uses.

>>> from multifolio.portfolio.allocation import MODELS
>>> sorted(MODELS)[:3]
['equal_weight', 'hrp', 'inverse_volatility']
"""

from multifolio.strategies.allocation import *  # noqa: F403
from multifolio.strategies.allocation import __all__  # noqa: F401
