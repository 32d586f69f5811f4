"""The YAML reader of run configurations: ``yaml.SafeLoader`` with two changes.

* A float written without a dot (``1e9``, ``5e-4``) is a number, as in YAML 1.2 (YAML 1.1, which PyYAML
  follows, reads it as the string ``"1e9"``).
* Aliases may not expand the document beyond :data:`MAX_VALUES` values: a few hundred bytes of nested
  aliases ("billion laughs") would otherwise expand to gigabytes once validated; an alias that refers to
  the node it sits in is refused too.

>>> load_yaml("fees: 1e-3\\nbase: &b {x: 1}\\nother: {<<: *b, y: 2}")
{'fees': 0.001, 'base': {'x': 1}, 'other': {'x': 1, 'y': 2}}
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["MAX_VALUES", "ConfigLoader", "YamlExpansionError", "compose_yaml", "load_yaml"]

#: The most values (mappings, lists, scalars, keys included) a configuration may expand to.
MAX_VALUES = 100_000


class YamlExpansionError(yaml.YAMLError):
    """Aliases expand the document too far, or an alias refers to itself."""


class ConfigLoader(yaml.SafeLoader):
    """``SafeLoader`` that also reads ``1e9``-style floats as numbers."""


ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def _check_expansion(root: yaml.Node) -> None:
    """Count the values the node graph expands to (shared nodes once per reference), memoised."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlExpansionError(f"an alias refers to itself (line {node.start_mark.line + 1})")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        if total > MAX_VALUES:
            raise YamlExpansionError(f"YAML aliases expand to more than {MAX_VALUES:,} values "
                                     "(nested aliases such as a 'billion laughs' document); write the "
                                     "values out or use fewer aliases")
        sizes[key] = total
        return total

    size(root)


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of one document, checked for alias expansion."""
    loader = ConfigLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is not None:
        _check_expansion(node)
    return node


def load_yaml(text: str) -> Any:
    """Parse one YAML document (``yaml.safe_load`` semantics plus the two changes above)."""
    loader = ConfigLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()
