"""The entry points: ``from_weights`` (vectorised targets), ``backtest`` (a Strategy) and ``run_spec``
(a :class:`~multifolio.portfolio.spec.RunSpec` on loaded data, what sweeps map over)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from multifolio.assemble import assemble, assemble_portfolios
from multifolio.data.market_data import MarketData
from multifolio.data.selection import check_symbols
from multifolio.data.window import pick_symbols, trading_window
from multifolio.engine.instruments import conversion_symbol
from multifolio.engine.run_info import AccountSpec, RunInfo
from multifolio.engine.settings import AccountSettings, make_settings
from multifolio.engine.simulator import PortfolioSetup, ProgressFn, Simulator
from multifolio.engine.strategy import Strategy
from multifolio.engine.vectorized import price_panel, simulate_weights
from multifolio.portfolio.portfolios import Portfolio, check_portfolios
from multifolio.portfolio.risk import describe_rule, make_rule
from multifolio.portfolio.spec import RunSpec, build_rules, build_strategy
from multifolio.result import MultiResult, Result

__all__ = ["backtest", "backtest_portfolios", "from_weights", "from_weights_portfolios", "optimize",
           "run_spec"]


def from_weights(close: pd.DataFrame, weights: pd.DataFrame, *, open: pd.DataFrame | None = None,
                 cash: float = 1_000_000.0, fees: Any = 0.0, fixed_fees: Any = 0.0, slippage: Any = 0.0,
                 execution: str = "next_open", leverage: Any = 1.0, allow_short: bool = False,
                 maintenance_margin: float = 0.5, min_notional: Any = 0.0, qty_step: Any = 0.0,
                 close_at_end: bool = True) -> Result:
    """Backtest a table of target weights on one shared cash (or margin) account.

    ``close`` and ``weights`` are wide DataFrames (index = timestamps, columns = symbols). A weights row
    decided at bar t executes at the open of t+1 (``execution="next_open"``, the default; at the next
    close when ``open`` is not given) or at the close of t (``execution="close"``, optimistic). NaN weight =
    leave that asset alone; an all-NaN row = no rebalance. Sells execute before buys; buys that cash
    cannot cover are scaled down together. ``fees``/``slippage`` are fractions (0.001 = 0.1%), floats or
    ``{symbol: value}`` dicts.

    >>> import pandas as pd, multifolio as mf
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    >>> close = pd.DataFrame({"A": [10.0, 11.0, 12.0], "B": [20.0, 20.0, 10.0]}, index=idx)
    >>> w = pd.DataFrame({"A": [0.5, None, None], "B": [0.5, None, None]}, index=idx)
    >>> res = mf.from_weights(close, w, cash=1000.0, execution="close")
    >>> [round(x, 2) for x in res.equity]
    [1000.0, 1050.0, 850.0]
    """
    settings = dict(cash=cash, fees=fees, fixed_fees=fixed_fees, slippage=slippage, execution=execution,
                    leverage=leverage, allow_short=allow_short, maintenance_margin=maintenance_margin,
                    min_notional=min_notional, qty_step=qty_step, close_at_end=close_at_end)
    if isinstance(close, pd.DataFrame):
        _check_not_empty(len(close.index), len(close.columns), "close")
    raw = simulate_weights(close, weights, open=open, **settings)
    info = RunInfo(engine="from_weights", account=_account_spec(settings),
                   symbols=tuple(raw.symbols), start=_first(raw.index, 0))
    return assemble(raw, info)


def backtest(data: MarketData | pd.DataFrame, strategy: Strategy, *, cash: float = 1_000_000.0,
             fees: Any = 0.0, fixed_fees: Any = 0.0, slippage: Any = 0.0, execution: str = "next_open",
             leverage: Any = 1.0, allow_short: bool = False, maintenance_margin: float = 0.5,
             min_notional: Any = 0.0, qty_step: Any = 0.0, risk: Sequence[Any] = (),
             start: Any = None, close_at_end: bool = True, progress: ProgressFn | None = None,
             swap_long: Any = 0.0, swap_short: Any = 0.0, borrow_rate: Any = 0.0,
             rollover_hour: float = 22.0, triple_swap_day: str = "wednesday", funding: bool = True,
             instruments: Mapping[str, Any] | None = None, account_currency: str = "USD") -> Result:
    """Run a ``Strategy`` over ``data`` on one shared cash (or margin) account.

    ``data`` is a ``MarketData`` or a wide close DataFrame. Settings as in ``from_weights``, plus
    ``leverage`` (float or per-asset dict; any value other than 1, or ``allow_short``, makes a margin
    account), ``maintenance_margin`` (liquidation when equity < rate x margin used), exchange rules
    ``min_notional`` and ``qty_step``, ``risk`` rules (objects such as ``KillSwitch(...)``, registry
    names, or ``{"rule": name, **params}`` dicts), ``start`` (the bars before it are warm-up: seen by the
    strategy's indicators, never traded, left out of the Result), and a ``progress(bars_done, total)``
    callback. Financing (``Result.financing``, snapshot column ``financing_paid``): ``swap_long`` /
    ``swap_short`` annual rates (per asset) charged on positions held over the daily rollover at
    ``rollover_hour`` UTC (Monday to Friday, three times on ``triple_swap_day``), ``borrow_rate`` (annual)
    on shorts, and the data's ``funding_rate`` field (perpetual funding) unless ``funding=False``.
    ``instruments``: per-symbol specs (``{symbol: {contract_size, qty_step, tick, min_notional,
    leverage | margin_rate, quote_currency}}`` or ``multifolio.Instrument`` values): quantity x contract
    size x price is the notional; an instrument quoted in another currency than ``account_currency`` has
    its PnL, margin, fees and financing converted at each bar's close of the conversion series in
    ``data`` (``USDJPY`` for JPY in a USD account, ``GBPUSD`` for GBP), see ``engine/instruments.py``.

    >>> import numpy as np, pandas as pd, multifolio as mf
    >>> from multifolio.strategies import EqualWeight
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    >>> close = pd.DataFrame({"A": [10.0, 11, 12, 13], "B": [20.0, 19, 18, 17]}, index=idx)
    >>> res = mf.backtest(close, EqualWeight(schedule="every_bar"), cash=1000.0, execution="close")
    >>> round(float(res.equity.iloc[-1]), 2)
    1059.13
    """
    return _backtest(data, strategy, dict(cash=cash, fees=fees, fixed_fees=fixed_fees, slippage=slippage,
                                          execution=execution, leverage=leverage, allow_short=allow_short,
                                          maintenance_margin=maintenance_margin, min_notional=min_notional,
                                          qty_step=qty_step, close_at_end=close_at_end,
                                          **_financing_settings(swap_long=swap_long, swap_short=swap_short,
                                                                borrow_rate=borrow_rate,
                                                                rollover_hour=rollover_hour,
                                                                triple_swap_day=triple_swap_day,
                                                                funding=funding),
                                          **_instrument_settings(instruments, account_currency)),
                     risk=risk, start=start, progress=progress)


def _instrument_settings(instruments: Any, account_currency: str) -> dict[str, Any]:
    """The instrument settings given (a run without them reports none)."""
    out: dict[str, Any] = {}
    if instruments:
        out["instruments"] = instruments
    if account_currency != "USD":
        out["account_currency"] = account_currency
    return out


_FINANCING_DEFAULTS = dict(swap_long=0.0, swap_short=0.0, borrow_rate=0.0, rollover_hour=22.0,
                           triple_swap_day="wednesday", funding=True)


def _financing_settings(**given: Any) -> dict[str, Any]:
    """The financing settings that differ from the defaults (a run without financing reports none)."""
    return {k: v for k, v in given.items()
            if isinstance(v, Mapping) or v != _FINANCING_DEFAULTS[k]}


def _backtest(data: Any, strategy: Any, account: dict[str, Any], *, risk: Sequence[Any] = (),
              start: Any = None, progress: ProgressFn | None = None, crash_pct: float | None = None,
              crash_window_hours: float | None = None, symbols: list[str] | None = None) -> Result:
    if isinstance(data, pd.DataFrame):
        data = MarketData.from_frames(close=data)
    if not isinstance(data, MarketData):
        raise ValueError(f"data must be a MarketData or a wide close DataFrame, got {type(data).__name__}")
    if not isinstance(strategy, Strategy):
        raise ValueError(f"strategy must be a multifolio Strategy instance, got {type(strategy).__name__}")
    if isinstance(risk, (str, dict)) or not isinstance(risk, Sequence):
        raise ValueError(f"risk must be a list of rules, got {type(risk).__name__}")
    rules = []
    for i, r in enumerate(risk):
        try:
            rules.append(make_rule(r))
        except ValueError as exc:
            raise ValueError(f"risk[{i}]: {exc}") from None
    _check_not_empty(data.n_bars, data.n_assets, "data")
    # ``symbols``: the traded ones when ``data`` also holds conversion series (run_spec)
    symbols = list(data.symbols) if symbols is None else symbols
    settings = make_settings(symbols, **account)
    start_bar = _start_bar(data.index, start)
    setup = PortfolioSetup(settings, strategy, rules, None if symbols == list(data.symbols) else symbols)
    raw = Simulator(data, [setup], start_bar=start_bar).run(progress)[0]
    return assemble(raw, _run_info(settings, strategy, rules, symbols, _first(data.index, start_bar),
                                   crash_pct, crash_window_hours))


def _account_spec(settings: dict[str, Any]) -> AccountSpec:
    """The account as given to ``backtest``/``from_weights`` (``cash`` is the spec's ``capital``)."""
    given = dict(settings)
    return AccountSpec(capital=float(given.pop("cash")), **given)


def _check_not_empty(n_bars: int, n_assets: int, what: str) -> None:
    if n_bars == 0:
        raise ValueError(f"{what} has no bars (an empty frame): nothing to backtest")
    if n_assets == 0:
        raise ValueError(f"{what} has no assets (a frame without columns): nothing to backtest")


def _start_bar(index: pd.DatetimeIndex, start: Any) -> int:
    if start is None:
        return 0
    ts = pd.Timestamp(start)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    bar = int(index.searchsorted(ts))
    if bar >= len(index):
        raise ValueError(f"start {ts} is after the last bar {index[-1]}")
    return bar


def _first(index: pd.DatetimeIndex, bar: int) -> str | None:
    return str(index[bar]) if bar < len(index) else None


def _run_info(settings: AccountSettings, strategy: Strategy, rules: list[Any], symbols: list[str],
              start: str | None, crash_pct: float | None, crash_window_hours: float | None) -> RunInfo:
    min_capital = np.asarray(strategy.min_capital_per_asset(symbols, settings.min_notional), dtype=np.float64)
    described = dataclasses.replace(strategy.describe(),
                                    min_capital_per_asset=tuple(float(x) for x in min_capital))
    return RunInfo(engine="backtest", account=_account_spec(settings.raw), symbols=tuple(symbols),
                   start=start, strategy=described, rules=tuple(describe_rule(r) for r in rules),
                   crash_pct=crash_pct, crash_window_hours=crash_window_hours)


def run_spec(spec: RunSpec, data: MarketData, *, capital: float | None = None,
             progress: ProgressFn | None = None) -> Result:
    """Run what ``spec`` describes on ``data`` (already loaded: sweeps load it once per worker).

    The spec picks the symbols (in its order) and the period; up to ``spec.warmup_bars`` bars before
    the period warm the indicators up. ``capital`` overrides the spec's account capital.

    >>> import multifolio as mf
    >>> from multifolio.data import samples
    >>> from multifolio.portfolio.spec import AccountSpec, RunSpec
    >>> spec = RunSpec(strategy="equal_weight", params={"schedule": "daily"},
    ...                account=AccountSpec(capital=1_000.0), symbols=("BTC/USDT", "ETH/USDT"), days=5)
    >>> res = mf.run_spec(spec, samples.crypto_hourly())
    >>> len(res.equity), res.info.symbols
    (120, ('BTC/USDT', 'ETH/USDT'))
    """
    if not isinstance(spec, RunSpec):
        raise ValueError(f"spec must be a RunSpec, got {type(spec).__name__}")
    symbols = pick_symbols(list(data.symbols), list(spec.symbols) if spec.symbols is not None else None)
    for key, named in spec.account.per_asset_keys().items():
        check_symbols(named, list(data.symbols), key)
    if spec.per_asset:
        check_symbols(list(spec.per_asset), list(data.symbols), "strategy.per_asset")
    keep = symbols + _conversion_series(spec.account, symbols, list(data.symbols))
    md, start = trading_window(data, start=spec.start, end=spec.end, days=spec.days,
                               warmup_bars=spec.warmup_bars,
                               symbols=None if keep == list(data.symbols) else keep)
    account = spec.account if capital is None else spec.account.replace(capital=capital)
    return _backtest(md, build_strategy(spec, symbols), account.settings_for(symbols), risk=build_rules(spec),
                     start=start, progress=progress, crash_pct=spec.crash_pct,
                     crash_window_hours=spec.crash_window_hours,
                     symbols=symbols if len(keep) > len(symbols) else None)


def _conversion_series(account: AccountSpec, symbols: list[str], available: list[str]) -> list[str]:
    """The data's conversion series the traded instruments need and the run does not trade (a missing
    one is left to the engine, whose error names it)."""
    out: list[str] = []
    for sym, spec in (account.instruments or {}).items():
        quote = spec.get("quote_currency") if isinstance(spec, Mapping) \
            else getattr(spec, "quote_currency", None)
        if sym not in symbols or quote is None or str(quote).upper() == account.account_currency.upper():
            continue
        try:
            name, _ = conversion_symbol(str(quote).upper(), account.account_currency.upper(), available)
        except ValueError:
            continue
        if name not in symbols and name not in out:
            out.append(name)
    return out


def backtest_portfolios(data: MarketData | pd.DataFrame, portfolios: Sequence[Portfolio], *,
                        allocator: Any = None, start: Any = None, progress: ProgressFn | None = None,
                        crash_pct: float | None = None, crash_window_hours: float | None = None,
                        **settings: Any) -> MultiResult:
    """Run several portfolios on one clock, each on its own account, in one pass over the data.

    ``portfolios`` are :class:`~multifolio.portfolio.portfolios.Portfolio` (id, strategy, capital,
    symbols, risk, per-portfolio account settings); ``settings`` are the account settings they share
    (as ``backtest``'s). An ``allocator`` (:class:`~multifolio.portfolio.allocator.CapitalAllocator`)
    moves free cash between them toward target weights. Without one, each portfolio's result equals the
    same portfolio run alone, to the bit.

    >>> import pandas as pd, multifolio as mf
    >>> from multifolio.strategies import EqualWeight
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    >>> close = pd.DataFrame({"A": [10.0, 11, 12], "B": [20.0, 19, 18]}, index=idx)
    >>> res = mf.backtest_portfolios(close, [mf.Portfolio("a", EqualWeight("every_bar"), 1000.0, ["A"]),
    ...                                      mf.Portfolio("b", EqualWeight("every_bar"), 500.0, ["B"])],
    ...                              execution="close")
    >>> [round(float(res.portfolios[k].equity.iloc[-1]), 2) for k in res.ids]
    [1200.0, 450.0]
    """
    if isinstance(data, pd.DataFrame):
        data = MarketData.from_frames(close=data)
    if not isinstance(data, MarketData):
        raise ValueError(f"data must be a MarketData or a wide close DataFrame, got {type(data).__name__}")
    _check_not_empty(data.n_bars, data.n_assets, "data")
    portfolios = list(portfolios)
    check_portfolios(portfolios)
    start_bar = _start_bar(data.index, start)
    setups, infos = [], {}
    for p in portfolios:
        symbols = list(data.symbols) if p.symbols is None else [str(s) for s in p.symbols]
        check_symbols(symbols, list(data.symbols), f"portfolio {p.id!r} symbols")
        account = p.account_settings(settings, symbols)
        rules = [make_rule(r) for r in p.risk]
        setups.append(PortfolioSetup(account, p.strategy, rules, symbols, p.id))
        infos[p.id] = dataclasses.replace(
            _run_info(account, p.strategy, rules, symbols, _first(data.index, start_bar), crash_pct,
                      crash_window_hours), portfolio_id=p.id)
    if allocator is not None:
        if not all(hasattr(allocator, a) for a in ("bind", "due", "transfers")):
            raise ValueError(f"allocator must be a CapitalAllocator, got {type(allocator).__name__}")
        if list(getattr(allocator, "ids", [])) != [p.id for p in portfolios]:
            raise ValueError(f"allocator portfolios {getattr(allocator, 'ids', None)} differ from the run's "
                             f"{[p.id for p in portfolios]}")
        allocator.bind(data.index, start_bar)
    raws = Simulator(data, setups, start_bar=start_bar, allocator=allocator).run(progress)
    total = float(sum(p.capital for p in portfolios))
    symbols_all = tuple(dict.fromkeys(s for setup in setups for s in setup.symbols))
    combined = RunInfo(engine="backtest_portfolios", account=AccountSpec(capital=total), symbols=symbols_all,
                       start=_first(data.index, start_bar), crash_pct=crash_pct,
                       crash_window_hours=crash_window_hours, portfolio_id="combined")
    return assemble_portfolios({setup.id: raw for setup, raw in zip(setups, raws, strict=True)}, infos,
                               combined, allocator.describe() if allocator is not None else None)


def from_weights_portfolios(close: pd.DataFrame, weights: Mapping[str, pd.DataFrame], *,
                            cash: float | Mapping[str, float] = 1_000_000.0, open: pd.DataFrame | None = None,
                            **settings: Any) -> MultiResult:
    """Several target-weight portfolios, each on its own account: ``weights`` maps a portfolio id to its
    weight table (columns: the symbols it trades, a subset of ``close``'s); ``cash`` is one amount for
    every portfolio or ``{id: amount}``. Settings as in ``from_weights``. Each portfolio's result equals
    ``from_weights`` on its own columns.

    >>> import pandas as pd, multifolio as mf
    >>> idx = pd.date_range("2024-01-01", periods=2, freq="D", tz="UTC")
    >>> close = pd.DataFrame({"A": [10.0, 11.0], "B": [20.0, 10.0]}, index=idx)
    >>> w = {"a": pd.DataFrame({"A": [1.0, None]}, index=idx),
    ...      "b": pd.DataFrame({"B": [1.0, None]}, index=idx)}
    >>> res = mf.from_weights_portfolios(close, w, cash=100.0, execution="close")
    >>> [float(res.portfolios[k].equity.iloc[-1]) for k in ("a", "b")], float(res.combined.equity.iloc[-1])
    ([110.0, 50.0], 160.0)
    """
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError("weights must be a non-empty {portfolio id: weight DataFrame} mapping")
    _check_not_empty(len(close.index), len(close.columns), "close")
    panel = price_panel(close, open)                  # checked once for every portfolio
    raws, infos = {}, {}
    for pid, w in weights.items():
        if not isinstance(w, pd.DataFrame):
            raise ValueError(f"weights[{pid!r}] must be a DataFrame, got {type(w).__name__}")
        cols = [str(c) for c in w.columns.tolist()]
        check_symbols(cols, panel.symbols, f"weights[{pid!r}]")
        amount = cash.get(pid) if isinstance(cash, Mapping) else cash
        if amount is None:
            raise ValueError(f"cash has no amount for portfolio {pid!r}")
        account = dict(settings, cash=amount)
        try:
            raws[str(pid)] = simulate_weights(panel.columns(cols), w, **account)
        except ValueError as exc:
            raise ValueError(f"portfolio {pid!r}: {exc}") from None
        infos[str(pid)] = RunInfo(engine="from_weights", account=_account_spec(account), symbols=tuple(cols),
                                  start=_first(panel.index, 0), portfolio_id=str(pid))
    total = float(sum(i.account.capital for i in infos.values()))
    first = next(iter(raws.values()))
    combined = RunInfo(engine="from_weights_portfolios", account=AccountSpec(capital=total),
                       symbols=tuple(dict.fromkeys(s for i in infos.values() for s in i.symbols)),
                       start=_first(first.index, 0), portfolio_id="combined")
    return assemble_portfolios(raws, infos, combined)


def optimize(data: MarketData | pd.DataFrame, strategy: Any, param_grid: dict[str, Sequence[Any]], *,
             train: Any, test: Any, objective: str = "sharpe", mode: str = "both", anchored: bool = False,
             constraints: Sequence[str] = (), params: dict[str, Any] | None = None,
             per_asset: dict[str, dict[str, Any]] | None = None, capital: float = 10_000.0,
             account: AccountSpec | None = None, risk: Sequence[Any] = (),
             symbols: Sequence[str] | None = None,
             start: Any = None, end: Any = None, days: float | None = None, warmup_bars: int = 0,
             n_blocks: int = 8, workers: int | None = 1, backend: str = "processes",
             checkpoint: Any = None, resume: bool = False, progress: Any = None,
             **backend_options: Any) -> Any:
    """Walk-forward optimisation of a strategy over ``param_grid``, per asset and on the shared pool.

    ``strategy`` is a registered strategy class (or its registry name, or a whole ``RunSpec``, whose
    account, rules, symbols and period are then used); ``params`` its fixed parameters, ``param_grid``
    the values to try (``{"num_levels": [3, 5]}``). ``train``/``test`` are durations (``"90d"``),
    ``objective`` a ``Result.metrics`` key (``-max_drawdown_pct`` to minimise), ``constraints`` e.g.
    ``["max_drawdown_pct<=30"]``, ``mode`` ``per-asset`` | ``portfolio`` | ``both``. The account is
    ``account`` or one of ``capital``; ``risk`` rules by name or ``{"rule": name, ...}``. Evaluations run
    in ``workers`` processes (default 1: in this process; None: one per core; ``backend="dask"``: a
    local cluster, or ``client``/``address``), checkpointed in the DuckDB file ``checkpoint``
    (``resume=True`` reuses it). Returns a :class:`multifolio.sweep.optimize.WalkForwardResult`.

    >>> import multifolio as mf
    >>> from multifolio.data import synthetic
    >>> from multifolio.strategies import SmaCross
    >>> md = synthetic(n_assets=2, n_bars=24 * 40, seed=3)
    >>> wf = mf.optimize(md, SmaCross, {"fast": [5, 10], "slow": [30]}, train="20d", test="10d",
    ...                  mode="portfolio", objective="total_return_pct")
    >>> len(wf.windows), list(wf.equity.columns), wf.evaluations["run"]
    (2, ['portfolio'], 6)
    """
    from multifolio.portfolio.spec import RuleSpec
    from multifolio.sweep.optimize import walk_forward

    if isinstance(data, pd.DataFrame):
        data = MarketData.from_frames(close=data)
    if isinstance(strategy, RunSpec):
        spec = strategy
        if params:
            spec = spec.replace(params={**spec.params, **params})
    else:
        name = strategy if isinstance(strategy, str) else getattr(strategy, "name", None)
        if not isinstance(name, str) or name not in _registry():
            raise ValueError(f"strategy must be a registered strategy class or name, got {strategy!r}")
        rules = []
        for r in risk:
            rule = make_rule(r)
            info = describe_rule(rule)
            rules.append(RuleSpec(info.name, dict(info.params)))
        spec = RunSpec(strategy=name, params=dict(params or {}), per_asset=dict(per_asset or {}),
                       account=account if account is not None else AccountSpec(capital=float(capital)),
                       rules=tuple(rules), symbols=tuple(symbols) if symbols is not None else None,
                       start=start, end=end, days=days, warmup_bars=int(warmup_bars))
    return walk_forward(run_spec, spec, data, param_grid, train=train, test=test, anchored=anchored,
                        objective=objective, constraints=constraints, mode=mode, n_blocks=n_blocks,
                        workers=workers, backend=backend, progress=progress, checkpoint=checkpoint,
                        resume=resume, **backend_options)


def _registry() -> dict[str, Any]:
    from multifolio.strategies.registry import STRATEGIES

    return STRATEGIES
