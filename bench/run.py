"""multifolio against vectorbt, bt and backtrader, side by side, in one run on one machine.

    python bench/run.py                  # every case, warm + median of 5 timed runs; writes bench/results.md
    python bench/run.py --quick          # smaller sizes, 1 timed run (a smoke test of the suite)
    python bench/run.py --only topn_500x252 [--only cold_start ...]
    python bench/run.py --out /tmp/r.md  # write the results elsewhere

Every engine of a case gets the same inputs (one close frame, one weight frame) in the same process:
one untimed warm-up run (numba compilation, caches, imports), then the median of the timed runs.
Speed is reported as seconds, asset-bars per second and the ratio to vectorbt's seconds (< 1 = faster
than vectorbt). The cold-start and memory cases run in fresh subprocesses, because a warm process
cannot show either. A case whose code is not in the project yet is reported as not available.

Needs the ``[bench]`` extra: ``pip install -e .[bench]`` (vectorbt, bt, backtrader, psutil).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/run.py` puts bench/ on the path, not the repository
    sys.path.insert(0, str(REPO))

from bench.peers import backtrader_runner, bt_runner, data, vectorbt_runner  # noqa: E402
from bench.topn_weights import topn_momentum_weights  # noqa: E402

CASH = 1_000_000.0
FEES = 0.001
K, LOOKBACK = 25, 20
AGREE_RTOL = 1e-6

# Targets from the benchmark issue: (what, limit, unit). Checked in `targets()`.
TARGETS = {
    "from_weights": "from_weights <= 0.2x vectorbt's time (topn_500x2520)",
    "strategy": "Strategy API (TopN) <= 1.0x vectorbt's time (topn_500x2520)",
    "grid": "grid portfolio 21 x 26,280 hourly bars <= 2 s warm",
    "scale_s": "from_weights on 5000 x 2520 <= 3 s",
    "scale_mem": "peak memory added by that run <= 3x the input arrays (close + weights)",
    "cold": "cold start (import + compile + run) <= 0.5x vectorbt's",
    "sweep": "sizing sweep speed-up >= 1.7 on 2 processes",
    "portfolios_weights": "20 portfolios x 50 assets: weights path <= 0.25x vectorbt's time (grouped)",
    "portfolios_strategy": "20 portfolios x 50 assets: Strategy API (20 strategies) <= 1.0x vectorbt's time",
}


# ----------------------------------------------------------------------------------------------------
# Results


@dataclass
class Row:
    """One engine's line in a case table."""

    engine: str
    seconds: float | None = None
    asset_bars: int = 0
    final_equity: float | None = None
    note: str = ""
    ratio: float | None = None  # filled in once the case has a vectorbt row
    cpu: float | None = None  # CPU seconds of the same calls (median)
    cpu_ratio: float | None = None

    @property
    def rate(self) -> float | None:
        return self.asset_bars / self.seconds if self.seconds and self.asset_bars else None


@dataclass
class Case:
    """A case's outcome: its table, free-form lines (checks, notes) and figures for the targets."""

    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    unavailable: str = ""

    def say(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)

    def set_ratios(self) -> None:
        ref = next((r for r in self.rows if r.engine == "vectorbt" and r.seconds), None)
        for r in self.rows:
            r.ratio = r.seconds / ref.seconds if (ref and r.seconds is not None) else None
            r.cpu_ratio = r.cpu / ref.cpu if (ref and ref.cpu and r.cpu is not None) else None


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def table(rows: list[Row]) -> list[str]:
    """Markdown table of the rows (also readable in a terminal)."""
    out = ["| engine | seconds | asset-bars/s | ratio to vectorbt | final equity | CPU seconds | "
           "CPU ratio | note |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        out.append(f"| {r.engine} | {_fmt(r.seconds, '.3f')} | {_fmt(r.rate, ',.0f')} | "
                   f"{_fmt(r.ratio, '.3f')} | {_fmt(r.final_equity, ',.2f')} | {_fmt(r.cpu, '.3f')} | "
                   f"{_fmt(r.cpu_ratio, '.3f')} | {r.note} |")
    return out


# ----------------------------------------------------------------------------------------------------
# Timing


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """One untimed warm-up call, then the median seconds of ``repeats`` timed calls, and the last output."""
    wall, _, out = timed_cpu(fn, repeats)
    return wall, out


