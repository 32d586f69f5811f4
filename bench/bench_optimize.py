"""Benchmark: walk-forward optimisation of grid_atr, per-asset mode, on the crypto sample.

The issue's case: 21 pairs, 1 year of hourly bars, train 90 d / test 30 d, 100 parameter combinations
(num_levels x atr_multiplier_start x atr_multiplier_step: 5 x 5 x 4), on 1 and 2 worker processes;
prints wall time, evaluations and evaluations per second (target <= 60 s on 2 workers). ``--combos``,
``--symbols`` and ``--days`` scale it down for a quick measurement (the rate carries over: every
per-asset evaluation is one asset on one train span).

    python bench/bench_optimize.py                         # the issue's case
    python bench/bench_optimize.py --combos 4 --symbols 21 # 4 combinations only
"""

from __future__ import annotations

import argparse
import time

import multifolio as mf
from multifolio.data import samples
from multifolio.portfolio.spec import AccountSpec, RunSpec
from multifolio.sweep.grid import expand_grid
from multifolio.sweep.optimize import walk_forward

FULL_GRID = {"num_levels": [3, 4, 5, 6, 8], "atr_multiplier_start": [0.8, 1.0, 1.2, 1.5, 2.0],
             "atr_multiplier_step": [0.4, 0.5, 0.75, 1.0]}


def grid(n: int) -> dict[str, list]:
    combos = expand_grid(FULL_GRID)[:n]
    return {k: sorted({c[k] for c in combos}) for k in FULL_GRID}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--combos", type=int, default=100)
    ap.add_argument("--symbols", type=int, default=21)
    ap.add_argument("--days", type=float, default=365)
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args()
    data = samples.crypto_hourly()
    g = grid(args.combos)
    spec = RunSpec(strategy="grid_atr", params={"ma_period": 48, "atr_period": 14, "leverage": 2.0,
                                                "sl_percent": 8.0},
                   account=AccountSpec(capital=10_000.0, fees=0.001, leverage=1.5, allow_short=True,
                                       min_notional=5.0),
                   symbols=tuple(data.symbols[:args.symbols]), days=args.days, warmup_bars=200)
    n = 1
    for v in g.values():
        n *= len(v)
    print(f"grid_atr per-asset walk-forward: {args.symbols} pairs, {args.days:g} days hourly, "
          f"train 90d / test 30d, {n} combinations")
    for workers in (int(w) for w in args.workers.split(",")):
        t0 = time.perf_counter()
        wf = walk_forward(mf.run_spec, spec, data, g, train="90d", test="30d", objective="sharpe",
                          mode="per-asset", workers=workers)
        dt = time.perf_counter() - t0
        ev = wf.evaluations["run"]
        s = wf.summary["per-asset"]
        print(f"workers {workers}: {dt:.1f} s, {ev} evaluations, {ev / dt:.1f} evaluations/s; "
              f"OOS return {s['oos_return_pct']:+.2f}%, max DD {s['oos_max_drawdown_pct']:.2f}%")


if __name__ == "__main__":
    main()
