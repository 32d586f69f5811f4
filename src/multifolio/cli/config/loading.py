"""Reading a YAML run configuration: ``yaml.safe_load``, validation, errors with file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from multifolio.cli.config.checks import check_names
from multifolio.cli.config.errors import ConfigError, dotted, format_validation_error, yaml_index
from multifolio.cli.config.schema import RunConfig
from multifolio.cli.config.yamlload import YamlExpansionError, load_yaml

__all__ = ["load_config", "parse_config"]


def parse_config(data: Any, *, source: str = "<config>", text: str | None = None,
                 base_dir: str | Path | None = None) -> RunConfig:
    """Validate an already-parsed mapping; ``text`` (the YAML) gives line numbers in errors.

    Relative data paths are resolved against ``base_dir`` (the YAML file's folder).
    """
    lines, dups = yaml_index(text) if text is not None else ({}, [])
    if dups:
        raise ConfigError([f"{source}:{line}: key '{dotted(path)}' given twice (first on line {first})"
                           for path, line, first in dups])
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ConfigError([f"{source}: the configuration must be a mapping of keys (found {kind})"])
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, lines)) from None
    if cfg.strategy is None and cfg.portfolios is None:   # one portfolio is the usual case: name its key
        raise ConfigError([f"{source}: missing key 'strategy'"])
    if base_dir is not None:
        cfg = _strategy_files_from(cfg, Path(base_dir))
    if cfg.instruments_file is not None:
        cfg = _instruments_from_file(cfg, Path(base_dir) if base_dir is not None else Path.cwd(), source)
    problems = check_names(cfg, source, lines)
    if problems:
        raise ConfigError(problems)
    if base_dir is not None:
        updates = {}
        for key in ("csv", "parquet", "store"):
            value = getattr(cfg.data, key)
            if value is not None and not Path(value).expanduser().is_absolute():
                updates[key] = str((Path(base_dir) / Path(value).expanduser()).resolve())
        if updates:
            cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update=updates)})
    return cfg


def _instruments_from_file(cfg: RunConfig, base_dir: Path, source: str) -> RunConfig:
    """The ``instruments_file`` (YAML or JSON ``{symbol: spec}``, relative to the config's folder) read
    into ``instruments``; specs written in the config itself win, symbol by symbol."""
    from multifolio.cli.config.schema import InstrumentConfig

    path = Path(cfg.instruments_file or "").expanduser()
    if not path.is_absolute():
        path = (base_dir / path).resolve()
    if not path.is_file():
        raise ConfigError([f"{source}: instruments_file not found: {path}"])
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))      # JSON is YAML
    except (yaml.YAMLError, YamlExpansionError) as exc:
        raise ConfigError([f"{path}: invalid YAML/JSON: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: must be a mapping of {{symbol: instrument spec}}"])
    specs = {}
    for symbol, spec in data.items():
        try:
            specs[str(symbol)] = InstrumentConfig.model_validate(spec)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, f"{path} ({symbol})", {})) from None
    specs.update(cfg.instruments or {})
    return cfg.model_copy(update={"instruments": specs, "instruments_file": None})


def _strategy_files_from(cfg: RunConfig, base_dir: Path) -> RunConfig:
    """Relative file parameters of the strategy (its ``FILE_PARAMS``, e.g. the ``signals`` decisions
    file) resolved against the YAML file's folder, as data paths are."""
    from multifolio.strategies.registry import STRATEGIES

    def resolved(sc: Any) -> Any:
        names = getattr(STRATEGIES.get(sc.name), "FILE_PARAMS", ())
        params = dict(sc.params)
        changed = False
        for key in names:
            value = params.get(key)
            if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
                params[key] = str((base_dir / Path(value).expanduser()).resolve())
                changed = True
        return sc.model_copy(update={"params": params}) if changed else sc

    if cfg.strategy is not None:
        return cfg.model_copy(update={"strategy": resolved(cfg.strategy)})
    portfolios = [p.model_copy(update={"strategy": resolved(p.strategy)}) for p in cfg.portfolios or ()]
    return cfg.model_copy(update={"portfolios": portfolios})


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML run configuration.

    Raises :class:`ConfigError` (a ``ValueError``) with the file, line and dotted key path of each
    problem, e.g. ``grid.yaml:7: unknown key 'strategy.parms'; did you mean 'params'?``.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise ConfigError([f"config file {what}: {path}"])
    text = path.read_text(encoding="utf-8")
    try:
        data = load_yaml(text)
    except YamlExpansionError as exc:
        raise ConfigError([f"{path}: {exc}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{where}: invalid YAML: {problem}"]) from None
    return parse_config(data, source=str(path), text=text, base_dir=path.parent)