def timed_cpu(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Like :func:`timed`, plus the median CPU seconds of this process over the same calls.

    On a busy machine wall time includes waiting for a core; CPU time does not, so the two together
    show whether a slow figure is the engine or the machine.
    """
    out = fn()
    walls, cpus = [], []
    for _ in range(repeats):
        gc.collect()  # so that one run does not pay for the previous run's garbage
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def profile_lines(fn: Callable[[], Any], top: int = 8) -> list[str]:
    """cProfile one call: own time by area (engine, strategies, numpy/pandas, ...) and the top functions.

    A compiled numba kernel shows as one Python-level call, so its whole run is the own time of the
    dispatcher line that calls it.
    """
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    areas: dict[str, float] = {}
    funcs = []
    for (filename, line, func), (_, _, tottime, _, _) in stats.items():
        f = filename.replace("\\", "/")
        area = ("multifolio strategies" if "multifolio/strategies" in f else
                "multifolio portfolio" if "multifolio/portfolio" in f else
                "multifolio engine" if "multifolio/engine" in f else
                "multifolio (result, assembly)" if "multifolio/" in f else
                "numba internals" if "numba" in f else
                "numpy/pandas" if ("numpy" in f or "pandas" in f) else "other (builtins, python)")
        areas[area] = areas.get(area, 0.0) + tottime
        short = "/".join(f.split("/")[-2:]) if "/" in f else f
        funcs.append((tottime, f"{short}:{line}({func})"))
    total = sum(areas.values()) or 1.0
    by_area = ", ".join(f"{k} {v:.2f} s ({v / total:.0%})"
                        for k, v in sorted(areas.items(), key=lambda kv: -kv[1]))
    # cProfile slows Python-level calls much more than compiled code: read the shares, not the seconds.
    out = [f"own time by area (under cProfile): {by_area}"]
    out += [f"  {t:7.3f} s {t / total:5.1%}  {name}" for t, name in sorted(funcs, reverse=True)[:top]]
    return out


def _final(equity: pd.Series) -> float:
    return float(equity.iloc[-1])


def _mf_from_weights(close: pd.DataFrame, w: pd.DataFrame, fees: float) -> pd.Series:
    import multifolio as mf

    # Close mode and no forced close at the end: what vectorbt, bt and backtrader do.
    return mf.from_weights(close, w, cash=CASH, fees=fees, execution="close", close_at_end=False).equity


def _mf_topn(md: Any, fees: float) -> pd.Series:
    import multifolio as mf
    from multifolio.strategies.top_n import TopN

    strategy = TopN(k=K, lookback=LOOKBACK, schedule="every_bar")
    return mf.backtest(md, strategy, cash=CASH, fees=fees, execution="close", close_at_end=False).equity


def _missing(exc: BaseException) -> str:
    return f"not yet available ({type(exc).__name__}: {exc})"


# ----------------------------------------------------------------------------------------------------
# Cases 1 and 2: top-N momentum, every bar


def case_topn(name: str, n_assets: int, n_bars: int, repeats: int, with_backtrader: bool) -> Case:
    """Top 25 by 20-bar momentum at 1/25 each, rebalanced every bar, fee 0.1%, every engine."""
    case = Case(name, f"{n_assets} assets x {n_bars} daily bars, top {K} by {LOOKBACK}-bar momentum, "
                      f"1/{K} each, rebalanced every bar, fee {FEES:.1%}")
    close, source = data.synthetic_close(n_assets, n_bars, seed=42, freq="1D")
    from multifolio.data import MarketData

    md = MarketData.from_frames(close=close)  # the Strategy API sees exactly the closes the others get
    asset_bars = n_assets * n_bars
    case.say(f"data: {source}; {n_assets} x {n_bars} = {asset_bars:,} asset-bars")

    t_w, w = timed(lambda: topn_momentum_weights(close, K, LOOKBACK), repeats)
    case.say(f"input: top-{K} weights computed vectorised from the close in {t_w:.3f} s "
             "(not included in the engine times below)")

    engines: list[tuple[str, Callable[[float], pd.Series]]] = [
        ("multifolio from_weights", lambda f: _mf_from_weights(close, w, f)),
        ("multifolio TopN (Strategy API)", lambda f: _mf_topn(md, f)),
        ("vectorbt", lambda f: vectorbt_runner.run(close, w, cash=CASH, fees=f)),
        ("bt", lambda f: bt_runner.run(close, w, cash=CASH, fees=f)),
    ]
    if with_backtrader:
        engines.append(("backtrader", lambda f: backtrader_runner.run(close, w, cash=CASH, fees=f)))

    for label, fn in engines:
        row = Row(label, asset_bars=asset_bars)
        try:
            secs, cpu, eq = timed_cpu(lambda fn=fn: fn(FEES), repeats)
            row.seconds, row.cpu, row.final_equity = secs, cpu, _final(eq)
            if "rejected" in eq.attrs:
                row.note = f"{eq.attrs['rejected']} orders refused (cash)"
        except (ImportError, AttributeError) as exc:
            row.note = _missing(exc)
        except Exception as exc:  # a failing engine must not hide the others' figures
            row.note = f"error: {type(exc).__name__}: {exc}"
            traceback.print_exc()
        case.rows.append(row)
        print(f"  {label}: {_fmt(row.seconds, '.3f')} s, final equity {_fmt(row.final_equity, ',.2f')} "
              f"{row.note}", flush=True)
    case.set_ratios()
    for (label, fn), r in zip(engines, case.rows, strict=True):
        if label.startswith("multifolio") and r.seconds is not None:
            case.say(f"profile of one warm {label} run (fee {FEES:g}):")
            for line in profile_lines(lambda fn=fn: fn(FEES)):
                case.say("  " + line)
    for r in case.rows:
        # The speed targets are stated on the 500 x 2520 case only.
        if name == "topn_500x2520" and r.ratio is not None and r.engine.startswith("multifolio"):
            key = "from_weights" if "from_weights" in r.engine else "strategy"
            case.figures[key] = r.ratio
            if r.cpu_ratio is not None:
                case.figures[key + "_cpu"] = r.cpu_ratio

    # Agreement: close mode, no fees -> the same final equity from every engine (same inputs).
    finals: dict[str, float] = {}
    for label, fn in engines:
        try:
            eq = fn(0.0)
            finals[label] = _final(eq)
            if "rejected" in eq.attrs and eq.attrs["rejected"]:
                finals[label + f" ({eq.attrs['rejected']} buys refused)"] = finals.pop(label)
        except Exception as exc:
            case.say(f"agreement: {label} could not run ({type(exc).__name__}: {exc})")
    ref = finals.get("vectorbt")
    required = ["multifolio from_weights", "vectorbt", "bt"]
    if ref is None:
        case.say("agreement check: FAIL (vectorbt did not run)")
        return case
    case.say(f"agreement check (execution at the close, fee 0, final equity, tolerance {AGREE_RTOL:g} "
             "relative to vectorbt):")
    worst = 0.0
    for label, value in finals.items():
        rel = abs(value - ref) / abs(ref)
        if label in required:
            worst = max(worst, rel)
        tag = "" if label in required else "  (informative)"
        case.say(f"  {label:<45} {value:>20,.6f}  rel. diff {rel:.2e}{tag}")
    missing = [r for r in required if r not in finals]
    ok = not missing and worst <= AGREE_RTOL
    verdict = "PASS" if ok else "FAIL"
    extra = f"; missing: {', '.join(missing)}" if missing else ""
    case.say(f"  {verdict}: largest relative difference among {', '.join(required)} = {worst:.2e}{extra}")
    return case


# ----------------------------------------------------------------------------------------------------
# Case 3: grid portfolio (bench/bench_grid.py provides the data and the run)


def case_grid(repeats: int) -> Case:
    case = Case("grid_21x26280", "grid-ATR portfolio, 21 assets x 3 years hourly (bench/bench_grid.py)")
    try:
        from bench import bench_grid

        grid_data = bench_grid.make_data()
        secs, cpu, result = timed_cpu(lambda: bench_grid.run_once(grid_data), repeats)
    except (ImportError, AttributeError) as exc:
        case.unavailable = _missing(exc)
        case.say(f"grid_21x26280: {case.unavailable}")
        return case
    asset_bars = grid_data.n_bars * grid_data.n_assets
    case.rows.append(Row("multifolio backtest (GridATR)", secs, asset_bars, float(result.equity.iloc[-1]),
                         note=f"{len(result.fills):,} fills", cpu=cpu))
    case.figures["grid"] = secs
    case.say(f"grid: {secs:.3f} s for {asset_bars:,} asset-bars -> {asset_bars / secs:,.0f} asset-bars/s "
             "(no peer runs this strategy)")
    case.say("profile of one warm run:")
    for line in profile_lines(lambda: bench_grid.run_once(grid_data)):
        case.say("  " + line)
    return case


# ----------------------------------------------------------------------------------------------------
# Subprocess helpers (cases 4 and 5)


def _run_child(code: str, env_extra: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last. Returns it plus the wall time."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    env.update(env_extra or {})
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=str(REPO))
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"child exited with {proc.returncode}: {tail[0]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall"], out["child_cpu"] = wall, cpu
    return out


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes of this process."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# Memory of a child: the peak resident set (VmHWM) after resetting it with /proc/self/clear_refs,
# so that the peak belongs to the measured call, not to building its inputs.
_MEM_HELPERS = textwrap.dedent("""
    import gc, json, os, statistics, sys, time
    def _status(key):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        return 0
    def _reset_peak():
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            return True
        except OSError:
            return False
""")

_SCALE_CHILD = _MEM_HELPERS + textwrap.dedent("""
    import numpy as np
    import multifolio as mf
    from bench.peers import data
    from bench.topn_weights import topn_momentum_weights
    n_assets, n_bars, repeats = {n_assets}, {n_bars}, {repeats}
    close, source = data.synthetic_close(n_assets, n_bars, seed=42, freq="1D")
    w = topn_momentum_weights(close, {k}, {lookback})
    inputs = close.to_numpy().nbytes + w.to_numpy().nbytes
    def run(c, ww):
        return mf.from_weights(c, ww, cash={cash}, fees={fees}, execution="close", close_at_end=False)
    # Memory: compile on a small slice first, so that the peak of the first full-size call is that
    # call's own (a previous full-size call would leave allocator pages and caches behind).
    run(close.iloc[:60, :60], w.iloc[:60, :60])
    gc.collect()
    reset = _reset_peak()
    before = _status("VmRSS")
    res = run(close, w)  # also the untimed warm-up of the timing below
    final = float(res.equity.iloc[-1])
    peak = _status("VmHWM") if reset else 0
    del res
    times, cpus = [], []
    for _ in range(repeats):
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        run(close, w)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    print(json.dumps(dict(seconds=statistics.median(times), times=times, cpu=statistics.median(cpus),
                          inputs=inputs, before=before,
                          peak=peak, reset=reset, final=final, source=source)))
""")


def case_scale(n_assets: int, n_bars: int, repeats: int) -> Case:
    case = Case(f"scale_{n_assets}x{n_bars}",
                f"from_weights on {n_assets} assets x {n_bars} daily bars (top {K} momentum, "
                f"fee {FEES:.1%}): seconds and peak resident memory against the inputs, in a fresh process")
    try:
        import multifolio

        multifolio.from_weights  # noqa: B018 - fails early when the engine has not landed
    except (ImportError, AttributeError) as exc:
        case.unavailable = _missing(exc)
        case.say(f"{case.name}: {case.unavailable}")
        return case
    code = _SCALE_CHILD.format(n_assets=n_assets, n_bars=n_bars, repeats=max(1, repeats), k=K,
                               lookback=LOOKBACK, cash=CASH, fees=FEES)
    try:
        out = _run_child(code)
    except Exception as exc:
        case.unavailable = f"error: {exc}"
        case.say(f"{case.name}: {case.unavailable}")
        return case
    mib = 1024 * 1024
    inputs, before, peak = out["inputs"], out["before"], out["peak"]
    case.rows.append(Row("multifolio from_weights", out["seconds"], n_assets * n_bars, out["final"],
                         note="peak RSS reset before the call (VmHWM)" if out["reset"] else "",
                         cpu=out["cpu"]))
    case.say(f"data: {out['source']}; inputs (close + weights float64) {inputs / mib:,.1f} MiB")
    case.say(f"seconds: median {out['seconds']:.3f} of {len(out['times'])} warm runs "
             f"({', '.join(f'{t:.3f}' for t in out['times'])})")
    case.figures["scale_s"] = out["seconds"]
    if out["reset"]:
        added = peak - before
        case.say(f"memory: RSS before the call {before / mib:,.1f} MiB (interpreter, libraries, inputs); "
                 f"peak during the first full-size call (kernels compiled on a small slice before) "
                 f"{peak / mib:,.1f} MiB; added by the call {added / mib:,.1f} MiB "
                 f"= {added / inputs:.2f}x the inputs; whole-process peak = {peak / inputs:.2f}x the inputs")
        case.figures["scale_mem"] = added / inputs
        case.figures["scale_mem_total"] = peak / inputs
    else:
        case.say("memory: could not reset the peak RSS (/proc/self/clear_refs not writable); not measured")
    return case


# ----------------------------------------------------------------------------------------------------
# Case 5: cold start


_COLD_CHILD = textwrap.dedent("""
    import time
    t_start = time.perf_counter()
    import json, sys
    import pandas as pd
    close = pd.read_pickle({path!r})
    from bench.topn_weights import topn_momentum_weights
    w = topn_momentum_weights(close, {k}, {lookback})
    t0 = time.perf_counter()
    {imports}
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    equity = {call}
    t_run = time.perf_counter() - t0
    print(json.dumps(dict(t_import=t_import, t_run=t_run, t_total=time.perf_counter() - t_start,
                          final=float(equity.iloc[-1]))))
""")

_COLD_ENGINES = {
    "multifolio from_weights": (
        "import multifolio as mf",
        f"mf.from_weights(close, w, cash={CASH}, fees={FEES}, execution='close', close_at_end=False).equity"),
    "multifolio TopN (Strategy API)": (
        "import multifolio as mf; from multifolio.data import MarketData; "
        "from multifolio.strategies.top_n import TopN",
        f"mf.backtest(MarketData.from_frames(close=close), TopN(k={K}, lookback={LOOKBACK}, "
        f"schedule='every_bar'), cash={CASH}, fees={FEES}, execution='close', close_at_end=False).equity"),
    "vectorbt": (
        "import vectorbt; from bench.peers import vectorbt_runner",
        f"vectorbt_runner.run(close, w, cash={CASH}, fees={FEES})"),
}


def case_cold(n_assets: int, n_bars: int, repeats: int) -> Case:
    case = Case("cold_start", f"fresh process, empty numba cache: read {n_assets} x {n_bars} closes, "
                              "compute the weights, import the engine, compile and run once")
    close, source = data.synthetic_close(n_assets, n_bars, seed=42, freq="1D")
    case.say(f"data: {source}; each run is a new interpreter with NUMBA_CACHE_DIR set to a new empty "
             f"directory; seconds = whole subprocess wall time (median of {repeats})")
    with tempfile.TemporaryDirectory(prefix="mf-bench-") as tmp:
        path = os.path.join(tmp, "close.pkl")
        close.to_pickle(path)
        for label, (imports, call) in _COLD_ENGINES.items():
            code = _COLD_CHILD.format(path=path, k=K, lookback=LOOKBACK, imports=imports, call=call)
            runs = []
            try:
                for _ in range(repeats):
                    cache = tempfile.mkdtemp(prefix="numba-cache-", dir=tmp)
                    runs.append(_run_child(code, {"NUMBA_CACHE_DIR": cache}))
            except Exception as exc:
                case.rows.append(Row(label, note=_missing(exc)))
                case.say(f"  {label}: {_missing(exc)}")
                continue
            wall = statistics.median(r["wall"] for r in runs)
            imp = statistics.median(r["t_import"] for r in runs)
            run = statistics.median(r["t_run"] for r in runs)
            row = Row(label, wall, n_assets * n_bars, runs[-1]["final"],
                      note=f"import {imp:.2f} s, first call (compile + run) {run:.2f} s",
                      cpu=statistics.median(r["child_cpu"] for r in runs))
            case.rows.append(row)
            case.say(f"  {label}: {wall:.2f} s end to end ({row.note})")
    case.set_ratios()
    for r in case.rows:
        if r.engine == "multifolio from_weights" and r.ratio is not None:
            case.figures["cold"] = r.ratio
            if r.cpu_ratio is not None:
                case.figures["cold_cpu"] = r.cpu_ratio
    return case


# ----------------------------------------------------------------------------------------------------
# Case 6: sizing sweep on 1 and 2 processes


def case_sweep(repeats: int, quick: bool) -> Case:
    capitals = [1000, 10000] if quick else [1000, 5000, 10000]
    n_assets = [3, 5] if quick else [3, 5, 10, 15, 21]
    case = Case("sweep_2workers", f"sizing sweep of the grid portfolio example (capital {capitals} x "
                                  f"n_assets {n_assets}): 1 process vs 2")
    try:
        from importlib.resources import files

        from multifolio.cli.config import sweep_config

        config = str(files("multifolio") / "examples" / "grid_portfolio.yaml")
        if not os.path.exists(config):
            raise FileNotFoundError(config)

        def sweep(w: int) -> Any:     # what `multifolio sweep` runs: the data loaded once, a spec per pair
            return sweep_config(config, capitals, n_assets, workers=w)

        walls, cpu_list = _alternate(sweep, repeats)
        secs = {w: statistics.median(walls[w]) for w in (1, 2)}
        cpus = {w: statistics.median(cpu_list[w]) for w in (1, 2)}
    except Exception as exc:
        case.unavailable = _missing(exc)
        case.say(f"sweep_2workers: {case.unavailable}")
        return case
    n_runs = len(capitals) * len(n_assets)
    speedup = secs[1] / secs[2]
    per_run = secs[1] / n_runs
    ceiling = _pool_ceiling(repeats, n_runs, per_run)
    case.rows.append(Row("sweep, 1 process", secs[1], note=f"{n_runs} runs", cpu=cpus[1]))
    case.rows.append(Row("sweep, 2 processes", secs[2], note=f"speed-up {speedup:.2f}x", cpu=cpus[2]))
    case.figures["sweep"] = speedup
    case.figures["sweep_ceiling"] = ceiling
    case.say(f"machine ceiling: {n_runs} CPU-only tasks of the same length (pure arithmetic, no shared "
             f"data, bench/calibrate.py) through the same process pool reach {ceiling:.2f}x on 2 "
             f"processes; the sweep reaches {speedup / ceiling:.0%} of that")
    case.say(f"one run of the sweep takes {per_run:.2f} s in a warm process; with 2 processes the CPU "
             f"seconds of the whole sweep (workers included) go from {cpus[1]:.2f} to {cpus[2]:.2f}: "
             "the workers are forked with the imports and compiled kernels in place, so the extra is "
             "mostly the runs going slower side by side (shared cache and memory bandwidth, copy-on-write "
             "page faults) plus starting the processes and sending the results back")
    case.say(f"sweep: 1 process {secs[1]:.2f} s, 2 processes {secs[2]:.2f} s -> speed-up {speedup:.2f}x "
             f"(cores on this machine: {os.cpu_count()}; CPU seconds, workers included: {cpus[1]:.2f} "
             f"vs {cpus[2]:.2f}; median of {repeats}, timed in turns)")
    return case


Timings = dict[int, list[float]]


def _alternate(run: Callable[[int], Any], repeats: int) -> tuple[Timings, Timings]:
    """Wall and CPU seconds of ``run(1)`` and ``run(2)``, timed in turns after one warm-up of each.

    Taking turns (1, 2, 1, 2, ...) lets both see the same machine: on a shared host the load drifts
    over seconds, and timing all the 1-process runs first would hand the drift to one side.
    """
    walls: Timings = {1: [], 2: []}
    cpus: Timings = {1: [], 2: []}
    run(1)  # warm: numba caches on disk, data samples, imports
    run(2)
    for _ in range(repeats):
        for workers in (1, 2):
            c0, k0, t0 = time.process_time(), _children_cpu(), time.perf_counter()
            run(workers)
            walls[workers].append(time.perf_counter() - t0)
            # CPU of this process plus its (reaped) worker processes: the work, whoever did it.
            cpus[workers].append(time.process_time() - c0 + _children_cpu() - k0)
    return walls, cpus


def _pool_ceiling(repeats: int, n_tasks: int, task_seconds: float) -> float:
    """Speed-up of 2 processes over 1 on CPU-only tasks as long as the sweep's runs (median)."""
    from bench.calibrate import spin
    from multifolio.sweep import run_sweep

    t0 = time.perf_counter()
    spin(1_000_000)
    n = max(10_000, int(1_000_000 * task_seconds / (time.perf_counter() - t0)))
    params = [{"n": n}] * n_tasks
    walls, _ = _alternate(lambda workers: run_sweep(spin, params, workers=workers), repeats)
    return statistics.median(walls[1]) / statistics.median(walls[2])


# ----------------------------------------------------------------------------------------------------
# Targets, machine, report


# ----------------------------------------------------------------------------------------------------
# Several portfolios on one clock: 20 top-10 momentum portfolios, each on its own cash pool


def _portfolio_inputs(n_portfolios: int, n_assets: int, n_bars: int
                      ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, int]]:
    close, _ = data.synthetic_close(n_assets, n_bars, seed=7, freq="1D")
    lookbacks = {f"p{k:02d}": 10 + 3 * k for k in range(n_portfolios)}
    weights = {pid: topn_momentum_weights(close, 10, lb) for pid, lb in lookbacks.items()}
    return close, weights, lookbacks


