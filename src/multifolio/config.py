"""YAML run configuration: validated with pydantic, errors that point at the line to fix.

A run is described by one YAML file::

    data:
      sample: crypto_hourly          # or csv: / parquet: / store: (paths relative to the YAML file)
      symbols: [BTC/USDT, ETH/USDT]  # optional subset, in this order
      days: 90                       # or start: / end:
    capital: 10000
    fees: 0.001                      # a number, or {symbol: number}
    strategy:
      name: top_n
      params: {k: 1, lookback: 24}
    risk:
      - name: kill_switch
        params: {window: 24, threshold: 30}

``load_config(path)`` parses it with ``yaml.safe_load`` and validates it; every mistake raises a
:class:`ConfigError` naming the dotted path, the YAML line and, for an unknown key, the closest valid
one. ``run_config(config)`` builds the market data, strategy and risk rules and runs the backtest.

>>> cfg = RunConfig.model_validate({"data": {"sample": "crypto_hourly", "days": 30},
...                                 "strategy": {"name": "equal_weight"}})
>>> cfg.capital, cfg.execution
(10000.0, 'next_open')
"""

from __future__ import annotations

import difflib
import inspect
import math
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from multifolio.data import MarketData
    from multifolio.result import Result

__all__ = ["ConfigError", "DataConfig", "OutputConfig", "RiskRuleConfig", "RunConfig", "StrategyConfig",
           "load_config", "parse_config", "run_config", "select_window", "with_kill_switch"]


