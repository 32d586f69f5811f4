"""From a validated configuration to runs: its data source, its :class:`RunSpec`, and running it.

The YAML front end ends here: below the CLI, runs are ``RunSpec`` values on loaded ``MarketData``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from multifolio.api import backtest_portfolios, run_spec
from multifolio.cli.config.errors import ConfigError
from multifolio.cli.config.loading import load_config
from multifolio.cli.config.schema import RiskRuleConfig, RunConfig
from multifolio.data.market_data import MarketData
from multifolio.data.selection import check_symbols
from multifolio.data.source import DataSource, DataSourceError, load_market_data
from multifolio.data.window import pick_symbols, trading_window
from multifolio.portfolio.allocator import CapitalAllocator
from multifolio.portfolio.portfolios import Portfolio
from multifolio.portfolio.spec import AccountSpec, RuleSpec, RunSpec, build_rules, build_strategy
from multifolio.result import MultiResult, Result
from multifolio.sweep.sizing import sizing_sweep

__all__ = ["data_source", "load_data", "portfolios_of", "run_config", "run_portfolios", "sweep_config",
           "to_spec", "with_kill_switch", "with_rule"]


def with_kill_switch(config: RunConfig, *, pct: float | None = None, window: float | None = None,
                     mode: str | None = None) -> RunConfig:
    """A copy of ``config`` whose kill switch uses the given threshold (%) and window (hours).

    The existing ``kill_switch`` rule is updated, or one is added (``record`` mode by default).
    Nothing changes when every argument is None.
    """
    if pct is None and window is None and mode is None:
        return config
    if config.portfolios is not None:
        raise ConfigError(["kill-switch overrides apply to one portfolio; with portfolios: add a kill_switch "
                           "rule to each portfolio's risk: list in the config"])
    if pct is not None and not 0 < pct < 100:
        raise ConfigError([f"kill switch threshold must be in (0, 100) %, got {pct}"])
    if window is not None and not window > 0:
        raise ConfigError([f"kill switch window must be > 0 hours, got {window}"])
    return with_rule(config, "kill_switch", threshold=pct, window=window, mode=mode)


def with_rule(config: RunConfig, name: str, **params: Any) -> RunConfig:
    """A copy of ``config`` whose first ``name`` rule takes ``params`` (None values ignored); the rule
    is appended when the config has none. Nothing changes when every value is None."""
    update = {k: v for k, v in params.items() if v is not None}
    if not update:
        return config
    if config.portfolios is not None:
        raise ConfigError([f"a {name} override applies to one portfolio; with portfolios: add the rule to "
                           "each portfolio's risk: list in the config"])
    rules = list(config.risk)
    for i, rule in enumerate(rules):
        if rule.name == name:
            rules[i] = RiskRuleConfig(name=name, params={**rule.params, **update})
            break
    else:
        rules.append(RiskRuleConfig(name=name, params=update))
    return config.model_copy(update={"risk": rules})


def data_source(cfg: RunConfig) -> DataSource:
    dc = cfg.data
    return DataSource(sample=dc.sample, csv=dc.csv, parquet=dc.parquet, store=dc.store,
                      exchange=dc.exchange, timeframe=dc.timeframe, date_format=dc.date_format,
                      epoch_unit=dc.epoch_unit)


def to_spec(cfg: RunConfig) -> RunSpec:
    """The run a configuration describes, as a frozen spec (a one-portfolio config)."""
    if cfg.strategy is None:
        raise ConfigError(["this config has a portfolios: list; run it with run_config (several portfolios)"])
    dc = cfg.data
    account = AccountSpec(capital=cfg.capital, fees=cfg.fees, fixed_fees=cfg.fixed_fees,
                          slippage=cfg.slippage,
                          execution=cfg.execution, leverage=cfg.leverage, allow_short=cfg.allow_short,
                          maintenance_margin=cfg.maintenance_margin, min_notional=cfg.min_notional,
                          qty_step=cfg.qty_step, swap_long=cfg.swap_long, swap_short=cfg.swap_short,
                          borrow_rate=cfg.borrow_rate, rollover_hour=cfg.rollover_hour,
                          triple_swap_day=cfg.triple_swap_day, funding=cfg.funding,
                          instruments=({s: i.spec() for s, i in cfg.instruments.items()}
                                       if cfg.instruments else None),
                          account_currency=cfg.account_currency.upper())
    return RunSpec(strategy=cfg.strategy.name, params=dict(cfg.strategy.params),
                   per_asset={k: dict(v) for k, v in cfg.strategy.per_asset.items()}, account=account,
                   rules=tuple(RuleSpec(r.name, dict(r.params)) for r in cfg.risk),
                   symbols=tuple(dc.symbols) if dc.symbols is not None else None,
                   start=dc.start, end=dc.end, days=dc.days, warmup_bars=dc.warmup_bars,
                   crash_pct=cfg.crash_pct, crash_window_hours=cfg.crash_window)


def load_data(cfg: RunConfig, symbols: Sequence[str] | None = None) -> MarketData:
    """The configuration's candles (of ``symbols`` when the source can read a subset)."""
    try:
        return load_market_data(data_source(cfg), symbols)
    except DataSourceError as exc:
        raise ConfigError([str(exc)]) from None


def _config(config: RunConfig | str | Path) -> RunConfig:
    return load_config(config) if isinstance(config, (str, Path)) else config