def _mf_portfolios_weights(close: pd.DataFrame, weights: dict[str, pd.DataFrame], fees: float) -> Any:
    import multifolio as mf

    return mf.from_weights_portfolios(close, weights, cash=CASH, fees=fees, execution="close",
                                      close_at_end=False)


def _mf_portfolios_strategy(md: Any, lookbacks: dict[str, int], fees: float, per_bar_python: bool = False
                            ) -> Any:
    """20 TopN strategy objects. TopN's decisions are compiled, so the simulator runs its bars in one
    kernel call per portfolio; ``per_bar_python`` hides that path (``run_bars``), which is what a
    strategy written in Python costs: ``on_bar`` on every bar of every portfolio."""
    import multifolio as mf
    from multifolio.strategies.top_n import TopN

    cls = type("PythonTopN", (TopN,), {"run_bars": None}) if per_bar_python else TopN
    ports = [mf.Portfolio(pid, cls(k=10, lookback=lb, schedule="every_bar"), capital=CASH)
             for pid, lb in lookbacks.items()]
    return mf.backtest_portfolios(md, ports, fees=fees, execution="close", close_at_end=False)


def _vbt_groups(close: pd.DataFrame, weights: dict[str, pd.DataFrame], fees: float) -> pd.DataFrame:
    # one column per (portfolio, asset); vectorbt groups the columns of each portfolio on one cash pool
    big_close = pd.concat({pid: close for pid in weights}, axis=1)
    big_w = pd.concat(weights, axis=1)
    groups = [pid for pid, _ in big_close.columns]
    big_close.columns = [f"{pid}|{sym}" for pid, sym in big_close.columns]
    big_w.columns = big_close.columns
    return vectorbt_runner.run_groups(big_close, big_w, groups, cash=CASH, fees=fees)


