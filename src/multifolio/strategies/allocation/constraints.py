"""Weight constraints applied after a model: positions, correlation screen, floors, caps, cash, gross/net.

Two kinds: *universe* constraints (``max_positions``, ``max_correlation``) choose which assets a model is
refitted on; *weight* constraints (``min_weight``, ``max_weight``, ``cash_buffer``, gross/net limits)
reshape the weights. :meth:`Constraints.apply` does the second, :meth:`Constraints.select` the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def cap_weights(w: np.ndarray, cap: float) -> np.ndarray:
    """Cap each |weight| at ``cap``, handing the excess to the uncapped ones in proportion to their
    weights until no weight exceeds the cap (water filling). If ``cap`` x (held assets) < ``total`` every
    held asset ends at the cap and the rest stays uninvested.

    >>> cap_weights(np.array([0.7, 0.2, 0.1]), 0.5).round(6).tolist()
    [0.5, 0.333333, 0.166667]
    >>> cap_weights(np.array([0.9, 0.1]), 0.3).tolist()
    [0.3, 0.3]
    """
    w = np.asarray(w, dtype=np.float64).copy()
    sign = np.sign(w)
    a = np.abs(w)
    held = a > 0
    for _ in range(len(a) + 1):
        over = a > cap * (1 + 1e-12)
        if not over.any():
            break
        excess = float((a[over] - cap).sum())
        a[over] = cap
        free = held & (a < cap * (1 - 1e-12))
        if not free.any():
            break
        base = a[free].sum()
        a[free] += excess * (a[free] / base)     # the share first: tiny weights must not underflow
    return sign * np.minimum(a, cap)


@dataclass(frozen=True)
class Constraints:
    """The limits of an allocation (all optional).

    ``max_weight`` / ``min_weight``: per-asset |weight| limits of the invested part (an asset below
    ``min_weight`` is dropped and the others scaled up); ``max_positions``: at most that many assets,
    the largest weights; ``max_correlation``: an asset whose correlation with a higher-ranked held asset
    exceeds it is left out; ``cash_buffer``: fraction kept in cash; ``long_only`` (default True; a model's
    negative weights are then set to 0) or long/short within ``gross`` (sum |w|) and ``net`` (|sum w|)
    limits.

    >>> c = Constraints(max_weight=0.4, cash_buffer=0.1)
    >>> c.apply(np.array([0.6, 0.3, 0.1])).round(4).tolist()
    [0.36, 0.36, 0.18]
    """

    max_weight: float | None = None
    min_weight: float | None = None
    max_positions: int | None = None
    max_correlation: float | None = None
    cash_buffer: float = 0.0
    long_only: bool = True
    gross: float | None = None
    net: float | None = None

    def __post_init__(self) -> None:
        def check(name: str, lo: float, hi: float) -> None:
            v = getattr(self, name)
            if v is None:
                return
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo < v <= hi:
                raise ValueError(f"{name} must be a number in ({lo}, {hi}], got {v!r}")

        check("max_weight", 0.0, 1.0)
        check("min_weight", 0.0, 1.0)
        check("max_correlation", -1.0, 1.0)
        check("gross", 0.0, 100.0)
        check("net", 0.0, 100.0)
        if not (isinstance(self.cash_buffer, (int, float)) and 0.0 <= self.cash_buffer < 1.0):
            raise ValueError(f"cash_buffer must be in [0, 1), got {self.cash_buffer!r}")
        mp = self.max_positions
        if mp is not None and (isinstance(mp, bool) or not isinstance(mp, int) or mp < 1):
            raise ValueError(f"max_positions must be an integer >= 1, got {self.max_positions!r}")
        if self.min_weight is not None and self.max_weight is not None and self.min_weight > self.max_weight:
            raise ValueError(f"min_weight {self.min_weight} is above max_weight {self.max_weight}")

    @property
    def invested(self) -> float:
        """The fraction invested when nothing caps it: 1 - cash_buffer."""
        return 1.0 - float(self.cash_buffer)

    @property
    def selects(self) -> bool:
        """Whether the universe constraints (positions, correlation) are set."""
        return self.max_positions is not None or self.max_correlation is not None

    def select(self, w: np.ndarray, corr: np.ndarray | None = None,
               rank: np.ndarray | None = None) -> np.ndarray:
        """The assets kept (bool N): ranked by ``rank`` (default |w|, highest first), an asset is skipped
        when its correlation with a kept one exceeds ``max_correlation``, and at most ``max_positions``
        are kept. Assets with weight 0 are never kept.

        >>> corr = np.array([[1, 0.9, 0.1], [0.9, 1, 0.2], [0.1, 0.2, 1]])
        >>> Constraints(max_correlation=0.8).select(np.array([0.5, 0.3, 0.2]), corr).tolist()
        [True, False, True]
        """
        w = np.asarray(w, dtype=np.float64)
        key = np.abs(w) if rank is None else np.asarray(rank, dtype=np.float64)
        cand = np.flatnonzero(w != 0)
        cand = cand[np.argsort(-key[cand], kind="stable")]
        keep = np.zeros(len(w), dtype=bool)
        kept: list[int] = []
        limit = self.max_positions if self.max_positions is not None else len(w)
        for j in cand:
            if len(kept) >= limit:
                break
            if self.max_correlation is not None and corr is not None and kept and \
                    np.max(corr[j, kept]) > self.max_correlation:
                continue
            kept.append(int(j))
            keep[j] = True
        return keep

    def apply(self, w: np.ndarray) -> np.ndarray:
        """Weights under the weight constraints: long-only (negatives dropped) or gross/net limits,
        ``min_weight`` (small ones dropped, rest rescaled), ``max_weight`` (capped, excess redistributed),
        then the cash buffer. The result sums to at most ``1 - cash_buffer`` (long-only)."""
        w = np.where(np.isfinite(w), np.asarray(w, dtype=np.float64), 0.0)
        if self.long_only:
            w = np.maximum(w, 0.0)
        gross0 = float(np.abs(w).sum())
        if gross0 == 0:
            return np.zeros_like(w)
        if self.long_only:
            total = 1.0
            w = w / gross0
        else:
            # a long/short book keeps its shape; scaled to the gross limit (default: as given, at most 1)
            total = min(gross0, self.gross) if self.gross is not None else min(gross0, 1.0)
            w = w * (total / gross0)
        if self.min_weight is not None:
            for _ in range(len(w)):
                small = (w != 0) & (np.abs(w) < self.min_weight * (1 - 1e-12))
                if not small.any():
                    break
                # drop the smallest one at a time: dropping one raises the others
                j = np.flatnonzero(small)[np.argmin(np.abs(w[small]))]
                w[j] = 0.0
                g = np.abs(w).sum()
                if g == 0:
                    return np.zeros_like(w)
                w = w * (total / g)
        if self.max_weight is not None:
            w = cap_weights(w, self.max_weight)
        if not self.long_only and self.net is not None:
            net = float(w.sum())
            if abs(net) > self.net:
                # shrink the side that is too large until |net| = limit
                side = w > 0 if net > 0 else w < 0
                big = float(np.abs(w[side]).sum())
                small = float(np.abs(w[~side]).sum())
                w[side] *= (small + self.net) / big
        return w * self.invested

    def describe(self) -> dict[str, Any]:
        """The constraints that are set."""
        return {k: v for k, v in self.__dict__.items() if v is not None}
