"""``skfolio:<Estimator>``: fit any skfolio optimisation estimator on the window (extra ``[optimize]``).

The estimator is built by name from ``skfolio.optimization`` with the given parameters; enum parameters
may be given as strings (``risk_measure: variance``, ``objective_function: minimize_risk``). Its
``weights_`` may be negative or sum to less than 1 (long/short or budget settings); the constraints of
the ``allocate`` strategy then apply as to any model.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from multifolio.strategies.allocation.base import AllocationModel

_ENUMS = {"risk_measure": "RiskMeasure", "objective_function": "ObjectiveFunction"}


class SkfolioModel(AllocationModel):
    """Wraps ``skfolio.optimization.<estimator>(**params)``: each fit is ``estimator.fit(window)``.

    >>> SkfolioModel("InverseVolatility").name
    'skfolio:InverseVolatility'
    """

    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {
        "estimator": (str, None, "a class of skfolio.optimization (MeanRisk, RiskBudgeting, ...)"),
        "params": (dict, None, "its keyword arguments"),
    }
    uses_cov: ClassVar[bool] = False

    def __init__(self, estimator: str, **params: Any) -> None:
        super().__init__()
        self.estimator = str(estimator)
        self.params = dict(params)
        self.name = f"skfolio:{self.estimator}"   # type: ignore[misc]
        self._cls: Any = None

    def _build(self) -> Any:
        if self._cls is None:
            try:
                import skfolio.measures as measures
                import skfolio.optimization as opt
            except ImportError as e:  # pragma: no cover - depends on the environment
                raise ImportError("skfolio models need the optimize extra: "
                                  "pip install 'multifolio[optimize]'") from e
            cls = getattr(opt, self.estimator, None)
            if not isinstance(cls, type):
                names = sorted(n for n in dir(opt) if n[:1].isupper())
                raise ValueError(f"unknown skfolio estimator {self.estimator!r}; known: {', '.join(names)}")
            self._cls = cls
            self._measures = measures
            self._opt = opt
        kw = {}
        for k, v in self.params.items():
            if k in _ENUMS and isinstance(v, str):
                enum = getattr(self._measures, _ENUMS[k], None) or getattr(self._opt, _ENUMS[k])
                v = enum[v.upper()]
            kw[k] = v
        return self._cls(**kw)

    def _weights(self, x: np.ndarray, cov: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
        est = self._build()
        est.fit(x)
        return np.asarray(est.weights_, dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}
