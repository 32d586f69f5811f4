"""Walk-forward optimisation, per asset and on the shared pool, with overfitting statistics.

For each walk-forward window (:mod:`multifolio.sweep.windows`) every parameter combination of the grid
is run on the train span, the best one by the objective (among those meeting the constraints) is chosen,
and the shared pool then runs the test span with the chosen parameters. Two ways to choose:

* ``per-asset``: each asset runs alone on capital / N and picks its own combination (the usual
  practice); the pool then trades every asset with its own choice (``per_asset`` parameters).
* ``portfolio``: the pool itself runs each combination, as **one shared parameter set for every asset**,
  and the set with the best pool objective is chosen. One shared set rather than a coordinate-wise
  search of per-asset sets: it costs G pool runs per window instead of N x G per sweep of the
  coordinates (times the passes until they settle), the result does not depend on the order in which
  the assets are visited, and the number of trials behind the choice stays G, the same as each asset's
  choice in per-asset mode, so the deflated Sharpe ratios and PBOs of both modes count the same trials.

The test spans follow each other, so each mode's out-of-sample equity is stitched from them (each test
run starts flat with the pool's capital; its returns are chained). In-sample and out-of-sample
objectives are reported per window (in per-asset mode the in-sample objective is the pool's, run on the
train span with the chosen parameters, so that both are measured on the same account). The deflated
Sharpe ratio and PBO (:mod:`multifolio.sweep.overfit`) are computed per window from the train runs of
the G combinations (per asset in per-asset mode, then averaged over the assets).

Every evaluation is one ``run(spec, data)`` task (``run`` is ``multifolio.run_spec``, passed in by the
layer above) mapped by :func:`~multifolio.sweep.runner.run_sweep` with the data sent once per worker:
first all train runs of all windows, then all test runs. Finished evaluations go to a DuckDB checkpoint
(:class:`~multifolio.sweep.checkpoint.Checkpoint`) as they finish; ``resume=True`` skips those found.
Choices do not depend on the order in which runs finish (ties go to the first combination in grid
order), so any number of workers and either backend give the same result.
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from multifolio.analytics.drawdown import max_drawdown_pct
from multifolio.analytics.metrics import compute_metrics, metric_groups
from multifolio.data.market_data import MarketData
from multifolio.data.window import select_window
from multifolio.portfolio.spec import RunSpec, build_strategy
from multifolio.sweep.checkpoint import Checkpoint, data_fingerprint, evaluation_key
from multifolio.sweep.grid import expand_grid
from multifolio.sweep.overfit import block_stats, deflated_sharpe_ratio, pbo_from_blocks, return_moments
from multifolio.sweep.runner import run_sweep
from multifolio.sweep.sizing import RunFn
from multifolio.sweep.windows import Window, make_windows

__all__ = ["MODES", "Constraint", "WalkForwardResult", "evaluate", "parse_constraint", "parse_objective",
           "walk_forward"]

MODES = ("per-asset", "portfolio")

_OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge,
                                                   "<": operator.lt, ">": operator.gt}


@dataclass(frozen=True)
class Constraint:
    """``metric op value`` (op in <=, >=, <, >), e.g. ``max_drawdown_pct <= 30``; NaN fails."""

    metric: str
    op: str
    value: float

    def ok(self, metrics: Mapping[str, Any]) -> bool:
        """Whether the metrics meet the constraint."""
        x = metrics.get(self.metric)
        return x is not None and math.isfinite(float(x)) and _OPS[self.op](float(x), self.value)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


def parse_constraint(text: str | Constraint) -> Constraint:
    """``"max_drawdown_pct<=30"`` -> ``Constraint("max_drawdown_pct", "<=", 30.0)``.

    >>> parse_constraint("max_drawdown_pct <= 30")
    Constraint(metric='max_drawdown_pct', op='<=', value=30.0)
    """
    if isinstance(text, Constraint):
        return text
    s = str(text).replace(" ", "")
    for op in ("<=", ">=", "<", ">"):
        if op in s:
            metric, _, value = s.partition(op)
            try:
                v = float(value)
            except ValueError:
                break
            if metric and math.isfinite(v):
                return Constraint(metric, op, v)
            break
    raise ValueError("a constraint is METRIC<=VALUE or METRIC>=VALUE (e.g. max_drawdown_pct<=30), "
                     f"got {text!r}")


def parse_objective(objective: str) -> tuple[str, float]:
    """``"calmar"`` -> ``("calmar", 1.0)`` (maximised); ``"-max_drawdown_pct"`` -> minimised.

    >>> parse_objective("-max_drawdown_pct")
    ('max_drawdown_pct', -1.0)
    """
    text = str(objective).strip()
    sign = -1.0 if text.startswith("-") else 1.0
    key = text.lstrip("+-").strip()
    if not key:
        raise ValueError("objective: give a metric name such as sharpe, calmar or -max_drawdown_pct")
    return key, sign


def evaluate(data: MarketData, run: RunFn, spec: RunSpec, n_blocks: int = 8,
             keep_equity: bool = False, metric_keys: Sequence[str] | None = None) -> dict[str, Any]:
    """One evaluation: ``run(spec, data)`` reduced to what the optimisation needs (JSON-able).

    ``metrics``: the Result's numeric metrics (with ``metric_keys``, those of the metric groups holding
    them: a train run is ranked by its objective and constraints only); ``moments``: per-bar return moments
    (:func:`~multifolio.sweep.overfit.return_moments`); ``blocks``: the returns' block sums for CSCV;
    with ``keep_equity`` the equity values and their timestamps (ns since the epoch).
    """
    result = run(spec, data)
    equity = result.equity
    values = equity.to_numpy(dtype=np.float64)
    initial = float(result.initial_capital)
    prev = np.concatenate([[initial], values[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = np.where(prev > 0, values / prev - 1.0, 0.0)
    metrics = {}
    computed = result.metrics if metric_keys is None else compute_metrics(result, keys=metric_keys)
    for k, v in computed.items():
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
            metrics[k] = float(v)
    out: dict[str, Any] = {"metrics": metrics, "moments": return_moments(returns),
                           "blocks": block_stats(returns, n_blocks).tolist()}
    if keep_equity:
        out["equity"] = values.tolist()
        out["times"] = equity.index.asi8.tolist()
    return out


@dataclass(frozen=True)
class WalkForwardResult:
    """What a walk-forward optimisation found (built once by :func:`walk_forward`).

    ``windows``: one row per window (train/test spans). ``choices``: the chosen combination per mode,
    window and symbol (``*`` = the shared set of portfolio mode) with its in-sample objective.
    ``table``: per mode and window the in-sample and out-of-sample objective, test return, DSR and PBO.
    ``equity``: the stitched out-of-sample equity of the shared pool, one column per mode.
    ``summary``: per mode the out-of-sample return, max drawdown and margin peak, mean DSR and PBO.
    ``final_params``: per mode, ``{symbol: params}`` chosen on the last window.
    ``evaluations``: ``run`` (evaluated now), ``cached`` (found in the checkpoint), ``total``.
    """

    objective: str
    modes: tuple[str, ...]
    grid: dict[str, list[Any]]
    n_combinations: int
    n_invalid: int
    constraints: tuple[str, ...]
    capital: float
    windows: pd.DataFrame
    choices: pd.DataFrame
    table: pd.DataFrame
    equity: pd.DataFrame
    summary: dict[str, dict[str, float]]
    final_params: dict[str, dict[str, dict[str, Any]]]
    evaluations: dict[str, int] = field(default_factory=dict)

    def per_asset_yaml(self, mode: str | None = None) -> str:
        """The ``per_asset:`` block of ``mode``'s final parameters (default: per-asset mode when run),
        ready to paste under ``strategy:`` in a config."""
        mode = mode or ("per-asset" if "per-asset" in self.modes else self.modes[0])
        if mode not in self.final_params:
            raise ValueError(f"mode {mode!r} was not run; ran {list(self.modes)}")
        last = self.windows.iloc[-1]
        block = {sym: _plain_params(p) for sym, p in self.final_params[mode].items()}
        head = (f"# walk-forward optimisation ({mode} mode, objective {self.objective}): the parameters "
                f"chosen on the last train span,\n# {last['train_start']} .. {last['train_end']}. "
                "Paste under strategy: in a config.\n")
        body = yaml.safe_dump({"per_asset": block}, sort_keys=False, default_flow_style=None, width=1000)
        return head + body

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able document of the whole result."""
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]

        equity = [{"timestamp": str(t), **{m: _json_value(v) for m, v in row.items()}}
                  for t, row in self.equity.iterrows()]
        return {"objective": self.objective, "modes": list(self.modes), "grid": self.grid,
                "n_combinations": self.n_combinations, "n_invalid_combinations": self.n_invalid,
                "constraints": list(self.constraints), "capital": self.capital,
                "windows": records(self.windows), "choices": records(self.choices),
                "per_window": records(self.table),
                "summary": {m: {k: _json_value(v) for k, v in s.items()} for m, s in self.summary.items()},
                "final_params": {m: {s: _plain_params(p) for s, p in fp.items()}
                                 for m, fp in self.final_params.items()},
                "evaluations": dict(self.evaluations), "equity": equity}