def case_portfolios(repeats: int, quick: bool) -> Case:
    """20 portfolios x 50 assets x 1,260 daily bars, top-10 momentum in each (its own lookback), each
    portfolio its own cash pool: the weights path and the Strategy API against vectorbt's grouped
    ``from_orders`` on the same weights; per-portfolio equality at fee 0; memory per number of
    portfolios."""
    n_p, n_a, n_b = (20, 50, 504) if quick else (20, 50, 1260)
    case = Case("portfolios_20x50", f"{n_p} portfolios x {n_a} assets x {n_b} daily bars, top-10 momentum "
                                    f"in each, each on its own cash pool, fee {FEES:.1%}")
    close, weights, lookbacks = _portfolio_inputs(n_p, n_a, n_b)
    from multifolio.data import MarketData

    md = MarketData.from_frames(close=close)
    asset_bars = n_p * n_a * n_b
    try:
        import vectorbt  # noqa: F401
    except ImportError as exc:
        case.unavailable = _missing(exc)
        return case
    # equality at fee 0 (close mode), per portfolio
    vbt_eq = _vbt_groups(close, weights, 0.0)
    ours_w = _mf_portfolios_weights(close, weights, 0.0)
    ours_s = _mf_portfolios_strategy(md, lookbacks, 0.0)
    ours_p = _mf_portfolios_strategy(md, lookbacks, 0.0, per_bar_python=True)

    def worst(res: Any) -> float:
        return max(float(np.max(np.abs(res.portfolios[p].equity.to_numpy() / vbt_eq[p].to_numpy() - 1)))
                   for p in weights)

    worst_w, worst_s, worst_p = worst(ours_w), worst(ours_s), worst(ours_p)
    verdict = "PASS" if max(worst_w, worst_s, worst_p) <= 1e-9 else "FAIL"
    case.say(f"{verdict}: largest relative difference per portfolio against vectorbt at fee 0: weights path "
             f"{worst_w:.2e}, Strategy API {worst_s:.2e} (per-bar Python {worst_p:.2e}) (target <= 1e-9)")
    engines: list[tuple[str, Callable[[], Any]]] = [
        ("multifolio from_weights_portfolios", lambda: _mf_portfolios_weights(close, weights, FEES)),
        ("multifolio backtest_portfolios (Strategy API)",
         lambda: _mf_portfolios_strategy(md, lookbacks, FEES)),
        ("multifolio backtest_portfolios (Strategy API, per-bar Python)",
         lambda: _mf_portfolios_strategy(md, lookbacks, FEES, per_bar_python=True)),
        ("vectorbt", lambda: _vbt_groups(close, weights, FEES)),
    ]
    for label, fn in engines:
        row = Row(label, asset_bars=asset_bars)
        secs, cpu, out = timed_cpu(fn, repeats)
        row.seconds, row.cpu = secs, cpu
        total = out.sum(axis=1) if isinstance(out, pd.DataFrame) else out.combined.equity
        row.final_equity = _final(total)
        case.rows.append(row)
        print(f"  {label}: {secs:.3f} s", flush=True)
    case.set_ratios()
    for r in case.rows:
        if r.ratio is not None and r.engine.startswith("multifolio") and "per-bar" not in r.engine:
            key = "portfolios_weights" if "from_weights" in r.engine else "portfolios_strategy"
            case.figures[key] = r.ratio
            case.figures[key + "_cpu"] = r.cpu_ratio if r.cpu_ratio is not None else r.ratio
    import tracemalloc

    peaks = []
    for n in (5, 10, 20, 40):
        c, w, lbs = _portfolio_inputs(n, n_a, n_b)
        m = MarketData.from_frames(close=c)
        gc.collect()
        tracemalloc.start()
        _mf_portfolios_strategy(m, lbs, FEES).combined.equity  # noqa: B018 - the run is what is measured
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        peaks.append((n, peak))
    case.say("peak memory of a Strategy-API run (tracemalloc): " + ", ".join(
        f"{n} portfolios {p / 2**20:.1f} MiB ({p / n / 2**20:.2f} MiB each)" for n, p in peaks))
    return case