def _spec_for(cfg: RunConfig, md: MarketData, assets: Sequence[str] | int | None) -> RunSpec:
    spec = to_spec(cfg)
    try:
        symbols = pick_symbols(list(md.symbols), list(spec.symbols) if spec.symbols else None, assets)
    except DataSourceError as exc:
        raise ConfigError([str(exc)]) from None
    spec = spec.replace(symbols=tuple(symbols))
    try:  # a bad parameter value surfaces here, named, before any bar runs
        build_strategy(spec, symbols)
    except (TypeError, ValueError) as exc:
        raise ConfigError([f"strategy.params: {exc}"]) from None
    try:
        build_rules(spec)
    except (TypeError, ValueError) as exc:
        raise ConfigError([f"risk: {exc}"]) from None
    return spec


def run_config(config: RunConfig | str | Path, *, capital: float | None = None,
               assets: Sequence[str] | int | None = None, days: float | None = None,
               start: Any = None, end: Any = None,
               progress: Callable[[int, int], None] | None = None) -> Result | MultiResult:
    """Run the backtest a configuration describes; keyword overrides take precedence over the file.

    ``assets`` is a list of symbols or an int (the first n symbols in config order). The period
    overrides replace the file's window as a whole: ``days=30`` alone means the last 30 days. Bars
    before the start (up to ``data.warmup_bars``) are warm-up.
    """
    cfg = _config(config)
    if capital is not None and not (isinstance(capital, (int, float)) and capital > 0):
        raise ConfigError([f"capital must be > 0, got {capital!r}"])
    if cfg.portfolios is not None:
        if capital is not None or assets is not None:
            raise ConfigError(["--capital / --assets apply to one portfolio; with portfolios: set each "
                               "portfolio's capital and symbols in the config"])
        return run_portfolios(cfg, days=days, start=start, end=end, progress=progress)
    md = load_data(cfg, None if assets is not None else cfg.data.symbols)
    spec = _spec_for(cfg, md, assets)
    if start is not None or end is not None or days is not None:
        spec = spec.replace(start=start, end=end, days=days)
    try:
        return run_spec(spec, md, capital=capital, progress=progress)
    except DataSourceError as exc:
        raise ConfigError([str(exc)]) from None


def sweep_config(config: RunConfig | str | Path, capitals: Sequence[float] | str,
                 n_assets: Sequence[int] | str, **options: Any) -> pd.DataFrame:
    """The sizing sweep of a configuration: its data loaded once (and sent once to each worker), then
    :func:`multifolio.sweep.sizing.sizing_sweep` over its spec. ``options`` go to the sweep."""
    cfg = _config(config)
    md = load_data(cfg, cfg.data.symbols)
    spec = _spec_for(cfg, md, None)
    try:
        return sizing_sweep(run_spec, spec, md, capitals, n_assets, **options)
    except DataSourceError as exc:
        raise ConfigError([str(exc)]) from None


def portfolios_of(cfg: RunConfig, md: MarketData) -> tuple[list[Portfolio], Any]:
    """The configuration's portfolios (strategy, rules and account of each) and its allocator."""
    base = to_spec(cfg.model_copy(update={"strategy": cfg.portfolios[0].strategy, "portfolios": None,
                                          "allocator": None}))
    run_settings = base.account.settings_for(list(md.symbols))
    run_settings.pop("cash")
    out = []
    for k, pc in enumerate(cfg.portfolios):
        symbols = list(pc.symbols) if pc.symbols is not None else list(md.symbols)
        try:
            check_symbols(symbols, list(md.symbols), f"portfolios[{k}].symbols")
        except DataSourceError as exc:
            raise ConfigError([str(exc)]) from None
        spec = RunSpec(strategy=pc.strategy.name, params=dict(pc.strategy.params),
                       per_asset={s: dict(v) for s, v in pc.strategy.per_asset.items()},
                       rules=tuple(RuleSpec(r.name, dict(r.params)) for r in pc.risk))
        try:
            strategy = build_strategy(spec, symbols)
            rules = build_rules(spec)
        except (TypeError, ValueError) as exc:
            raise ConfigError([f"portfolios[{k}] ({pc.id}): {exc}"]) from None
        own = {key: ({s: v for s, v in val.items() if s in symbols} if isinstance(val, dict) else val)
               for key, val in {**run_settings, **pc.overrides()}.items()}
        out.append(Portfolio(pc.id, strategy, capital=float(pc.capital), symbols=symbols, risk=rules,
                             settings=own))
    allocator = None
    if cfg.allocator is not None:
        a = cfg.allocator
        allocator = CapitalAllocator([p.id for p in out], weights=a.weights, schedule=a.schedule,
                                     drift=a.drift, min_transfer=a.min_transfer)
    return out, allocator


def run_portfolios(cfg: RunConfig, *, days: float | None = None, start: Any = None, end: Any = None,
                   progress: Callable[[int, int], None] | None = None,
                   data: MarketData | None = None) -> MultiResult:
    """Run a ``portfolios:`` configuration: every portfolio on one clock, in one pass over the data
    (``data``: the configuration's candles when the caller has loaded them already)."""
    md = data if data is not None else load_data(cfg, cfg.data.symbols)
    dc = cfg.data
    if start is None and end is None and days is None:
        start, end, days = dc.start, dc.end, dc.days
    try:
        md, first = trading_window(md, start=start, end=end, days=days, warmup_bars=dc.warmup_bars)
    except DataSourceError as exc:
        raise ConfigError([str(exc)]) from None
    portfolios, allocator = portfolios_of(cfg, md)
    return backtest_portfolios(md, portfolios, allocator=allocator, start=first, progress=progress,
                               crash_pct=cfg.crash_pct, crash_window_hours=cfg.crash_window)
