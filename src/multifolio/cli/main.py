"""The `multifolio` command: run, demo, sweep, data, strategies, runs, report.

Each command group lives in its own module; this one only assembles the Typer app.
"""

from __future__ import annotations

import typer

from multifolio import __version__
from multifolio.cli.compare_cmd import compare
from multifolio.cli.data_cmd import data_app
from multifolio.cli.optimize_cmd import optimize
from multifolio.cli.run_cmd import demo, run
from multifolio.cli.runs_cmd import report, runs_app
from multifolio.cli.strategies_cmd import strategies
from multifolio.cli.sweep_cmd import sweep

app = typer.Typer(
    name="multifolio",
    help="Multi-asset portfolio backtesting on shared capital.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # errors are one red line; --debug shows the plain traceback
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"multifolio {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """Multi-asset portfolio backtesting on shared capital."""


app.command("run")(run)
app.command("demo")(demo)
app.command("sweep")(sweep)
app.command("compare")(compare)
app.command("optimize")(optimize)
app.command("strategies")(strategies)
app.add_typer(data_app, name="data")
app.add_typer(runs_app, name="runs")
app.command("report")(report)


def main() -> None:  # pragma: no cover - `python -m multifolio.cli.main`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