def targets(cases: dict[str, Case]) -> list[str]:
    """One line per target: the figure reached, met or missed and by how much."""
    figs: dict[str, float] = {}
    for c in cases.values():
        figs.update(c.figures)
    limits = {"from_weights": (0.2, "x", "le"), "strategy": (1.0, "x", "le"), "grid": (2.0, " s", "le"),
              "scale_s": (3.0, " s", "le"), "scale_mem": (3.0, "x", "le"), "cold": (0.5, "x", "le"),
              "sweep": (1.7, "x", "ge"), "portfolios_weights": (0.25, "x", "le"),
              "portfolios_strategy": (1.0, "x", "le")}
    out = []
    for key, text in TARGETS.items():
        limit, unit, how = limits[key]
        if key not in figs:
            out.append(f"- {text}: not measured in this run")
            continue
        v = figs[key]
        ok = v <= limit if how == "le" else v >= limit
        cpu = f"; on CPU seconds {figs[key + '_cpu']:.3g}{unit}" if key + "_cpu" in figs else ""
        if key == "sweep" and "sweep_ceiling" in figs:
            cpu = (f"; this machine's ceiling, CPU-only tasks through the same pool: "
                   f"{figs['sweep_ceiling']:.3g}x")
        if key == "scale_mem" and "scale_mem_total" in figs:
            cpu = f"; whole-process peak (interpreter, libraries, inputs) {figs['scale_mem_total']:.3g}x"
        if ok:
            out.append(f"- {text}: **met** ({v:.3g}{unit}{cpu})")
        else:
            factor = v / limit if how == "le" else limit / v
            out.append(f"- {text}: **missed** ({v:.3g}{unit}, {factor:.2f}x off the target{cpu})")
    return out


