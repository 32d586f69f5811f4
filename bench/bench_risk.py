"""Benchmark: what the order-screening risk rules cost on a large rotation.

TopN (k=50, 20-bar momentum, weekly) on 500 assets x 2,520 daily bars, without rules and with
``correlation_sizing`` + ``var_limit`` (they screen every batch; rules make the simulator call Python
every bar). Target: with rules <= 3x the time without. Prints the warm timings, the ratio and the
interventions.

    python bench/bench_risk.py             # 1 cold + 3 warm runs of each
    python bench/bench_risk.py --schedule daily
"""

from __future__ import annotations

import argparse
import time

import multifolio
from multifolio.analytics.interventions import intervention_table
from multifolio.data.synthetic import synthetic
from multifolio.portfolio.risk import CorrelationSizing, VarLimit
from multifolio.strategies.top_n import TopN

N_ASSETS = 500
N_BARS = 2_520
TARGET_RATIO = 3.0


def make_data():
    return synthetic(N_ASSETS, N_BARS, freq="1D", seed=7)


def run_once(data, schedule, rules):
    return multifolio.backtest(data, TopN(k=50, lookback=20, schedule=schedule), cash=1_000_000.0,
                               fees=0.0005, risk=rules())


def best_of(data, schedule, rules, n: int) -> tuple[float, object]:
    best, res = float("inf"), None
    for _ in range(n):
        t0 = time.perf_counter()
        res = run_once(data, schedule, rules)
        best = min(best, time.perf_counter() - t0)
    return best, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schedule", default="weekly")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data = make_data()

    def with_rules():
        return [CorrelationSizing(window=30, threshold=0.7), VarLimit(limit=2.0, window=250)]

    run_once(data, args.schedule, list)            # compile / warm caches
    run_once(data, args.schedule, with_rules)
    bare, r0 = best_of(data, args.schedule, list, args.repeat)
    ruled, r1 = best_of(data, args.schedule, with_rules, args.repeat)
    ratio = ruled / bare
    print(f"TopN {N_ASSETS} x {N_BARS} ({args.schedule}): without rules {bare:.2f} s, "
          f"with correlation_sizing + var_limit {ruled:.2f} s, ratio {ratio:.2f} (target <= {TARGET_RATIO})")
    print(f"final equity {float(r0.equity.iloc[-1]):,.0f} -> {float(r1.equity.iloc[-1]):,.0f}")
    print(intervention_table(r1)[["interventions", "dropped", "notional_cut", "cut_pct"]].to_string())


if __name__ == "__main__":
    main()
