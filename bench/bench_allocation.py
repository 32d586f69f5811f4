"""Allocation models: one fit on 100 assets x 252 returns, native vs the skfolio estimator, side by side in
one process on the same windows (BLAS on one thread for both); and a 10-year weekly risk-parity
backtest of 100 assets end to end.

    PYTHONPATH=src python bench/bench_allocation.py [--windows 5] [--repeat 5]

Prints, per model, the median time of one fit (best of ``--repeat`` per window, median over windows), the
ratio native / skfolio, and the agreement on those windows (max |w - w_skfolio|, or the objective for
min variance / max diversification, where the weights may differ on a flat optimum).
"""

from __future__ import annotations

import os

# One BLAS thread for both sides: on a shared machine a multi-threaded BLAS on 100 x 100 problems spends
# its time waiting for cores (set before NumPy loads; override by exporting the variables).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from multifolio.portfolio.allocation import make_model, sample_cov  # noqa: E402


def windows(n: int, t: int = 252, assets: int = 100) -> list[np.ndarray]:
    """Factor-structured daily returns (5 factors, idiosyncratic noise of varying size)."""
    out = []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        f = rng.normal(0.0, 0.01, (t, 5)) @ rng.normal(0.5, 1.0, (5, assets))
        out.append(f + rng.normal(0.0, 0.01, (t, assets)) * rng.uniform(0.5, 2.0, assets))
    return out


def best_time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def skfolio_estimators() -> dict[str, Callable[[], object]]:
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import (
        EqualWeighted,
        HierarchicalRiskParity,
        InverseVolatility,
        MaximumDiversification,
        MeanRisk,
        ObjectiveFunction,
        RiskBudgeting,
    )
    from skfolio.seriation import HierarchicalSeriation

    return {
        "equal_weight": EqualWeighted,
        "inverse_volatility": InverseVolatility,
        "risk_parity": lambda: RiskBudgeting(risk_measure=RiskMeasure.VARIANCE),
        "min_variance": lambda: MeanRisk(objective_function=ObjectiveFunction.MINIMIZE_RISK,
                                         risk_measure=RiskMeasure.VARIANCE),
        "max_diversification": MaximumDiversification,
        "hrp": lambda: HierarchicalRiskParity(
            seriation_estimator=HierarchicalSeriation(optimal_ordering=False)),
    }


def agreement(name: str, x: np.ndarray, w: np.ndarray, ws: np.ndarray) -> str:
    cov = sample_cov(x)
    if name == "min_variance":
        return f"variance native/skfolio - 1 = {w @ cov @ w / (ws @ cov @ ws) - 1:+.2e}"
    if name == "max_diversification":
        sd = np.sqrt(np.diag(cov))

        def dr(v: np.ndarray) -> float:
            return float(v @ sd / np.sqrt(v @ cov @ v))

        return f"div. ratio native/skfolio - 1 = {dr(w) / dr(ws) - 1:+.2e}"
    return f"max |w - w_skfolio| = {np.max(np.abs(w - ws)):.1e}"


def bench_models(n_windows: int, repeat: int) -> None:
    xs = windows(n_windows)
    sk = skfolio_estimators()
    print(f"one fit, 100 assets x 252 returns, median over {n_windows} windows (best of {repeat})")
    print(f"{'model':<22}{'native ms':>11}{'skfolio ms':>12}{'ratio':>9}   agreement (worst window)")
    for name, make_sk in sk.items():
        model = make_model(name)
        model.weights(xs[0])                       # compile / warm
        make_sk().fit(xs[0])
        tn, ts, worst = [], [], ""
        worst_val = -1.0
        for x in xs:
            tn.append(best_time(lambda x=x, m=model: m.weights(x), repeat))
            ts.append(best_time(lambda x=x, mk=make_sk: mk().fit(x), repeat))
            w = model.weights(x)
            ws = make_sk().fit(x).weights_
            a = agreement(name, x, w, ws)
            val = abs(float(a.rsplit("=", 1)[1]))
            if val > worst_val:
                worst_val, worst = val, a
        mn, ms = statistics.median(tn) * 1e3, statistics.median(ts) * 1e3
        print(f"{name:<22}{mn:>11.3f}{ms:>12.2f}{mn / ms:>9.3f}   {worst}")


def bench_backtest() -> None:
    import multifolio as mf
    from multifolio.strategies.allocate import Allocate

    rng = np.random.default_rng(0)
    n_bars, n_assets = 2520, 100
    idx = pd.bdate_range("2014-01-01", periods=n_bars, tz="UTC")
    f = rng.normal(0.0003, 0.01, (n_bars, 3)) @ rng.normal(0.5, 0.5, (3, n_assets))
    rets = f + rng.normal(0.0, 0.012, (n_bars, n_assets))
    close = pd.DataFrame(100 * np.exp(np.cumsum(rets, axis=0)), index=idx,
                         columns=[f"A{j:03d}" for j in range(n_assets)])
    md = mf.MarketData.from_frames(close)

    def run() -> mf.Result:
        return mf.backtest(md, Allocate(model="risk_parity", lookback=252, schedule="weekly"), fees=0.001)

    run()                                          # warm (compilation)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        res = run()
        res.metrics                                # noqa: B018 - metrics included in "end to end"
        times.append(time.perf_counter() - t0)
    n_reb = int((res.events["kind"] == "rebalance").sum())
    print(f"\n10-year weekly risk-parity backtest, {n_assets} assets x {n_bars} daily bars, "
          f"{n_reb} rebalances: best {min(times):.2f} s warm (target <= 2 s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-backtest", action="store_true")
    a = ap.parse_args()
    bench_models(a.windows, a.repeat)
    if not a.no_backtest:
        bench_backtest()


if __name__ == "__main__":
    main()
