"""Allocation models: ``model.weights(returns, mask=None) -> w`` and the rules around them.

Why this package lives in ``strategies``: the models are pure numeric code (a returns window in, weights
out) used both by the ``allocate`` strategy, which weighs assets, and by the allocator that weighs
portfolios. Layers import downwards only (``portfolio`` > ``strategies``), so the models sit in the lower
layer where both can import them; ``multifolio.portfolio.allocation`` re-exports this package under the
name the design documents use.

* :data:`MODELS` by name: ``equal_weight``, ``inverse_volatility``, ``risk_parity`` (risk budgets too),
  ``min_variance`` (long-only), ``max_diversification``, ``hrp``, ``performance_weighted``; and
  ``skfolio:<Estimator>`` through :func:`make_model`.
* Covariance estimators (``covariance=``): ``sample``, ``ledoit_wolf``, ``ewma`` (``half_life``).
* :class:`Constraints` (max/min weight, max positions, max correlation, cash buffer, long/short limits),
  :class:`RebalanceRule` (schedule, drift trigger, minimum trade).
* Risk figures: :func:`risk_contributions`, :func:`diversification_ratio`, :func:`efficient_frontier`.

>>> import numpy as np
>>> from multifolio.strategies.allocation import make_model
>>> rng = np.random.default_rng(0)
>>> w = make_model("risk_parity").weights(rng.normal(0, 0.01, (252, 5)))
>>> round(float(w.sum()), 12), bool((w > 0).all())
(1.0, True)
"""

from multifolio.strategies.allocation.base import Allocation, AllocationModel
from multifolio.strategies.allocation.constraints import Constraints, cap_weights
from multifolio.strategies.allocation.covariance import (
    COVARIANCES,
    ewma_cov,
    ledoit_wolf,
    make_covariance,
    sample_cov,
)
from multifolio.strategies.allocation.hrp import HRPModel, hrp_weights
from multifolio.strategies.allocation.models import (
    EqualWeightModel,
    InverseVolatilityModel,
    MaxDiversificationModel,
    MinVarianceModel,
    PerformanceWeightedModel,
    RiskParityModel,
)
from multifolio.strategies.allocation.rebalance import RebalanceRule, weight_drift
from multifolio.strategies.allocation.registry import MODELS, make_model
from multifolio.strategies.allocation.risk import (
    diversification_ratio,
    efficient_frontier,
    risk_contributions,
)
from multifolio.strategies.allocation.skfolio_model import SkfolioModel
from multifolio.strategies.allocation.solvers import risk_budget_weights, simplex_qp

__all__ = [
    "COVARIANCES", "MODELS", "Allocation", "AllocationModel", "Constraints", "EqualWeightModel", "HRPModel",
    "InverseVolatilityModel", "MaxDiversificationModel", "MinVarianceModel", "PerformanceWeightedModel",
    "RebalanceRule", "RiskParityModel", "SkfolioModel", "cap_weights", "diversification_ratio",
    "efficient_frontier", "ewma_cov", "hrp_weights", "ledoit_wolf", "make_covariance", "make_model",
    "risk_budget_weights", "risk_contributions", "sample_cov", "simplex_qp", "weight_drift",
]
