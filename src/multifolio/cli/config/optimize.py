"""The ``optimize:`` section of a run configuration and its conversion to walk-forward options.

::

    optimize:
      params:                       # values to try: a list, "v1,v2,..." or "start:stop:step"
        num_levels: [3, 5, 8]
        atr_multiplier_start: "1.0:2.0:0.5"
      train: 90d                    # durations: 90d, 12h, 4w (a bare number is days)
      test: 30d
      anchored: false               # true: every train span starts at the period's start
      objective: calmar             # a metric key; -max_drawdown_pct minimises
      constraints: ["max_drawdown_pct<=30"]
      mode: both                    # per-asset | portfolio | both

>>> OptimizeConfig.model_validate({"params": {"k": "1:3:1"}}).grid()
{'k': [1, 2, 3]}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["OptimizeConfig"]


class OptimizeConfig(BaseModel):
    """Walk-forward optimisation settings (``multifolio optimize``; options on the command line win)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    params: dict[str, list[Any] | str | int | float] = Field(default_factory=dict)
    train: str | float = "90d"
    test: str | float = "30d"
    anchored: bool = Field(False, strict=True)
    objective: str = "sharpe"
    constraints: list[str] = Field(default_factory=list)
    mode: Literal["per-asset", "portfolio", "both"] = "both"
    n_blocks: int = Field(8, ge=2, le=16, strict=True, description="CSCV time blocks (even)")

    @field_validator("n_blocks")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"n_blocks must be even, got {v}")
        return v

    def grid(self) -> dict[str, list[Any]]:
        """The parameter grid: every value list parsed (``"1:3:1"`` -> ``[1, 2, 3]``)."""
        from multifolio.sweep.grid import parse_values

        out: dict[str, list[Any]] = {}
        for name, values in self.params.items():
            if isinstance(values, str):
                out[name] = parse_values(values, name)
            elif isinstance(values, list):
                out[name] = list(values)
            else:
                out[name] = [values]
        return out
