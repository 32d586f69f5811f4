"""The run configuration's schema: pydantic models of the YAML keys, with the field types they use.

>>> cfg = RunConfig.model_validate({"data": {"sample": "crypto_hourly", "days": 30},
...                                 "strategy": {"name": "equal_weight"}})
>>> cfg.capital, cfg.execution
(10000.0, 'next_open')
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from multifolio.cli.config.optimize import OptimizeConfig

__all__ = ["AllocatorConfig", "DataConfig", "OutputConfig", "PortfolioConfig", "RiskRuleConfig", "RunConfig",
           "StrategyConfig"]


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


def _not_bool(value: Any) -> Any:
    # pydantic's lax mode reads `capital: true` as 1.0 and `warmup_bars: true` as 1: refuse them.
    if isinstance(value, bool):
        raise ValueError(f"must be a number, got {value!r}")
    return value


def _signed_number(value: Any, *, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _per_asset_rate(value: Any) -> float | dict[str, float]:
    """An annual rate of either sign (> 0 paid, < 0 received), or a ``{symbol: rate}`` mapping."""
    if isinstance(value, dict):
        return {str(k): _signed_number(v, what=f"the value for {k!r}") for k, v in value.items()}
    return _signed_number(value, what="the value")


PerAsset = Annotated[float | dict[str, float], BeforeValidator(_per_asset_number)]
SignedPerAsset = Annotated[float | dict[str, float], BeforeValidator(_per_asset_rate)]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
Leverage = Annotated[float | dict[str, float], BeforeValidator(_leverage)]
Timestamp = Annotated[str | None, BeforeValidator(_timestamp)]
Number = Annotated[float, BeforeValidator(_not_bool)]
Count = Annotated[int, BeforeValidator(_not_bool)]
#: Booleans are true or false only (pydantic would take "no", "off", 0 and 1).
StrictBool = Annotated[bool, Field(strict=True)]

#: The longest period ``days`` may ask for (about 274 years: beyond it dates overflow).
MAX_DAYS = 100_000

_STRICT = ConfigDict(extra="forbid", frozen=True)

#: The financing settings of an account (``multifolio.backtest``'s keywords of the same names).
FINANCING_KEYS = ("swap_long", "swap_short", "borrow_rate", "rollover_hour", "triple_swap_day", "funding")


class DataConfig(BaseModel):
    """Where the candles come from: at most one of ``sample``, ``csv``, ``parquet``, ``store``.

    With none of them, the candles come from the default candle store (``$MULTIFOLIO_STORE`` or
    ``~/.multifolio/candles.duckdb``), where ``multifolio data import`` and ``data fetch`` put them.
    """

    model_config = _STRICT

    sample: Literal["crypto_hourly", "sp500_daily", "fx_hourly"] | None = None
    csv: str | None = Field(None, description="CSV file (long table) or folder of per-symbol CSV files")
    parquet: str | None = Field(None, description="Parquet file (long table)")
    store: str | None = Field(None, description="DuckDB candle store file")
    exchange: str | None = Field(None, description="exchange name in the store (store source only)")
    symbols: list[str] | None = Field(None, description="symbols to use, in this order (default: all)")
    timeframe: str | None = Field(None, description="bar size, e.g. 1h or 1d (store source: required "
                                                    "when the store holds several)")
    date_format: str | None = Field(None, description="file timestamps: dayfirst, monthfirst or a strftime "
                                                      "format (default: one format inferred per file)")
    epoch_unit: Literal["s", "ms", "us", "ns"] | None = Field(
        None, description="unit of integer timestamps (default: inferred from their magnitude)")
    start: Timestamp = None
    end: Timestamp = None
    days: Number | None = Field(None, gt=0, le=MAX_DAYS,
                                description="the last N days (or N days from start), at most 100000")
    warmup_bars: Count = Field(500, ge=0, description="bars before the start fed to the strategy as "
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


class PortfolioConfig(BaseModel):
    """One portfolio of a ``portfolios:`` list: its own capital, symbols (a subset of the data's,
    overlapping others' is fine), strategy, risk rules and, optionally, account settings that differ from
    the run's."""

    model_config = _STRICT

    id: str = Field(min_length=1)
    capital: Number = Field(gt=0, description="initial cash of this portfolio's account")
    symbols: list[str] | None = Field(None, description="symbols it trades (default: the run's)")
    strategy: StrategyConfig
    risk: list[RiskRuleConfig] = Field(default_factory=list)
    fees: PerAsset | None = None
    fixed_fees: PerAsset | None = None
    slippage: PerAsset | None = None
    leverage: Leverage | None = None
    allow_short: StrictBool | None = None
    maintenance_margin: Number | None = Field(None, ge=0, lt=1)
    min_notional: PerAsset | None = None
    qty_step: PerAsset | None = None
    swap_long: SignedPerAsset | None = None
    swap_short: SignedPerAsset | None = None
    borrow_rate: PerAsset | None = None
    rollover_hour: Number | None = Field(None, ge=0, lt=24)
    triple_swap_day: Weekday | None = None
    funding: StrictBool | None = None

    def overrides(self) -> dict[str, Any]:
        """The account settings this portfolio sets for itself."""
        return {k: v for k in ("fees", "fixed_fees", "slippage", "leverage", "allow_short",
                               "maintenance_margin", "min_notional", "qty_step", *FINANCING_KEYS)
                if (v := getattr(self, k)) is not None}


class InstrumentConfig(BaseModel):
    """One symbol's instrument spec (``multifolio.Instrument``): notional = qty x ``contract_size`` x
    price in ``quote_currency`` (converted into the account's at each bar's rate from the data's
    conversion series, e.g. ``USDJPY``); ``qty_step`` (lots), price ``tick``, ``min_notional`` (account
    currency) and ``leverage`` or ``margin_rate`` override the account's settings for the symbol."""

    model_config = _STRICT

    contract_size: Number = Field(1.0, gt=0)
    qty_step: Number | None = Field(None, ge=0)
    tick: Number = Field(0.0, ge=0)
    min_notional: Number | None = Field(None, ge=0)
    leverage: Number | None = Field(None, gt=0)
    margin_rate: Number | None = Field(None, gt=0, le=1)
    quote_currency: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_margin(self) -> InstrumentConfig:
        if self.leverage is not None and self.margin_rate is not None:
            raise ValueError("give leverage or margin_rate, not both")
        return self

    def spec(self) -> dict[str, Any]:
        """The keys given (``multifolio.backtest``'s ``instruments`` values)."""
        return self.model_dump(exclude_unset=True)


class AllocatorConfig(BaseModel):
    """Capital moved between portfolios toward target weights (``equal`` or ``{id: weight}``) on a
    schedule and/or when a weight drifts more than ``drift`` from its target."""

    model_config = _STRICT

    weights: Literal["equal"] | dict[str, Number] = "equal"
    schedule: Literal["daily", "weekly", "monthly"] | Annotated[int, Field(ge=1)] | None = "monthly"
    drift: Number | None = Field(None, gt=0, lt=1)
    min_transfer: Number = Field(0.0, ge=0)


class RunConfig(BaseModel):
    """One backtest run. Account settings map one to one onto ``multifolio.backtest``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    data: DataConfig
    strategy: StrategyConfig | None = None
    portfolios: list[PortfolioConfig] | None = Field(None, description="several portfolios on one clock")
    allocator: AllocatorConfig | None = None
    capital: Number = Field(10_000.0, gt=0, description="initial cash of the shared pool")
    fees: PerAsset = 0.0
    fixed_fees: PerAsset = 0.0
    slippage: PerAsset = 0.0
    execution: Literal["next_open", "close"] = "next_open"
    leverage: Leverage = 1.0
    allow_short: StrictBool = False
    # the engine's bound: liquidation when equity < rate x margin used, rate in [0, 1)
    maintenance_margin: Number = Field(0.5, ge=0, lt=1)
    min_notional: PerAsset = 0.0
    qty_step: PerAsset = 0.0
    # financing: overnight swaps (annual rates, > 0 paid), borrow on shorts, perpetual funding
    swap_long: SignedPerAsset = Field(0.0, description="annual swap rate of a long held over the rollover")
    swap_short: SignedPerAsset = Field(0.0, description="annual swap rate of a short (< 0: received)")
    borrow_rate: PerAsset = Field(0.0, description="annual borrow cost of a short")
    rollover_hour: Number = Field(22.0, ge=0, lt=24, description="daily swap rollover, hour UTC")
    triple_swap_day: Weekday = Field("wednesday", description="weekday whose rollover counts 3 days")
    funding: StrictBool = Field(True, description="charge the data's funding_rate field (perpetuals)")
    instruments: dict[str, InstrumentConfig] | None = Field(
        None, description="{symbol: instrument spec}: contract size, lots, tick, margin, quote currency")
    instruments_file: str | None = Field(None, description="YAML or JSON file of {symbol: instrument spec} "
                                                           "(relative to the config; instruments: wins)")
    account_currency: str = Field("USD", min_length=1, description="the account's currency")
    risk: list[RiskRuleConfig] = Field(default_factory=list)
    output: OutputConfig = Field(default_factory=OutputConfig)
    crash_pct: Number = Field(5.0, gt=0, lt=100, description="crash bar: the equal-weight index of the "
                                                           "assets is down at least this % over the window")
    crash_window: Number = Field(24.0, gt=0, description="crash window in hours")
    optimize: OptimizeConfig | None = Field(None, description="walk-forward optimisation settings")

    @model_validator(mode="after")
    def _strategy_or_portfolios(self) -> RunConfig:
        if self.strategy is not None and self.portfolios is not None:
            raise ValueError("give a strategy (one portfolio) or a portfolios: list, not both")
        if self.portfolios is not None:
            if not self.portfolios:
                raise ValueError("portfolios is empty")
            ids = [p.id for p in self.portfolios]
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ValueError(f"portfolio ids given twice: {', '.join(dup)}")
            if self.risk:
                raise ValueError("with portfolios:, risk rules belong to each portfolio")
            if self.allocator is not None and isinstance(self.allocator.weights, dict):
                unknown = [k for k in self.allocator.weights if k not in ids]
                if unknown:
                    raise ValueError(f"allocator.weights names unknown portfolio(s) {unknown}; ids: {ids}")
        elif self.allocator is not None:
            raise ValueError("an allocator moves capital between portfolios: give a portfolios: list")
        return self

    @property
    def per_asset_settings(self) -> dict[str, dict[str, float]]:
        """The account settings given as ``{symbol: value}`` mappings, by setting name."""
        return {k: v for k in ("fees", "fixed_fees", "slippage", "leverage", "min_notional", "qty_step",
                               "swap_long", "swap_short", "borrow_rate")
                if isinstance(v := getattr(self, k), dict)}