def machine() -> dict[str, str]:
    """CPU model (from /proc/cpuinfo), core count, OS, library versions, commit."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"CPU": f"{cpu}, {os.cpu_count()} logical cores", "OS": platform.platform(),
            "Python": platform.python_version()}
    from importlib.metadata import PackageNotFoundError, version

    for mod in ("multifolio", "numpy", "pandas", "numba", "vectorbt", "bt", "backtrader", "psutil"):
        try:
            info[mod] = version(mod)  # metadata only: importing vectorbt just for this takes seconds
        except PackageNotFoundError:
            info[mod] = "not installed"
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True, cwd=REPO).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], capture_output=True,
                               text=True, cwd=REPO).stdout.strip()
        if dirty:  # the figures belong to the code that ran, which is not exactly that commit
            info["commit"] += f" (plus uncommitted changes in {len(dirty.splitlines())} file(s) under src/)"
    except OSError:
        info["commit"] = "unknown"
    return info


def write_results(path: Path, cases: dict[str, Case], args: argparse.Namespace, started: dt.datetime,
                  elapsed: float) -> None:
    info = machine()
    mode = ("quick (smaller sizes, 1 timed run)" if args.quick else
            f"full (warm-up run, then the median of {args.repeats} timed runs)")
    md = ["# multifolio benchmark results", "",
          f"Generated by `python bench/run.py{' --quick' if args.quick else ''}` on "
          f"{started:%Y-%m-%d %H:%M} UTC in {elapsed / 60:.1f} min. Mode: {mode}.", "",
          "Every engine of a case gets the same inputs in the same process; seconds are warm (one untimed "
          "run first). Ratio = seconds / vectorbt's seconds (< 1 is faster than vectorbt). "
          "Asset-bars/s = assets x bars / seconds. CPU seconds are this process's CPU time over the same "
          "calls: the machine is shared, and wall time includes waiting for a core, CPU time does not.",
          "",
          "## Machine", ""]
    md += [f"- {k}: {v}" for k, v in info.items()]
    md += ["", "## Targets", ""]
    if args.quick:
        md += ["Quick mode: the cases ran at smaller sizes than the targets are stated for, so these "
               "verdicts are indicative only.", ""]
    md += targets(cases)
    for c in cases.values():
        md += ["", f"## {c.name}", "", c.title, ""]
        if c.unavailable:
            md += [f"Not measured: {c.unavailable}"]
            continue
        if c.rows:
            md += table(c.rows) + [""]
        if c.lines:
            md += ["```"] + c.lines + ["```"]
    md += ["", "## How each engine is driven", "", _MODES]
    path.write_text("\n".join(md) + "\n")
    print(f"\nwrote {path}")


_MODES = textwrap.dedent("""\
    - All engines fill at the close of the bar whose weights they carry (multifolio
      `execution="close"`, `close_at_end=False`, since the peers do not liquidate at the end), fee =
      0.1% of traded notional, 1,000,000 cash, fractional quantities, sells before buys.
    - multifolio `from_weights` gets the weight frame; multifolio TopN recomputes the same ranking
      inside the Strategy API (`TopN(k=25, lookback=20, schedule="every_bar")`).
    - vectorbt: `Portfolio.from_orders(close, weights, size_type="targetpercent", group_by=True,
      cash_sharing=True, call_seq="auto", fees=0.001)` (`bench/peers/vectorbt_runner.py`).
    - bt: `Strategy([WeighTarget(weights), Rebalance()])`, `integer_positions=False`, commission
      `0.001 x |qty| x price`; warm-up rows (all NaN) are skipped (`bench/peers/bt_runner.py`).
    - backtrader: one feed per asset, `order_target_percent` per asset, sells sent first,
      cheat-on-close (`set_coc(True)`), fractional sizes, `checksubmit=False`
      (`bench/peers/backtrader_runner.py`). A buy that would leave cash below zero is refused by
      backtrader; the count is shown in the note. Because the targets sum to exactly 100%, float
      rounding leaves the last buy of many bars a hair short of cash, so backtrader refuses it and
      drifts away from the other engines; this is backtrader's behaviour, left as is.
    - With fees, the engines size buys differently when the fees leave cash short of the targets:
      multifolio scales every buy of the bar by one factor, vectorbt fills in call order and cuts the
      last buys, bt takes each fee out of its allocation. Their final equities at fee 0.1% therefore
      differ by about 0.1%; the agreement check runs without fees, where all three must match.
    - Weights: `bench/topn_weights.py` (vectorised; ties go to the earlier column; NaN-safe); the time
      to compute them is printed separately and not part of any engine's time.
    """)


# ----------------------------------------------------------------------------------------------------


def build_cases(quick: bool, repeats: int) -> dict[str, Callable[[], Case]]:
    """The suite: name -> a function running that case (sizes shrink with ``quick``)."""
    big = (100, 504) if quick else (500, 2520)
    year = (100, 252) if quick else (500, 252)
    scale = (1000, 2520) if quick else (5000, 2520)
    return {
        "topn_500x2520": lambda: case_topn("topn_500x2520", *big, repeats, with_backtrader=False),
        "topn_500x252": lambda: case_topn("topn_500x252", *year, repeats, with_backtrader=True),
        "grid_21x26280": lambda: case_grid(repeats),
        "scale_5000x2520": lambda: case_scale(*scale, repeats),
        "cold_start": lambda: case_cold(*big, 1 if quick else 3),
        "sweep_2workers": lambda: case_sweep(1 if quick else repeats, quick),
        "portfolios_20x50": lambda: case_portfolios(1 if quick else repeats, quick),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="multifolio against vectorbt, bt and backtrader")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and 1 timed run per engine")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this case (repeatable); names: " + ", ".join(build_cases(False, 1)))
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs per engine (default 5; quick 1)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default bench/results.md; with --only, none unless given)")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 5)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    suite = build_cases(args.quick, args.repeats)
    names = args.only or list(suite)
    unknown = [n for n in names if n not in suite]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(suite)}")
    out = args.out or (None if args.only else REPO / "bench" / "results.md")

    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    cases: dict[str, Case] = {}
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        case = suite[name]()
        cases[name] = case
        if case.rows:
            print("\n".join(table(case.rows)), flush=True)
    print("\n=== targets ===")
    if args.quick:
        print("(quick mode: smaller sizes than the targets are stated for; the verdicts are indicative only)")
    print("\n".join(targets(cases)))
    if out is not None:
        write_results(out, cases, args, started, time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
