"""The grid portfolio with and without the portfolio risk rules: the closing-note table of issue 14.

Runs ``examples/grid_portfolio.yaml`` (21 crypto grids on one 10k margin account, 90 days of hourly
candles, the bundled sample) with its own rules (a recording kill switch) and with
``correlation_sizing``, ``portfolio_stop`` and ``drawdown_scaling`` added one at a time and together.
The grids re-place their limit orders every bar, so these rules act on the resting orders
(``pre_limits``). Prints max drawdown, return, margin peak and the cuts (interventions and the notional
they removed) of each run.

    python bench/grid_risk_table.py
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from multifolio.analytics.interventions import intervention_table
from multifolio.cli.config.loading import load_config
from multifolio.cli.config.runs import run_config

CONFIG = Path(__file__).resolve().parent.parent / "examples" / "grid_portfolio.yaml"

RULES = {
    "correlation_sizing": {"name": "correlation_sizing", "params": {"window": 48, "threshold": 0.7}},
    "portfolio_stop": {"name": "portfolio_stop", "params": {"threshold": 10, "mode": "reduce",
                                                            "cooldown": 72}},
    "drawdown_scaling": {"name": "drawdown_scaling", "params": {"start": 3, "end": 12,
                                                                "min_factor": 0.25}},
}
VARIANTS = {
    "grid (kill switch record only)": [],
    "+ correlation_sizing": ["correlation_sizing"],
    "+ portfolio_stop": ["portfolio_stop"],
    "+ drawdown_scaling": ["drawdown_scaling"],
    "+ all three": ["correlation_sizing", "portfolio_stop", "drawdown_scaling"],
}


def row(res) -> dict[str, float]:
    eq = res.equity
    dd = (1.0 - eq / eq.cummax()).max() * 100.0
    table = intervention_table(res)
    ev = res.events
    return {
        "max_dd_pct": dd,
        "return_pct": (float(eq.iloc[-1]) / float(eq.iloc[0]) - 1.0) * 100.0,
        "margin_peak": float(res.snapshots["margin_used"].max()),
        "cuts": int(table["interventions"].sum()) if len(table) else 0,
        "notional_cut": float(table["notional_cut"].sum()) if len(table) else 0.0,
        "stops": int((ev["kind"] == "portfolio_stop").sum()) if len(ev) else 0,
        "fills": len(res.fills),
    }


def main() -> None:
    base = load_config(CONFIG)
    rows = {}
    for label, names in VARIANTS.items():
        extra = [type(base.risk[0]).model_validate(RULES[n]) for n in names] if base.risk else []
        cfg = base.model_copy(update={"risk": list(base.risk) + extra})
        t0 = time.perf_counter()
        res = run_config(cfg)
        rows[label] = {**row(res), "seconds": time.perf_counter() - t0}
    table = pd.DataFrame(rows).T
    with pd.option_context("display.width", 160, "display.float_format", "{:,.2f}".format):
        print(table.to_string())


if __name__ == "__main__":
    main()
