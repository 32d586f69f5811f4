"""Strategy and risk-rule names and parameters of a configuration, checked against the registries
before any data loads (a bad value is reported at its YAML line)."""

from __future__ import annotations

import inspect
import re
from typing import Any

from multifolio.cli.config.errors import at_line, did_you_mean, dotted
from multifolio.cli.config.schema import RiskRuleConfig, RunConfig, StrategyConfig

__all__ = ["check_names", "param_names"]


def check_names(cfg: RunConfig, source: str, lines: dict[tuple[Any, ...], int]) -> list[str]:
    """Strategy and risk rule names and their parameters, checked against the registries (of the run,
    or of each portfolio of a ``portfolios:`` list)."""
    problems = _check_risk(cfg.risk, source, lines)
    if cfg.strategy is not None:
        problems = _check_strategy(cfg.strategy, source, lines) + problems
    for k, p in enumerate(cfg.portfolios or ()):
        problems += _check_strategy(p.strategy, source, lines, ("portfolios", k))
        problems += _check_risk(p.risk, source, lines, ("portfolios", k))
    return problems


def _unknown_params(given: Any, known: list[str] | None, loc: tuple[Any, ...], what: str, source: str,
                    lines: dict[tuple[Any, ...], int]) -> list[str]:
    if known is None:  # the class takes **kwargs: nothing to check by name
        return []
    out = []
    for key in given:
        if key not in known:
            where = loc + (key,)
            candidates = known
            if where not in lines and loc[-1] == "params":  # the flat form of a risk rule
                where = loc[:-1] + (key,)
                candidates = [*known, "params"]  # `parms:` is a misspelt params block, not a parameter
            out.append(f"{at_line(source, lines, where)}: unknown parameter '{dotted(where)}' for {what}"
                       f"{did_you_mean(key, candidates)}")
    return out


def _check_strategy(sc: StrategyConfig, source: str, lines: dict[tuple[Any, ...], int],
                    at: tuple[Any, ...] = ()) -> list[str]:
    from multifolio.strategies.registry import STRATEGIES

    cls = STRATEGIES.get(sc.name)
    if cls is None:
        return [f"{at_line(source, lines, at + ('strategy', 'name'))}: unknown strategy {sc.name!r}"
                f"{did_you_mean(sc.name, sorted(STRATEGIES))} (built-ins: {', '.join(sorted(STRATEGIES))})"]
    problems = []
    if sc.per_asset and not _accepts_per_asset(cls):
        where = at_line(source, lines, at + ("strategy", "per_asset"))
        problems.append(f"{where}: strategy {sc.name!r} takes no per_asset overrides")
    known = param_names(cls)
    what = f"strategy {sc.name!r}"
    problems += _unknown_params(sc.params, known, at + ("strategy", "params"), what, source, lines)
    for sym, params in sc.per_asset.items():
        problems += _unknown_params(params, known, at + ("strategy", "per_asset", sym), what, source, lines)
    if not problems:
        # Build it once here, so a bad value is reported at its line before any data is loaded.
        kwargs = dict(sc.params)
        if sc.per_asset:
            kwargs["per_asset"] = {k: dict(v) for k, v in sc.per_asset.items()}
        problems += _bad_values(cls, kwargs, at + ("strategy", "params"), source, lines,
                                {sym: at + ("strategy", "per_asset", sym) for sym in sc.per_asset})
    return problems


def _bad_values(cls: type, kwargs: dict[str, Any], loc: tuple[Any, ...], source: str,
                lines: dict[tuple[Any, ...], int], per_asset: dict[str, tuple[Any, ...]] | None = None
                ) -> list[str]:
    """``cls(**kwargs)``'s ValueError/TypeError, placed at the line of the value it names."""
    try:
        cls(**kwargs)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        where = loc
        candidates = [(loc + (k,), k) for k in kwargs if k != "per_asset"]
        if loc[-1] == "params":
            candidates += [(loc[:-1] + (k,), k) for k in kwargs]  # the flat form of a risk rule
        for sym, sym_loc in (per_asset or {}).items():
            if repr(sym) in message:
                candidates = [(sym_loc + (k,), k) for k in kwargs["per_asset"][sym]] + [(sym_loc, "")]
                where = sym_loc
                break
        for path, key in candidates:
            if path in lines and (not key or re.search(rf"\b{re.escape(key)}\b", message)):
                where = path
                break
        return [f"{at_line(source, lines, where)}: {dotted(where)}: {message}"]
    return []


def _check_risk(rules: list[RiskRuleConfig], source: str, lines: dict[tuple[Any, ...], int],
                at: tuple[Any, ...] = ()) -> list[str]:
    from multifolio.portfolio.risk import RISK_RULES

    problems = []
    for i, rule in enumerate(rules):
        if rule.name not in RISK_RULES:
            loc = at + ("risk", i, "name") if at + ("risk", i, "name") in lines else at + ("risk", i, "rule")
            problems.append(f"{at_line(source, lines, loc)}: unknown risk rule {rule.name!r}"
                            f"{did_you_mean(rule.name, sorted(RISK_RULES))} "
                            f"(available: {', '.join(sorted(RISK_RULES))})")
            continue
        known = param_names(RISK_RULES[rule.name])
        loc = at + ("risk", i, "params")
        unknown = _unknown_params(rule.params, known, loc, f"risk rule {rule.name!r}", source, lines)
        problems += unknown or _bad_values(RISK_RULES[rule.name], dict(rule.params), loc, source, lines)
    return problems


def _accepts_per_asset(cls: type) -> bool:
    try:
        return "per_asset" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def param_names(cls: type) -> list[str] | None:
    """Keyword parameters a strategy or rule accepts (PARAMS, else the signature); None for **kwargs."""
    params = getattr(cls, "PARAMS", None)
    if isinstance(params, dict) and params:
        return list(params)
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    return [n for n in sig.parameters if n != "per_asset"]