class ConfigError(ValueError):
    """A bad run configuration. ``problems`` lists every problem found; ``str()`` is the first one
    (with its file, line and dotted path) followed by how many more there are."""

    def __init__(self, problems: Sequence[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        msg = self.problems[0] if self.problems else "invalid configuration"
        if len(self.problems) > 1:
            msg += f" (and {len(self.problems) - 1} more problem{'s' if len(self.problems) > 2 else ''})"
        super().__init__(msg)


# ----------------------------------------------------------------------------------------------------
# Field types
# ----------------------------------------------------------------------------------------------------

def _number(value: Any, *, what: str) -> float:
    # bool is an int in Python; `fees: true` is a mistake, not 1.0.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out) or out < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
    return out


def _per_asset_number(value: Any) -> float | dict[str, float]:
    """A number >= 0, or a ``{symbol: number}`` mapping (per-asset override)."""
    if isinstance(value, dict):
        return {str(k): _number(v, what=f"the value for {k!r}") for k, v in value.items()}
    return _number(value, what="the value")


def _leverage(value: Any) -> float | dict[str, float]:
    out = _per_asset_number(value)
    values = out.values() if isinstance(out, dict) else [out]
    if any(v <= 0 for v in values):
        raise ValueError(f"leverage must be > 0, got {value!r}")
    return out


def _timestamp(value: Any) -> str | None:
    """Dates as written in YAML (``2024-01-01`` parses to a date) or strings pandas can read."""
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(f"expected a date such as 2024-01-31, got {value!r}")
    import pandas as pd

    try:
        pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a date: {value!r}") from exc
    return value


PerAsset = Annotated[float | dict[str, float], BeforeValidator(_per_asset_number)]
Leverage = Annotated[float | dict[str, float], BeforeValidator(_leverage)]
Timestamp = Annotated[str | None, BeforeValidator(_timestamp)]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class DataConfig(BaseModel):
    """Where the candles come from: at most one of ``sample``, ``csv``, ``parquet``, ``store``.

    With none of them, the candles come from the default candle store (``$MULTIFOLIO_STORE`` or
    ``~/.multifolio/candles.duckdb``), where ``multifolio data import`` and ``data fetch`` put them.
    """

    model_config = _STRICT

    sample: Literal["crypto_hourly", "sp500_daily"] | None = None
    csv: str | None = Field(None, description="CSV file (long table) or folder of per-symbol CSV files")
    parquet: str | None = Field(None, description="Parquet file (long table)")
    store: str | None = Field(None, description="DuckDB candle store file")
    exchange: str | None = Field(None, description="exchange name in the store (store source only)")
    symbols: list[str] | None = Field(None, description="symbols to use, in this order (default: all)")
    timeframe: str | None = Field(None, description="bar size, e.g. 1h or 1d (store source: required "
                                                    "when the store holds several)")
    start: Timestamp = None
    end: Timestamp = None
    days: float | None = Field(None, gt=0, description="the last N days (or N days from start)")
    warmup_bars: int = Field(500, ge=0, description="bars before the start fed to the strategy as "
                                                    "warm-up (never traded, not in the result)")

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        given = [k for k in ("sample", "csv", "parquet", "store") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError("give one data source (sample, csv, parquet or store), or none for the "
                             f"default candle store; found {', '.join(given)}")
        if self.start and self.end and self.days:
            raise ValueError("give at most two of start, end and days")
        if self.symbols is not None:
            if not self.symbols:
                raise ValueError("symbols is empty; leave it out to use every symbol")
            dup = sorted({s for s in self.symbols if self.symbols.count(s) > 1})
            if dup:
                raise ValueError(f"symbols listed twice: {', '.join(dup)}")
        return self


class StrategyConfig(BaseModel):
    """A built-in strategy (see ``multifolio strategies``), its parameters and per-asset overrides."""

    model_config = _STRICT

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    per_asset: dict[str, dict[str, Any]] = Field(default_factory=dict)


class RiskRuleConfig(BaseModel):
    """A portfolio risk rule from ``multifolio.portfolio.risk.RISK_RULES``.

    Written ``{name: kill_switch, params: {window: 24}}`` or flat, ``{rule: kill_switch, window: 24}``
    (``rule`` and ``name`` are synonyms; flat keys become the params and are checked against the rule).
    """

    model_config = _STRICT

    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flat_form(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "rule" in data and "name" not in data:
            data["name"] = data.pop("rule")
        if "params" not in data:
            extra = {k: data.pop(k) for k in list(data) if k != "name"}
            if extra:
                data["params"] = extra
        return data


class OutputConfig(BaseModel):
    """Report files written after the run (relative paths: from the current directory)."""

    model_config = _STRICT

    json_path: str | None = Field(None, alias="json")
    html: str | None = None


class RunConfig(BaseModel):
    """One backtest run. Account settings map one to one onto ``multifolio.backtest``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    data: DataConfig
    strategy: StrategyConfig
    capital: float = Field(10_000.0, gt=0, description="initial cash of the shared pool")
    fees: PerAsset = 0.0
    fixed_fees: PerAsset = 0.0
    slippage: PerAsset = 0.0
    execution: Literal["next_open", "close"] = "next_open"
    leverage: Leverage = 1.0
    allow_short: bool = False
    maintenance_margin: float = Field(0.5, ge=0, le=1)
    min_notional: PerAsset = 0.0
    qty_step: PerAsset = 0.0
    risk: list[RiskRuleConfig] = Field(default_factory=list)
    output: OutputConfig = Field(default_factory=OutputConfig)
    crash_pct: float = Field(5.0, gt=0, lt=100, description="crash bar: the equal-weight index of the "
                                                           "assets is down at least this % over the window")
    crash_window: float = Field(24.0, gt=0, description="crash window in hours")

    @property
    def per_asset_settings(self) -> dict[str, dict[str, float]]:
        """The account settings given as ``{symbol: value}`` mappings, by setting name."""
        return {k: v for k in ("fees", "fixed_fees", "slippage", "leverage", "min_notional", "qty_step")
                if isinstance(v := getattr(self, k), dict)}


# ----------------------------------------------------------------------------------------------------
# Loading: YAML line numbers and readable errors
# ----------------------------------------------------------------------------------------------------

def _yaml_index(text: str) -> tuple[dict[tuple[Any, ...], int], list[tuple[tuple[Any, ...], int, int]]]:
    """Line numbers of every path, and the keys given twice in one mapping: (path, line, first line).

    The composed node tree keeps marks, the constructed data does not; paths to keys point at the key's
    line, list items at the item's line. A repeated key silently wins in ``safe_load``; we report it.
    """
    lines: dict[tuple[Any, ...], int] = {}
    dups: list[tuple[tuple[Any, ...], int, int]] = []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines, dups

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value
                sub = path + (key,)
                line = key_node.start_mark.line + 1
                if key in seen and key != "<<":
                    dups.append((sub, line, seen[key]))
                seen.setdefault(key, line)
                lines.setdefault(sub, line)
                walk(value_node, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                sub = path + (i,)
                lines.setdefault(sub, item.start_mark.line + 1)
                walk(item, sub)

    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines, dups


def _line_for(lines: dict[tuple[Any, ...], int], loc: Sequence[Any]) -> int | None:
    # YAML keys are strings; pydantic may report an int key for a dict[str, ...] key it coerced.
    loc = tuple(loc)
    for n in range(len(loc), 0, -1):
        for cand in (loc[:n], tuple(str(p) if not isinstance(p, int) else p for p in loc[:n])):
            if cand in lines:
                return lines[cand]
    return None


def _dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _fields_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The pydantic model class that holds the key at ``loc`` (None when it is a free-form dict)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):  # a list index: the list's item type was unwrapped already
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        by_alias = {(f.alias or n): f for n, f in current.model_fields.items()}
        field = by_alias.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        current = field.annotation
        # Unwrap Optional[...] and list[...] (a list index comes next in loc).
        while get_origin(current) in (Union, UnionType, list):
            args = [a for a in get_args(current) if a is not type(None)]
            if len(args) != 1:
                return None
            current = args[0]
            if get_origin(current) is None and isinstance(current, type) and issubclass(current, BaseModel):
                break
        if isinstance(current, type) and issubclass(current, BaseModel):
            continue
        return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _where(source: str, lines: dict[tuple[Any, ...], int], loc: Sequence[Any]) -> str:
    line = _line_for(lines, loc)
    return f"{source}:{line}" if line is not None else source


def _format_validation_error(exc: ValidationError, source: str,
                             lines: dict[tuple[Any, ...], int]) -> list[str]:
    problems: list[tuple[int, str]] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = _where(source, lines, loc)
        line = _line_for(lines, loc) or 0
        if err["type"] == "extra_forbidden":
            holder = _model_at(RunConfig, loc[:-1]) if loc[:-1] else RunConfig
            choices = _fields_of(holder) if holder is not None else []
            hint = _did_you_mean(loc[-1], choices)
            allowed = f" (allowed: {', '.join(choices)})" if choices and not hint else ""
            problems.append((line, f"{where}: unknown key '{_dotted(loc)}'{hint}{allowed}"))
            continue
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if err["type"] == "missing":
            problems.append((line, f"{where}: missing key '{_dotted(loc)}'"))
            continue
        given = err.get("input")
        shown = "" if err["type"] in ("value_error",) or isinstance(given, (dict, list)) else \
            f" (got {given!r})"
        problems.append((line, f"{where}: {_dotted(loc)}: {msg}{shown}"))
    # The first problem in the file comes first (the one-line CLI message shows it).
    return [msg for _, msg in sorted(problems, key=lambda p: p[0])]


def _check_names(cfg: RunConfig, source: str, lines: dict[tuple[Any, ...], int]) -> list[str]:
    """Strategy and risk rule names and their parameters, checked against the registries."""
    return _check_strategy(cfg.strategy, source, lines) + _check_risk(cfg.risk, source, lines)


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
            out.append(f"{_where(source, lines, where)}: unknown parameter '{_dotted(where)}' for {what}"
                       f"{_did_you_mean(key, candidates)}")
    return out


def _check_strategy(sc: StrategyConfig, source: str, lines: dict[tuple[Any, ...], int]) -> list[str]:
    from multifolio.strategies.registry import STRATEGIES

    cls = STRATEGIES.get(sc.name)
    if cls is None:
        return [f"{_where(source, lines, ('strategy', 'name'))}: unknown strategy {sc.name!r}"
                f"{_did_you_mean(sc.name, sorted(STRATEGIES))} (built-ins: {', '.join(sorted(STRATEGIES))})"]
    problems = []
    if sc.per_asset and not _accepts_per_asset(cls):
        problems.append(f"{_where(source, lines, ('strategy', 'per_asset'))}: strategy {sc.name!r} takes no "
                        "per_asset overrides")
    known = _strategy_param_names(cls)
    what = f"strategy {sc.name!r}"
    problems += _unknown_params(sc.params, known, ("strategy", "params"), what, source, lines)
    for sym, params in sc.per_asset.items():
        problems += _unknown_params(params, known, ("strategy", "per_asset", sym), what, source, lines)
    if not problems:
        # Build it once here, so a bad value is reported at its line before any data is loaded.
        kwargs = dict(sc.params)
        if sc.per_asset:
            kwargs["per_asset"] = {k: dict(v) for k, v in sc.per_asset.items()}
        problems += _bad_values(cls, kwargs, ("strategy", "params"), source, lines,
                                {sym: ("strategy", "per_asset", sym) for sym in sc.per_asset})
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
        return [f"{_where(source, lines, where)}: {_dotted(where)}: {message}"]
    return []


def _check_risk(rules: list[RiskRuleConfig], source: str, lines: dict[tuple[Any, ...], int]) -> list[str]:
    from multifolio.portfolio.risk import RISK_RULES

    problems = []
    for i, rule in enumerate(rules):
        if rule.name not in RISK_RULES:
            loc = ("risk", i, "name") if ("risk", i, "name") in lines else ("risk", i, "rule")
            problems.append(f"{_where(source, lines, loc)}: unknown risk rule {rule.name!r}"
                            f"{_did_you_mean(rule.name, sorted(RISK_RULES))} "
                            f"(available: {', '.join(sorted(RISK_RULES))})")
            continue
        known = _strategy_param_names(RISK_RULES[rule.name])
        unknown = _unknown_params(rule.params, known, ("risk", i, "params"), f"risk rule {rule.name!r}",
                                  source, lines)
        problems += unknown or _bad_values(RISK_RULES[rule.name], dict(rule.params), ("risk", i, "params"),
                                           source, lines)
    return problems


def _accepts_per_asset(cls: type) -> bool:
    try:
        return "per_asset" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def _strategy_param_names(cls: type) -> list[str] | None:
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


def parse_config(data: Any, *, source: str = "<config>", text: str | None = None,
                 base_dir: str | Path | None = None) -> RunConfig:
    """Validate an already-parsed mapping; ``text`` (the YAML) gives line numbers in errors.

    Relative data paths are resolved against ``base_dir`` (the YAML file's folder).
    """
    lines, dups = _yaml_index(text) if text is not None else ({}, [])
    if dups:
        raise ConfigError([f"{source}:{line}: key '{_dotted(path)}' given twice (first on line {first})"
                           for path, line, first in dups])
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ConfigError([f"{source}: the configuration must be a mapping of keys (found {kind})"])
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source, lines)) from None
    problems = _check_names(cfg, source, lines)
    if problems:
        raise ConfigError(problems)
    if base_dir is not None:
        updates = {}
        for key in ("csv", "parquet", "store"):
            value = getattr(cfg.data, key)
            if value is not None and not Path(value).expanduser().is_absolute():
                updates[key] = str((Path(base_dir) / Path(value).expanduser()).resolve())
        if updates:
            cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update=updates)})
    return cfg


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML run configuration.

    Raises :class:`ConfigError` (a ``ValueError``) with the file, line and dotted key path of each
    problem, e.g. ``grid.yaml:7: unknown key 'strategy.parms'; did you mean 'params'?``.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise ConfigError([f"config file {what}: {path}"])
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{where}: invalid YAML: {problem}"]) from None
    return parse_config(data, source=str(path), text=text, base_dir=path.parent)


# ----------------------------------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------------------------------

def with_kill_switch(config: RunConfig, *, pct: float | None = None, window: float | None = None,
                     mode: str | None = None) -> RunConfig:
    """A copy of ``config`` whose kill switch uses the given threshold (%) and window (hours).

    The existing ``kill_switch`` rule is updated, or one is added (``record`` mode by default).
    Nothing changes when every argument is None.
    """
    if pct is None and window is None and mode is None:
        return config
    if pct is not None and not 0 < pct < 100:
        raise ConfigError([f"kill switch threshold must be in (0, 100) %, got {pct}"])
    if window is not None and not window > 0:
        raise ConfigError([f"kill switch window must be > 0 hours, got {window}"])
    update = {k: v for k, v in (("threshold", pct), ("window", window), ("mode", mode)) if v is not None}
    rules = list(config.risk)
    for i, rule in enumerate(rules):
        if rule.name == "kill_switch":
            rules[i] = RiskRuleConfig(name="kill_switch", params={**rule.params, **update})
            break
    else:
        rules.append(RiskRuleConfig(name="kill_switch", params=update))
    return config.model_copy(update={"risk": rules})


def _load_market_data(dc: DataConfig, symbols: list[str] | None) -> MarketData:
    from multifolio.data.files import read_csv, read_parquet
    from multifolio.data.resample import resample

    if dc.sample is not None:
        from multifolio.data import samples

        md = getattr(samples, dc.sample)()
        return md if dc.timeframe is None else resample(md, dc.timeframe)
    md = None
    if dc.csv is not None:
        _require_path(dc.csv, "data.csv")
        md = read_csv(dc.csv)
    elif dc.parquet is not None:
        _require_path(dc.parquet, "data.parquet")
        md = read_parquet(dc.parquet)
    if md is not None:
        return md if dc.timeframe is None else resample(md, dc.timeframe)
    from multifolio.data.store import CandleStore, default_store_path

    path = dc.store
    if path is None:
        path = str(default_store_path())
        if not Path(path).exists():
            raise ConfigError([f"data: no source given (sample, csv, parquet or store) and the default "
                               f"candle store {path} does not exist; fill it with `multifolio data "
                               "import` / `data fetch`, or name a source"])
    else:
        _require_path(path, "data.store")

    with CandleStore(path, read_only=True) as store:
        timeframe = dc.timeframe
        if timeframe is None:
            # One timeframe stored for these symbols: use it; several: the config must say which.
            ranges = store.ranges()
            if dc.exchange is not None:
                ranges = ranges[ranges["exchange"] == dc.exchange]
            if symbols is not None:
                ranges = ranges[ranges["symbol"].isin(symbols)]
            found = sorted(set(ranges["timeframe"]))
            if len(found) != 1:
                raise ConfigError([f"data.timeframe: the store {path} holds "
                                   + (f"timeframes {', '.join(found)} for these symbols; say which"
                                      if found else "no candles for these symbols")])
            timeframe = found[0]
        return store.read(symbols, timeframe, exchange=dc.exchange)


def _require_path(path: str, key: str) -> None:
    if not Path(path).exists():
        raise ConfigError([f"{key}: file not found: {path}"])


def _check_symbols(names: Sequence[str], available: list[str], where: str) -> None:
    missing = [s for s in names if s not in available]
    if missing:
        shown = ", ".join(available[:30]) + (", ..." if len(available) > 30 else "")
        raise ConfigError([f"{where}: unknown symbol{'s' if len(missing) > 1 else ''} "
                           f"{', '.join(repr(s) for s in missing)}{_did_you_mean(missing[0], available)}"
                           f" (available: {shown})"])


def _pick_symbols(available: list[str], wanted: list[str] | None, assets: Sequence[str] | int | None,
                  ) -> list[str]:
    """Config symbols (or all), then the ``assets`` override: a list, or an int = the first n."""
    chosen = list(available)
    if wanted is not None:
        _check_symbols(wanted, available, "data.symbols")
        chosen = list(wanted)
    if assets is None:
        return chosen
    if isinstance(assets, bool) or not isinstance(assets, (int, list, tuple)):
        raise ConfigError([f"assets must be a list of symbols or a count, got {assets!r}"])
    if isinstance(assets, int):
        if not 1 <= assets <= len(chosen):
            raise ConfigError([f"assets: asked for the first {assets} assets, the config has "
                               f"{len(chosen)}"])
        return chosen[:assets]
    names = [str(a) for a in assets]
    if not names:
        raise ConfigError(["assets: the list is empty"])
    _check_symbols(names, available, "assets")
    return names


def select_window(index: Any, *, start: Any = None, end: Any = None, days: float | None = None,
                  ) -> tuple[Any, Any]:
    """The result period ``(start, end)`` (UTC Timestamps, both inclusive) for a data index.

    ``end`` given as a date without a time includes that whole day. ``days`` alone: the last N days of
    bars (ending at ``end`` when given); with ``start``: the N days from ``start`` (``--start
    2024-01-01 --days 10`` is 240 hourly bars, the same count as ``--days 10`` alone).

    >>> import pandas as pd
    >>> idx = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC")
    >>> [str(t.date()) for t in select_window(idx, days=3)]
    ['2024-01-08', '2024-01-10']
    >>> [str(t) for t in select_window(idx, start="2024-01-02", end="2024-01-03")]
    ['2024-01-02 00:00:00+00:00', '2024-01-03 23:59:59.999999+00:00']
    """
    import pandas as pd

    def ts(value: Any, key: str) -> pd.Timestamp:
        try:
            t = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise ConfigError([f"{key}: not a date: {value!r}"]) from exc
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")

    first, last = index[0], index[-1]
    step = index[1] - index[0] if len(index) > 1 else pd.Timedelta(0)
    tick = pd.Timedelta(1, unit=getattr(index, "unit", "ns"))  # the index's resolution
    s = ts(start, "start") if start is not None else None
    e = ts(end, "end") if end is not None else None
    if e is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(end).strip()):
        e = e + pd.Timedelta(days=1) - tick  # a date (no time of day): through the end of that day
    if days is not None:
        if not days > 0:
            raise ConfigError([f"days must be > 0, got {days}"])
        span = pd.Timedelta(days=days)
        if s is not None and e is None:
            e = s + span - tick
        elif s is None:
            e = e if e is not None else last
            # The last N days of bars: exactly N days x bars-per-day bars ending at the last bar <= e.
            at = int(index.searchsorted(e, side="right")) - 1
            s = (index[at] if at >= 0 else e) - span + step
    s = first if s is None else max(s, first)
    e = last if e is None else min(e, last)
    if s > e:
        raise ConfigError([f"the period {s} .. {e} holds no data (data runs {first} .. {last})"])
    return s, e


def run_config(config: RunConfig | str | Path, *, capital: float | None = None,
               assets: Sequence[str] | int | None = None, days: float | None = None,
               start: Any = None, end: Any = None,
               progress: Callable[[int, int], None] | None = None) -> Result:
    """Run the backtest a configuration describes; keyword overrides take precedence over the file.

    A top-level, picklable function: sweeps call it in worker processes. ``assets`` is a list of
    symbols or an int (the first n symbols in config order). ``days`` with neither ``start`` nor
    ``end``: the last N days. Bars before the start (up to ``data.warmup_bars``) are warm-up.
    """
    import multifolio
    from multifolio.portfolio.risk import RISK_RULES
    from multifolio.strategies.registry import STRATEGIES

    cfg = load_config(config) if isinstance(config, (str, Path)) else config
    if capital is not None and not (isinstance(capital, (int, float)) and capital > 0):
        raise ConfigError([f"capital must be > 0, got {capital!r}"])

    dc = cfg.data
    md = _load_market_data(dc, None if assets is not None else dc.symbols)
    available = list(md.symbols)
    symbols = _pick_symbols(available, dc.symbols, assets)
    if symbols != list(md.symbols):
        md = md.select(symbols)

    # Overrides replace the file's window as a whole: --days 30 alone means the last 30 days.
    if start is None and end is None and days is None:
        start, end, days = dc.start, dc.end, dc.days
    s, e = select_window(md.index, start=start, end=end, days=days)
    i0 = int(md.index.searchsorted(s, side="left"))
    w0 = md.index[max(0, i0 - dc.warmup_bars)]
    md = md.slice(w0, e)

    # Per-asset keys must name symbols of the data; those of assets left out of this run are dropped.
    for key, mapping in cfg.per_asset_settings.items():
        _check_symbols(list(mapping), available, key)

    strat_cls = STRATEGIES.get(cfg.strategy.name)
    if strat_cls is None:
        raise ConfigError([f"strategy.name: unknown strategy {cfg.strategy.name!r}"
                           f"{_did_you_mean(cfg.strategy.name, sorted(STRATEGIES))} "
                           f"(built-ins: {', '.join(sorted(STRATEGIES))})"])
    kwargs = dict(cfg.strategy.params)
    if cfg.strategy.per_asset:
        _check_symbols(list(cfg.strategy.per_asset), available, "strategy.per_asset")
        kwargs["per_asset"] = {k: dict(v) for k, v in cfg.strategy.per_asset.items() if k in symbols}
    try:
        strategy = strat_cls(**kwargs)
    except TypeError as exc:
        raise ConfigError([f"strategy.params: {exc}"]) from None
    except ValueError as exc:
        raise ConfigError([f"strategy.params: {exc}"]) from None

    rules = []
    for i, rule in enumerate(cfg.risk):
        rule_cls = RISK_RULES.get(rule.name)
        if rule_cls is None:
            raise ConfigError([f"risk[{i}].name: unknown risk rule {rule.name!r}"
                               f"{_did_you_mean(rule.name, sorted(RISK_RULES))}"])
        try:
            rules.append(rule_cls(**rule.params))
        except (TypeError, ValueError) as exc:
            raise ConfigError([f"risk[{i}].params: {exc}"]) from None

    def only(value: Any) -> Any:
        # Per-asset mappings restricted to the symbols that run (an --assets subset drops some).
        return {k: v for k, v in value.items() if k in symbols} if isinstance(value, dict) else value

    settings: dict[str, Any] = dict(
        cash=float(capital if capital is not None else cfg.capital), fees=only(cfg.fees),
        fixed_fees=only(cfg.fixed_fees), slippage=only(cfg.slippage), execution=cfg.execution,
        leverage=only(cfg.leverage), allow_short=cfg.allow_short,
        maintenance_margin=cfg.maintenance_margin, min_notional=only(cfg.min_notional),
        qty_step=only(cfg.qty_step), risk=rules, start=s, progress=progress)
    result = multifolio.backtest(md, strategy, **settings)
    # Analytics read the crash definition, the strategy parameters (a grid's num_levels sets the
    # smallest order, hence the sizing bound) and the kill switch from the settings.
    extra: dict[str, Any] = {
        "crash_pct": cfg.crash_pct, "crash_window": cfg.crash_window, "crash_window_hours": cfg.crash_window,
        "strategy": cfg.strategy.name, "strategy_params": {**cfg.strategy.params, **(
            {"per_asset": kwargs["per_asset"]} if "per_asset" in kwargs else {})},
        "symbols": list(symbols)}
    for rule in rules:
        if type(rule).__name__ == "KillSwitch":
            extra["kill_switch"] = {k: getattr(rule, k) for k in ("window", "threshold", "mode")
                                    if hasattr(rule, k)}
    for key, value in extra.items():
        result.settings.setdefault(key, value)
    # The crash-bar concurrency needs the assets' closes over the result period (analytics read
    # `result.close` when a Result carries it).
    if getattr(result, "close", None) is None:
        result.close = md.frame("close").loc[result.equity.index[0]:] if len(result.equity) else None
    return result
