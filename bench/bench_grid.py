"""Benchmark: the grid-ATR portfolio on 21 assets x 3 years of hourly bars (26,280 bars, ~552k asset-bars).

Target: <= 2 s per warm run (numba kernels compiled and cached by a first run). Prints seconds and
asset-bars per second, the run's headline figures (so a speed-up that changes results is visible), and
with ``--profile`` the functions where the time goes, split into engine and strategy.

    python bench/bench_grid.py            # 1 cold + 3 warm runs
    python bench/bench_grid.py --profile  # plus a cProfile of one warm run
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

import numpy as np

import multifolio
from multifolio.data.synthetic import synthetic
from multifolio.portfolio.risk import KillSwitch
from multifolio.strategies.grid_atr import GridATR

N_ASSETS = 21
N_BARS = 3 * 365 * 24  # 26,280 hourly bars
TARGET_SECONDS = 2.0
VERBS = ("place_limits", "cancel_all", "close_positions", "close_position", "record", "log_event")


def make_data():
    return synthetic(N_ASSETS, N_BARS, freq="1h", seed=42,
                     start_prices=list(np.geomspace(0.5, 30_000.0, N_ASSETS)))


def run_once(data):
    strategy = GridATR(ma_period=48, atr_period=14, atr_multiplier_start=1.0, atr_multiplier_step=0.5,
                       num_levels=5, leverage=2.0, sides="long", sl_percent=8.0)
    return multifolio.backtest(data, strategy, cash=10_000.0, fees=0.001, leverage=3.0,
                               min_notional=5.0, risk=[KillSwitch(24, 30, "record")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="warm runs to time (best is reported)")
    parser.add_argument("--profile", action="store_true", help="cProfile one warm run")
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = make_data()
    print(f"data: {data.n_bars:,} bars x {data.n_assets} assets "
          f"generated in {time.perf_counter() - t0:.2f} s")

    t0 = time.perf_counter()
    result = run_once(data)
    print(f"cold run (JIT/cache load): {time.perf_counter() - t0:.2f} s")

    times = []
    for _ in range(max(1, args.runs)):
        t0 = time.perf_counter()
        result = run_once(data)
        times.append(time.perf_counter() - t0)
    best = min(times)
    asset_bars = data.n_bars * data.n_assets
    verdict = "OK" if best <= TARGET_SECONDS else "SLOWER than target"
    print(f"warm runs: {', '.join(f'{t:.2f}' for t in times)} s; best {best:.2f} s "
          f"-> {asset_bars / best:,.0f} asset-bars/s (target <= {TARGET_SECONDS:.1f} s: {verdict})")
    snaps = result.snapshots
    n_fills = len(result.fills)
    n_kill = int((result.events["kind"] == "kill_switch").sum()) if len(result.events) else 0
    print(f"result: final equity {float(result.equity.iloc[-1]):,.2f}, fills {n_fills:,}, "
          f"orders {len(result.orders):,}, peak margin {float(snaps['margin_ratio'].max()) * 100:.1f}%, "
          f"peak filled levels {int(snaps['n_filled_levels'].max())}, "
          f"kill-switch events {n_kill}")

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run_once(data)
        prof.disable()
        stats = pstats.Stats(prof)
        cum: dict[str, float] = {}
        for (filename, _, func), (_, _, _, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
            if filename.endswith("grid_atr.py") and func in ("on_bar", "init"):
                cum[f"strategy.{func}"] = cum.get(f"strategy.{func}", 0.0) + ct
            elif filename.endswith("risk.py") and func == "on_bar":
                cum["risk.on_bar"] = cum.get("risk.on_bar", 0.0) + ct
            elif filename.endswith("context.py") and func in VERBS:
                cum["engine verbs"] = cum.get("engine verbs", 0.0) + ct
            elif filename.endswith("api.py") and func == "backtest":
                cum["total"] = ct
        total = cum.get("total", float("nan"))
        own = cum.get("strategy.on_bar", 0.0) - cum.get("engine verbs", 0.0)
        engine = total - cum.get("strategy.on_bar", 0.0) - cum.get("strategy.init", 0.0) \
            - cum.get("risk.on_bar", 0.0)
        print(f"profiled run {total:.2f} s: strategy on_bar own {own:.2f} s, strategy init "
              f"{cum.get('strategy.init', 0.0):.2f} s, risk rules {cum.get('risk.on_bar', 0.0):.2f} s, "
              f"engine verbs called by the strategy (place_limits, cancel_all, ...) "
              f"{cum.get('engine verbs', 0.0):.2f} s, rest of the engine {engine:.2f} s")
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())


if __name__ == "__main__":
    main()
