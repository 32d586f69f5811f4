"""RunSpec: one run described as data — strategy, parameters, account, rules, period — and its builders.

A spec is frozen and picklable: sweeps, walk-forward and Dask workers map ``multifolio.run_spec(spec,
data)`` over many of them with the market data loaded once per worker. The CLI turns a YAML config into
a spec; :meth:`RunSpec.replace` derives variants (another capital, the first n assets, other
parameters).

>>> spec = RunSpec(strategy="top_n", params={"k": 2}, account=AccountSpec(capital=5_000.0))
>>> spec.replace(account=spec.account.replace(capital=1_000.0)).account.capital
1000.0
>>> type(build_strategy(spec)).__name__
'TopN'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from multifolio.engine.run_info import AccountSpec
from multifolio.engine.strategy import Strategy
from multifolio.portfolio.risk import make_rule
from multifolio.strategies.registry import STRATEGIES

__all__ = ["AccountSpec", "RuleSpec", "RunSpec", "build_rules", "build_strategy"]

class _Replace:
    def replace(self, **changes: Any) -> Any:
        """A copy with ``changes`` applied (the spec itself never changes)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class RuleSpec(_Replace):
    """A risk rule by registry name (``kill_switch``, ``max_drawdown``, ...) and its parameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSpec(_Replace):
    """One run: what trades (``strategy`` by registry name, ``params``, ``per_asset`` overrides), on which
    account, under which ``rules``, over which ``symbols`` (None: all, in the data's order) and period
    (``start``/``end``/``days`` as in :func:`multifolio.data.window.select_window`), with up to
    ``warmup_bars`` bars before the start fed to the indicators. ``crash_pct`` / ``crash_window_hours``
    define the crash bars of the concurrency analysis."""

    strategy: str
    params: Mapping[str, Any] = field(default_factory=dict)
    per_asset: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    account: AccountSpec = field(default_factory=AccountSpec)
    rules: tuple[RuleSpec, ...] = ()
    symbols: tuple[str, ...] | None = None
    start: Any = None
    end: Any = None
    days: float | None = None
    warmup_bars: int = 0
    crash_pct: float | None = None
    crash_window_hours: float | None = None

    def with_rule(self, name: str, **params: Any) -> RunSpec:
        """The spec with rule ``name``'s parameters updated (the rule is added when absent)."""
        rules = list(self.rules)
        for i, rule in enumerate(rules):
            if rule.name == name:
                rules[i] = RuleSpec(name, {**rule.params, **params})
                break
        else:
            rules.append(RuleSpec(name, dict(params)))
        return self.replace(rules=tuple(rules))


def build_strategy(spec: RunSpec, symbols: Sequence[str] | None = None) -> Strategy:
    """The spec's strategy object; ``per_asset`` overrides of symbols outside ``symbols`` are dropped."""
    cls = STRATEGIES.get(spec.strategy)
    if cls is None:
        raise ValueError(f"unknown strategy {spec.strategy!r}; built-ins: {', '.join(sorted(STRATEGIES))}")
    kwargs = dict(spec.params)
    if spec.per_asset:
        kwargs["per_asset"] = {k: dict(v) for k, v in spec.per_asset.items()
                               if symbols is None or k in symbols}
    return cls(**kwargs)


def build_rules(spec: RunSpec) -> list[Any]:
    """The spec's risk rules, in order."""
    return [make_rule({"rule": r.name, **r.params}) for r in spec.rules]