def _json_value(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return str(v)
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _plain_params(p: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in p.items()}


@dataclass(frozen=True)
class _Task:
    stage: str            # "train" | "test" | "is" (the pool on a train span with the chosen parameters)
    mode: str
    window: int
    symbol: str | None    # per-asset train runs: the asset; else None
    combo: int            # train runs: the combination's index; else -1
    spec: RunSpec
    keep_equity: bool = False
    metric_keys: tuple[str, ...] | None = None     # None: every metric


def _modes(mode: str | Sequence[str]) -> tuple[str, ...]:
    items = [mode] if isinstance(mode, str) else list(mode)
    out: list[str] = []
    for m in items:
        m = str(m).replace("_", "-")
        if m == "both":
            out.extend(MODES)
        elif m in MODES:
            out.append(m)
        else:
            raise ValueError(f"mode must be per-asset, portfolio or both, got {m!r}")
    return tuple(m for m in MODES if m in out)


def _choose(payloads: Sequence[Mapping[str, Any]], key: str, sign: float,
            constraints: Sequence[Constraint]) -> tuple[int, bool]:
    """The best combination (first in grid order on ties) among those meeting the constraints (all of
    them when none does); and whether the constraints were met."""
    scores = []
    for p in payloads:
        metrics = p["metrics"]
        if key not in metrics:
            raise ValueError(f"objective {key!r} is not a metric; metrics: {', '.join(sorted(metrics))}")
        x = float(metrics[key]) * sign
        scores.append(x if math.isfinite(x) else -math.inf)
    meets = [all(c.ok(p["metrics"]) for c in constraints) for p in payloads]
    pool = [i for i, ok in enumerate(meets) if ok] or list(range(len(payloads)))
    best = max(pool, key=lambda i: (scores[i], -i))
    return best, bool(meets[best])


def _overfit(payloads: Sequence[Mapping[str, Any]], chosen: int) -> tuple[float, float]:
    """(DSR of the chosen trial given all trials, PBO by CSCV over the trials)."""
    srs = np.array([p["moments"]["sharpe"] for p in payloads], dtype=np.float64)
    finite = srs[np.isfinite(srs)]
    var = float(np.var(finite, ddof=1)) if finite.size > 1 else 0.0
    m = payloads[chosen]["moments"]
    dsr = deflated_sharpe_ratio(float(m["sharpe"]), n_trials=len(payloads), var_trials=var,
                                n_obs=int(m["n"]), skew=float(m["skew"]), kurt=float(m["kurt"]))
    blocks = np.array([p["blocks"] for p in payloads], dtype=np.float64)
    pbo = float(pbo_from_blocks(blocks)["pbo"]) if len(payloads) > 1 else float("nan")
    return dsr, pbo


def _nanmean(values: Sequence[float]) -> float:
    arr = np.array([v for v in values if v is not None], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float("nan")


def walk_forward(run: RunFn, spec: RunSpec, data: MarketData, grid: Mapping[str, Sequence[Any]], *,
                 train: Any, test: Any, anchored: bool = False, objective: str = "sharpe",
                 constraints: Sequence[str | Constraint] = (), mode: str | Sequence[str] = "both",
                 n_blocks: int = 8, workers: int | None = None, backend: str = "processes",
                 progress: Callable[[int, int], None] | None = None, checkpoint: str | Path | None = None,
                 resume: bool = False, **backend_options: Any) -> WalkForwardResult:
    """Walk-forward optimisation of ``spec``'s strategy over ``grid`` on ``data`` (see the module doc).

    ``run`` is ``multifolio.run_spec``; ``spec`` gives the strategy, base parameters, account (its
    capital is the pool's), rules, symbols and the period to walk through (its start/end/days; its
    warm-up bars precede every train and test span). ``grid`` maps parameter names to values
    (``{"ma_period": [24, 48]}``); combinations the strategy rejects are left out (counted in
    ``n_invalid``). ``train``/``test`` are durations (``"90d"``); ``anchored`` trains from the period's
    start. ``objective`` is a metric key of ``Result.metrics`` (``-key`` to minimise); ``constraints``
    such as ``"max_drawdown_pct<=30"`` filter the candidates. ``mode``: ``per-asset``, ``portfolio`` or
    ``both``. ``n_blocks`` (even): CSCV's time blocks. ``workers``/``backend``/``backend_options``
    (``client``, ``address``) go to :func:`~multifolio.sweep.runner.run_sweep`; ``progress(done,
    total)`` counts evaluations (found ones included). ``checkpoint``: a DuckDB file where finished
    evaluations are stored; ``resume`` reuses the ones it holds (else it is emptied first).
    """
    modes = _modes(mode)
    key, sign = parse_objective(objective)
    cons = tuple(parse_constraint(c) for c in constraints)
    # train runs are ranked by these alone; an unknown one is refused before anything runs
    ranked_by = tuple(dict.fromkeys([key, *(c.metric for c in cons)]))
    metric_groups(ranked_by)
    if isinstance(n_blocks, bool) or int(n_blocks) < 2 or int(n_blocks) % 2:
        raise ValueError(f"n_blocks must be an even number >= 2, got {n_blocks!r}")
    symbols = list(spec.symbols) if spec.symbols else list(data.symbols)
    missing = [s for s in symbols if s not in data.symbols]
    if missing:
        raise ValueError(f"symbols not in the data: {', '.join(missing)}")
    swept = set(grid)
    per_asset = {a: {k: v for k, v in p.items() if k not in swept} for a, p in spec.per_asset.items()}
    per_asset = {a: p for a, p in per_asset.items() if p}
    base = spec.replace(per_asset=per_asset, symbols=tuple(symbols), start=None, end=None, days=None)

    combos, n_invalid, first_error = [], 0, ""
    for c in expand_grid(grid):
        try:
            build_strategy(base.replace(params={**spec.params, **c}), symbols)
        except (TypeError, ValueError) as exc:
            n_invalid += 1
            first_error = first_error or f"{c}: {exc}"
            continue
        combos.append(c)
    if not combos:
        raise ValueError(f"no parameter combination is valid for {spec.strategy}: {first_error}")
    if "per-asset" in modes:
        try:
            build_strategy(base.replace(params={**spec.params}, per_asset={symbols[0]: dict(combos[0])}),
                           symbols)
        except TypeError:
            raise ValueError(f"per-asset mode needs a strategy with per-asset parameters; {spec.strategy} "
                             "has none: use mode portfolio") from None

    s, e = select_window(data.index, start=spec.start, end=spec.end, days=spec.days)
    period = data.index[(data.index >= s) & (data.index <= e)]
    windows = make_windows(period, train=train, test=test, anchored=anchored)
    capital = float(spec.account.capital)
    n = len(symbols)

    def span(sp: RunSpec, start: pd.Timestamp, end: pd.Timestamp) -> RunSpec:
        return sp.replace(start=start, end=end, days=None)

    # ---- stage 1: every combination on every train span (pool runs first: they are the longest)
    train_tasks: list[_Task] = []
    for w in windows:
        if "portfolio" in modes:
            for ci, c in enumerate(combos):
                train_tasks.append(_Task("train", "portfolio", w.number, None, ci,
                                         span(base.replace(params={**spec.params, **c}), w.train_start,
                                              w.train_end), metric_keys=ranked_by))
    single_account = spec.account.replace(capital=capital / n)
    for w in windows:
        if "per-asset" in modes:
            for a in symbols:
                for ci, c in enumerate(combos):
                    alone = base.replace(symbols=(a,), params={**spec.params, **c}, account=single_account,
                                         per_asset={a: per_asset[a]} if a in per_asset else {})
                    train_tasks.append(_Task("train", "per-asset", w.number, a, ci,
                                             span(alone, w.train_start, w.train_end), metric_keys=ranked_by))
    n_test = len(windows) * (len(modes) + ("per-asset" in modes))
    total = len(train_tasks) + n_test
    fingerprint = data_fingerprint(data)
    counts = {"run": 0, "cached": 0, "total": 0}
    store = Checkpoint(checkpoint, resume=resume) if checkpoint is not None else None
    cluster = None
    if backend == "dask" and backend_options.get("client") is None and backend_options.get("address") is None:
        # One local cluster for both stages: its workers stay warm between the train and test runs.
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=int(workers or os.cpu_count() or 1), threads_per_worker=1,
                               processes=True, dashboard_address=None)
        backend_options = {**backend_options, "client": Client(cluster)}
    try:
        def execute(tasks: list[_Task], offset: int) -> list[dict[str, Any]]:
            keys = [evaluation_key(t.spec, int(n_blocks), t.keep_equity, fingerprint, t.metric_keys)
                    for t in tasks]
            found = store.get_many(keys) if store is not None else {}
            todo: dict[str, _Task] = {}
            for k, t in zip(keys, tasks, strict=True):
                if k not in found and k not in todo:
                    todo[k] = t
            counts["cached"] += len(tasks) - len(todo)
            done_before = offset + len(tasks) - len(todo)
            todo_keys = list(todo)
            payloads = dict(found)

            def keep(i: int, payload: dict[str, Any]) -> None:
                payloads[todo_keys[i]] = payload
                if store is not None:
                    store.put(todo_keys[i], payload)

            def report(done: int, _n: int) -> None:
                if progress is not None:
                    progress(done_before + done, total)

            params = [{"run": run, "spec": todo[k].spec, "n_blocks": int(n_blocks),
                       "keep_equity": todo[k].keep_equity, "metric_keys": todo[k].metric_keys}
                      for k in todo_keys]
            if params:
                run_sweep(evaluate, params, workers=workers, backend=backend, progress=report,
                          shared=data, on_result=keep, **backend_options)
            elif progress is not None:
                progress(done_before, total)
            counts["run"] += len(params)
            return [payloads[k] for k in keys]

        train_out = execute(train_tasks, 0)
        by_train: dict[tuple[str, int, str | None], list[dict[str, Any]]] = {}
        for t, p in zip(train_tasks, train_out, strict=True):
            by_train.setdefault((t.mode, t.window, t.symbol), []).append(p)

        # ---- choices per window
        choice_rows: list[dict[str, Any]] = []
        chosen: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
        overfit: dict[tuple[str, int], tuple[float, float]] = {}
        is_obj: dict[tuple[str, int], float] = {}
        for w in windows:
            for m in modes:
                groups = [None] if m == "portfolio" else symbols
                picks: dict[str, dict[str, Any]] = {}
                stats = []
                for a in groups:
                    payloads = by_train[(m, w.number, a)]
                    ci, met = _choose(payloads, key, sign, cons)
                    stats.append(_overfit(payloads, ci))
                    value = float(payloads[ci]["metrics"][key])
                    choice_rows.append({"mode": m, "window": w.number, "symbol": a or "*", "combo": ci,
                                        **combos[ci], "is_objective": value, "constraints_met": met})
                    if a is None:
                        picks = {s_: dict(combos[ci]) for s_ in symbols}
                        is_obj[(m, w.number)] = value
                    else:
                        picks[a] = dict(combos[ci])
                chosen[(m, w.number)] = picks
                overfit[(m, w.number)] = (_nanmean([d for d, _ in stats]), _nanmean([p for _, p in stats]))

        # ---- stage 2: the pool on each test span with the chosen parameters
        def pool_spec(m: str, picks: dict[str, dict[str, Any]]) -> RunSpec:
            if m == "portfolio":
                return base.replace(params={**spec.params, **picks[symbols[0]]})
            return base.replace(params=dict(spec.params),
                                per_asset={a: {**per_asset.get(a, {}), **picks[a]} for a in symbols})

        test_tasks: list[_Task] = []
        for w in windows:
            for m in modes:
                sp = pool_spec(m, chosen[(m, w.number)])
                test_tasks.append(_Task("test", m, w.number, None, -1, span(sp, w.test_start, w.test_end),
                                        keep_equity=True))
                if m == "per-asset":
                    test_tasks.append(_Task("is", m, w.number, None, -1,
                                            span(sp, w.train_start, w.train_end)))
        test_out = execute(test_tasks, len(train_tasks))
    finally:
        if store is not None:
            store.close()
        if cluster is not None:
            backend_options["client"].close()
            cluster.close()
    counts["total"] = counts["run"] + counts["cached"]
    tested = {(t.stage, t.mode, t.window): p for t, p in zip(test_tasks, test_out, strict=True)}
    for (stage, m, wn), p in tested.items():
        if stage == "is":
            is_obj[(m, wn)] = float(p["metrics"].get(key, float("nan")))

    # ---- stitched out-of-sample equity, per-window table, summary
    rows, curves, summary = [], {}, {}
    for m in modes:
        level = capital
        pieces = []
        peak_margin = 0.0
        for w in windows:
            p = tested[("test", m, w.number)]
            eq = np.asarray(p["equity"], dtype=np.float64)
            start_level = level
            scaled = eq * (level / capital)
            pieces.append(pd.Series(scaled, index=pd.to_datetime(np.asarray(p["times"], dtype=np.int64),
                                                                  utc=True)))
            level = float(scaled[-1]) if scaled.size else level
            peak_margin = max(peak_margin, float(p["metrics"].get("peak_margin_ratio", 0.0) or 0.0))
            dsr, pbo = overfit[(m, w.number)]
            rows.append({"mode": m, "window": w.number, "test_start": w.test_start, "test_end": w.test_end,
                         "is_objective": is_obj[(m, w.number)],
                         "oos_objective": float(p["metrics"].get(key, float("nan"))),
                         "oos_return_pct": (level / start_level - 1.0) * 100.0, "dsr": dsr, "pbo": pbo})
        curve = pd.concat(pieces)
        curves[m] = curve
        mode_rows = [r for r in rows if r["mode"] == m]
        summary[m] = {"oos_return_pct": (level / capital - 1.0) * 100.0,
                      "oos_max_drawdown_pct": max_drawdown_pct(curve, initial=capital),
                      "oos_peak_margin_pct": peak_margin * 100.0,
                      "is_objective_mean": _nanmean([r["is_objective"] for r in mode_rows]),
                      "oos_objective_mean": _nanmean([r["oos_objective"] for r in mode_rows]),
                      "dsr": _nanmean([r["dsr"] for r in mode_rows]),
                      "pbo": _nanmean([r["pbo"] for r in mode_rows])}
    equity = pd.DataFrame(curves)
    windows_frame = pd.DataFrame([_window_row(w) for w in windows])
    last = windows[-1].number
    final = {m: {a: {**per_asset.get(a, {}), **chosen[(m, last)][a]} for a in symbols} for m in modes}
    return WalkForwardResult(
        objective=("-" if sign < 0 else "") + key, modes=modes,
        grid={k: list(v) if isinstance(v, (list, tuple)) else [v] for k, v in grid.items()},
        n_combinations=len(combos), n_invalid=n_invalid, constraints=tuple(str(c) for c in cons),
        capital=capital, windows=windows_frame, choices=pd.DataFrame(choice_rows),
        table=pd.DataFrame(rows), equity=equity, summary=summary, final_params=final,
        evaluations=counts)


def _window_row(w: Window) -> dict[str, Any]:
    return {"window": w.number, "train_start": w.train_start, "train_end": w.train_end,
            "test_start": w.test_start, "test_end": w.test_end, "train_bars": w.train_bars,
            "test_bars": w.test_bars}
