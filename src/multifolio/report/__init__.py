"""Reports of a Result: Rich terminal tables, JSON, and a self-contained HTML page.

Imported lazily so that ``import multifolio.report.terminal`` (the CLI) does not load Plotly.
"""

from __future__ import annotations

from typing import Any

__all__ = ["render_report", "result_to_dict", "result_to_json", "write_html_report"]

_WHERE = {"render_report": "terminal", "result_to_dict": "json_report", "result_to_json": "json_report",
          "write_html_report": "html"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"multifolio.report.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'multifolio.report' has no attribute {name!r}")
