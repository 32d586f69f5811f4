"""Native allocation models: equal weight, inverse volatility, risk parity (risk budgets), minimum
variance, maximum diversification, performance weighted. HRP is in ``hrp.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from multifolio.strategies.allocation.base import AllocationModel
from multifolio.strategies.allocation.solvers import risk_budget_weights, simplex_qp


class EqualWeightModel(AllocationModel):
    """1/k on each of the k eligible assets (a complete window; no variance needed).

    >>> EqualWeightModel().weights(np.zeros((2, 2))).tolist()
    [0.5, 0.5]
    """

    name: ClassVar[str] = "equal_weight"
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {}
    uses_cov: ClassVar[bool] = False
    needs_variance: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()

    def _weights(self, x: np.ndarray, cov: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
        return np.full(x.shape[1], 1.0 / x.shape[1])


class InverseVolatilityModel(AllocationModel):
    """Weights proportional to 1 / volatility (from the covariance estimator's diagonal).

    >>> x = np.array([[0.01, 0.02], [-0.01, -0.02]])
    >>> InverseVolatilityModel().weights(x).round(6).tolist()
    [0.666667, 0.333333]
    """

    name: ClassVar[str] = "inverse_volatility"

    def _weights(self, x: np.ndarray, cov: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
        iv = 1.0 / np.sqrt(np.diag(cov))
        return iv / iv.sum()


class RiskParityModel(AllocationModel):
    """Equal risk contribution (or the given risk ``budgets``): ``w_i (Cov w)_i / w'Cov w = b_i``.

    ``budgets``: one positive number per column of the window, normalised over the eligible assets.

    >>> x = np.array([[0.01, 0.02], [-0.01, -0.01], [0.0, 0.02], [0.01, -0.02]])
    >>> w = RiskParityModel().weights(x)
    >>> cov = np.cov(x, rowvar=False)
    >>> rc = w * (cov @ w)
    >>> bool(abs(rc[0] / rc[1] - 1) < 1e-10)
    True
    """

    name: ClassVar[str] = "risk_parity"
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {
        **AllocationModel.PARAMS,
        "budgets": (list, None, "risk budget per asset (default: equal)"),
    }

    def __init__(self, *, budgets: Sequence[float] | None = None,
                 covariance: str = "sample", half_life: float = 63.0) -> None:
        super().__init__(covariance=covariance, half_life=half_life)
        if budgets is not None:
            b = np.asarray(budgets, dtype=float)
            if b.ndim != 1 or not np.all(np.isfinite(b)) or np.any(b <= 0):
                raise ValueError(f"budgets must be positive numbers, got {budgets!r}")
            budgets = [float(v) for v in b]
        self.budgets = budgets

    def _weights(self, x: np.ndarray, cov: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
        if self.budgets is None:
            return risk_budget_weights(cov)
        if len(self.budgets) != len(ok):
            raise ValueError(f"budgets: {len(self.budgets)} given for {len(ok)} assets")
        return risk_budget_weights(cov, np.asarray(self.budgets)[ok])


class MinVarianceModel(AllocationModel):
    """Long-only minimum variance: ``min w'Cov w`` with ``sum w = 1, w >= 0`` (compiled active set).

    >>> x = np.array([[0.01, 0.02], [-0.01, -0.02], [0.01, -0.02], [-0.01, 0.02]])
    >>> MinVarianceModel().weights(x).round(6).tolist()       # uncorrelated: w ~ 1/variance
    [0.8, 0.2]
    """

    name: ClassVar[str] = "min_variance"

    def _weights(self, x: np.ndarray, cov: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
        return simplex_qp(cov)


class MaxDiversificationModel(AllocationModel):
    """Long-only maximum diversification ratio ``w'sigma / sqrt(w'Cov w)``.

    Solved as the minimum-variance portfolio ``x`` of the correlation matrix, then ``w ~ x / sigma``.

    >>> x = np.array([[0.01, 0.02], [-0.01, -0.02], [0.01, -0.02], [-0.01, 0.02]])
    >>> MaxDiversificationModel().weights(x).round(6).tolist()    # uncorrelated: w ~ 1/vol
    [0.666667, 0.333333]
    """

    name: ClassVar[str] = "max_diversification"

    def _weights(self, x: np.ndarray, cov: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
        sd = np.sqrt(np.diag(cov))
        corr = cov / np.outer(sd, sd)
        y = simplex_qp(corr) / sd
        return y / y.sum()


class PerformanceWeightedModel(AllocationModel):
    """Weights proportional to the trailing Sharpe ratio (mean / std of the window), floored at 0; equal
    weight when every Sharpe ratio is 0 or below.

    >>> x = np.array([[0.02, 0.01, -0.01], [0.0, 0.01, -0.02], [0.01, 0.0, 0.0]])
    >>> PerformanceWeightedModel().weights(x).round(4).tolist()
    [0.4641, 0.5359, 0.0]
    """

    name: ClassVar[str] = "performance_weighted"
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {}
    uses_cov: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()

    def _weights(self, x: np.ndarray, cov: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
        sharpe = np.maximum(x.mean(axis=0) / x.std(axis=0, ddof=1), 0.0)
        total = sharpe.sum()
        if not total > 0:
            return np.full(x.shape[1], 1.0 / x.shape[1])
        return sharpe / total
