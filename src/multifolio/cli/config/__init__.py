"""YAML run configuration: validated with pydantic, errors that point at the line to fix.

A run is described by one YAML file::

    data:
      sample: crypto_hourly          # or csv: / parquet: / store: (paths relative to the YAML file)
      symbols: [BTC/USDT, ETH/USDT]  # optional subset, in this order
      days: 90                       # or start: / end:
    capital: 10000
    fees: 0.001                      # a number, or {symbol: number}
    strategy:
      name: top_n
      params: {k: 1, lookback: 24}
    risk:
      - name: kill_switch
        params: {window: 24, threshold: 30}

One job per module: ``schema`` (the pydantic models), ``errors`` (line-numbered messages), ``checks``
(names and parameters against the registries), ``loading`` (``load_config`` / ``parse_config``) and
``runs`` (a config's data source and :class:`~multifolio.portfolio.spec.RunSpec`, ``run_config``).
Nothing below the CLI imports this package: the layers below see specs and loaded data.
"""

from multifolio.cli.config.errors import ConfigError
from multifolio.cli.config.loading import load_config, parse_config
from multifolio.cli.config.runs import (
           data_source,
           load_data,
           run_config,
           sweep_config,
           to_spec,
           with_kill_switch,
           with_rule,
)
from multifolio.cli.config.schema import DataConfig, OutputConfig, RiskRuleConfig, RunConfig, StrategyConfig

__all__ = ["ConfigError", "DataConfig", "OutputConfig", "RiskRuleConfig", "RunConfig", "StrategyConfig",
           "data_source", "load_config", "load_data", "parse_config", "run_config", "sweep_config", "to_spec",
           "with_kill_switch", "with_rule"]
