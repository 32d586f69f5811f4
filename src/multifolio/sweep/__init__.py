"""Parameter and capital sweeps, run in local processes or on a Dask cluster."""

from multifolio.sweep.runner import BACKENDS, SweepError, run_sweep
from multifolio.sweep.sizing import max_assets_per_capital, sizing_sweep, summarize_result

__all__ = ["BACKENDS", "SweepError", "run_sweep", "sizing_sweep", "max_assets_per_capital",
           "summarize_result"]
