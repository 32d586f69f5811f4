"""Allocation models by name (``MODELS``) and ``make_model`` (names, ``skfolio:<Estimator>``, dicts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from multifolio.strategies.allocation.base import AllocationModel
from multifolio.strategies.allocation.hrp import HRPModel
from multifolio.strategies.allocation.models import (
    EqualWeightModel,
    InverseVolatilityModel,
    MaxDiversificationModel,
    MinVarianceModel,
    PerformanceWeightedModel,
    RiskParityModel,
)
from multifolio.strategies.allocation.skfolio_model import SkfolioModel

MODELS: dict[str, type[AllocationModel]] = {
    "equal_weight": EqualWeightModel,
    "inverse_volatility": InverseVolatilityModel,
    "risk_parity": RiskParityModel,
    "min_variance": MinVarianceModel,
    "max_diversification": MaxDiversificationModel,
    "hrp": HRPModel,
    "performance_weighted": PerformanceWeightedModel,
}


def make_model(spec: str | Mapping[str, Any] | AllocationModel, **params: Any) -> AllocationModel:
    """A model from a name (``"risk_parity"``, ``"skfolio:MeanRisk"``), a ``{"name": ..., **params}``
    dict, or a model already built; ``params`` are its keyword arguments.

    >>> make_model("risk_parity", covariance="ledoit_wolf").covariance
    'ledoit_wolf'
    >>> make_model({"name": "skfolio:RiskBudgeting", "risk_measure": "variance"}).name
    'skfolio:RiskBudgeting'
    """
    if isinstance(spec, AllocationModel):
        if params:
            raise ValueError("make_model: parameters given with a model already built")
        return spec
    if isinstance(spec, Mapping):
        d = dict(spec)
        if "name" not in d:
            raise ValueError(f"model: a dict needs a 'name', got {spec!r}")
        name = d.pop("name")
        extra = d.pop("params", {}) or {}
        return make_model(name, **{**d, **extra, **params})
    if not isinstance(spec, str):
        raise ValueError(f"model must be a name, a dict or a model, got {spec!r}")
    if spec.startswith("skfolio:"):
        est = spec.split(":", 1)[1]
        if not est:
            raise ValueError("model: 'skfolio:' needs an estimator name, e.g. skfolio:MeanRisk")
        return SkfolioModel(est, **params)
    cls = MODELS.get(spec)
    if cls is None:
        raise ValueError(f"unknown allocation model {spec!r}; "
                         f"known: {', '.join(MODELS)}, skfolio:<Estimator>")
    try:
        return cls(**params)
    except TypeError as e:
        allowed = ", ".join(cls.PARAMS) or "none"
        raise ValueError(f"model {spec!r}: {e} (parameters: {allowed})") from None
