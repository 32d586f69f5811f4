"""The allocation-model interface: ``model.weights(returns, mask=None) -> w``.

A model sees a trailing T x N window of returns (causal: rows up to the decision) and the assets allowed
now (``mask``). Assets with a NaN anywhere in the window, or without variance when the model needs one,
are not eligible and get weight 0; the eligible ones share 1. ``fit`` returns the weights with what the
model used (the eligible assets, the covariance and mean of the window), for the analytics of a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from multifolio.strategies.allocation.covariance import COVARIANCES, make_covariance


@dataclass(frozen=True)
class Allocation:
    """One fit: ``weights`` (N, summing to 1 over ``eligible``, or all 0 when none is), ``eligible``
    (N bools), ``cov`` and ``mean`` (per-bar covariance and mean returns of the eligible assets, in
    their order; None for models that use none)."""

    weights: np.ndarray
    eligible: np.ndarray
    cov: np.ndarray | None
    mean: np.ndarray | None


def as_window(returns: Any) -> np.ndarray:
    """A T x N float64 array from an array or a DataFrame of returns (a 1-D input is one asset)."""
    x = np.asarray(returns, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"returns must be a T x N window, got shape {x.shape}")
    return x


class AllocationModel:
    """Base class: subclasses set ``name``, ``PARAMS`` and implement ``_weights(x, cov, ok)`` on the eligible
    columns ``x`` (a complete T x k window) with their covariance ``cov`` (``None`` when ``uses_cov`` is
    False); ``ok`` marks the eligible columns among all N.

    >>> from multifolio.strategies.allocation import EqualWeightModel
    >>> EqualWeightModel().weights(np.zeros((3, 4)), mask=np.array([True, True, False, True])).tolist()
    [0.3333333333333333, 0.3333333333333333, 0.0, 0.3333333333333333]
    """

    name: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {
        "covariance": (str, "sample", "sample | ledoit_wolf | ewma"),
        "half_life": (float, 63.0, "EWMA covariance half-life in bars"),
    }
    uses_cov: ClassVar[bool] = True
    needs_variance: ClassVar[bool] = True

    def __init__(self, *, covariance: str = "sample", half_life: float = 63.0) -> None:
        if covariance not in COVARIANCES:
            raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
        self.covariance = covariance
        self.half_life = float(half_life)
        self._cov = make_covariance(covariance, half_life)

    def eligible(self, x: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """Assets allowed by ``mask`` with a complete window (and a variance, if the model needs one)."""
        ok = np.isfinite(x).all(axis=0) if x.shape[0] else np.zeros(x.shape[1], dtype=bool)
        if mask is not None:
            m = np.asarray(mask, dtype=bool)
            if m.shape != (x.shape[1],):
                raise ValueError(f"mask must have {x.shape[1]} entries, got shape {m.shape}")
            ok &= m
        if self.needs_variance:
            ok &= x.shape[0] >= 2
            if ok.any():
                sd = np.zeros(x.shape[1])
                sd[ok] = x[:, ok].std(axis=0)
                ok &= sd > 0
        return ok

    def fit(self, returns: Any, mask: np.ndarray | None = None) -> Allocation:
        """Weights on the window with the covariance and mean they came from."""
        x = as_window(returns)
        ok = self.eligible(x, mask)
        w = np.zeros(x.shape[1])
        if not ok.any():
            return Allocation(w, ok, None, None)
        xs = x[:, ok]
        cov = self._cov(xs) if self.uses_cov and xs.shape[0] >= 2 else None
        wk = np.asarray(self._weights(xs, cov, ok), dtype=np.float64)
        w[ok] = wk
        mean = xs.mean(axis=0) if xs.shape[0] else None
        return Allocation(w, ok, cov, mean)

    def weights(self, returns: Any, mask: np.ndarray | None = None) -> np.ndarray:
        """Long-only weights summing to 1 over the eligible assets (N-vector; zeros if none is)."""
        return self.fit(returns, mask).weights

    def _weights(self, x: np.ndarray, cov: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Name and parameters (those listed in ``PARAMS``)."""
        return {"name": self.name, **{k: getattr(self, k) for k in self.PARAMS if hasattr(self, k)}}

    def __repr__(self) -> str:
        d = self.describe()
        args = ", ".join(f"{k}={v!r}" for k, v in d.items() if k != "name")
        return f"{type(self).__name__}({args})"
