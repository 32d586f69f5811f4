"""`multifolio strategies`: the built-in strategies and their parameters."""

from __future__ import annotations

import inspect

import typer
from rich.table import Table

from multifolio.cli.common import console, guard


def _summary(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    # First paragraph of the docstring, without reST literal markup.
    return doc.strip().split("\n\n")[0].replace("\n", " ").replace("``", "")


def strategies(
    name: str | None = typer.Argument(None, help="show only this strategy"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """List the built-in strategies (names for `strategy.name`) and their parameters."""
    with guard(debug):
        from multifolio.data.selection import did_you_mean
        from multifolio.strategies.registry import STRATEGIES

        names = sorted(STRATEGIES)
        if name is not None:
            if name not in STRATEGIES:
                raise ValueError(f"unknown strategy {name!r}{did_you_mean(name, names)} "
                                 f"(built-ins: {', '.join(names)})")
            names = [name]
        for key in names:
            cls = STRATEGIES[key]
            table = Table(title=f"[bold]{key}[/bold] — {_summary(cls)}", title_justify="left",
                          show_lines=False, expand=False)
            table.add_column("parameter", style="cyan", no_wrap=True)
            table.add_column("type")
            table.add_column("default")
            table.add_column("description")
            for pname, spec in getattr(cls, "PARAMS", {}).items():
                if pname == "per_asset":  # explained below the table
                    continue
                ptype, default, desc = (tuple(spec) + (None, None, ""))[:3]
                tname = getattr(ptype, "__name__", str(ptype))
                table.add_row(pname, tname, repr(default), str(desc))
            console.print(table)
            if getattr(cls, "supports_per_asset", None) or "per_asset" in inspect.signature(cls).parameters:
                console.print("  per-asset overrides: strategy.per_asset: {SYMBOL: {parameter: value}}\n",
                              highlight=False)
