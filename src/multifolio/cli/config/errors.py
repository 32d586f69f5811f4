"""Configuration errors that point at the line to fix: YAML line index, dotted paths, readable messages."""

from __future__ import annotations

from collections.abc import Sequence
from types import UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from multifolio.cli.config.schema import RunConfig
from multifolio.cli.config.yamlload import compose_yaml
from multifolio.data.selection import did_you_mean

__all__ = ["ConfigError", "did_you_mean", "dotted", "format_validation_error", "line_for", "at_line",
           "yaml_index"]


class ConfigError(ValueError):
    """A bad run configuration. ``problems`` lists every problem found; ``str()`` is the first one
    (with its file, line and dotted path) followed by how many more there are."""

    def __init__(self, problems: Sequence[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        msg = self.problems[0] if self.problems else "invalid configuration"
        if len(self.problems) > 1:
            msg += f" (and {len(self.problems) - 1} more problem{'s' if len(self.problems) > 2 else ''})"
        super().__init__(msg)


def yaml_index(text: str) -> tuple[dict[tuple[Any, ...], int], list[tuple[tuple[Any, ...], int, int]]]:
    """Line numbers of every path, and the keys given twice in one mapping: (path, line, first line).

    The composed node tree keeps marks, the constructed data does not; paths to keys point at the key's
    line, list items at the item's line. A repeated key silently wins in ``safe_load``; we report it.
    """
    lines: dict[tuple[Any, ...], int] = {}
    dups: list[tuple[tuple[Any, ...], int, int]] = []
    try:
        root = compose_yaml(text)   # refuses alias bombs before the walk below expands them
    except yaml.YAMLError:
        return lines, dups

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value
                sub = path + (key,)
                line = key_node.start_mark.line + 1
                if key in seen and key != "<<":
                    dups.append((sub, line, seen[key]))
                seen.setdefault(key, line)
                lines.setdefault(sub, line)
                walk(value_node, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                sub = path + (i,)
                lines.setdefault(sub, item.start_mark.line + 1)
                walk(item, sub)

    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines, dups


def line_for(lines: dict[tuple[Any, ...], int], loc: Sequence[Any]) -> int | None:
    # YAML keys are strings; pydantic may report an int key for a dict[str, ...] key it coerced.
    loc = tuple(loc)
    for n in range(len(loc), 0, -1):
        for cand in (loc[:n], tuple(str(p) if not isinstance(p, int) else p for p in loc[:n])):
            if cand in lines:
                return lines[cand]
    return None


def dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _fields_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The pydantic model class that holds the key at ``loc`` (None when it is a free-form dict)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):  # a list index: the list's item type was unwrapped already
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        by_alias = {(f.alias or n): f for n, f in current.model_fields.items()}
        field = by_alias.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        current = field.annotation
        # Unwrap Optional[...] and list[...] (a list index comes next in loc).
        while get_origin(current) in (Union, UnionType, list):
            args = [a for a in get_args(current) if a is not type(None)]
            if len(args) != 1:
                return None
            current = args[0]
            if get_origin(current) is None and isinstance(current, type) and issubclass(current, BaseModel):
                break
        if isinstance(current, type) and issubclass(current, BaseModel):
            continue
        return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def at_line(source: str, lines: dict[tuple[Any, ...], int], loc: Sequence[Any]) -> str:
    line = line_for(lines, loc)
    return f"{source}:{line}" if line is not None else source


def format_validation_error(exc: ValidationError, source: str,
                             lines: dict[tuple[Any, ...], int]) -> list[str]:
    problems: list[tuple[int, str]] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = at_line(source, lines, loc)
        line = line_for(lines, loc) or 0
        if err["type"] == "extra_forbidden":
            holder = _model_at(RunConfig, loc[:-1]) if loc[:-1] else RunConfig
            choices = _fields_of(holder) if holder is not None else []
            hint = did_you_mean(loc[-1], choices)
            allowed = f" (allowed: {', '.join(choices)})" if choices and not hint else ""
            problems.append((line, f"{where}: unknown key '{dotted(loc)}'{hint}{allowed}"))
            continue
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if err["type"] == "missing":
            problems.append((line, f"{where}: missing key '{dotted(loc)}'"))
            continue
        given = err.get("input")
        shown = "" if err["type"] in ("value_error",) or isinstance(given, (dict, list)) else \
            f" (got {given!r})"
        problems.append((line, f"{where}: {dotted(loc)}: {msg}{shown}"))
    # The first problem in the file comes first (the one-line CLI message shows it).
    return [msg for _, msg in sorted(problems, key=lambda p: p[0])]
