"""Shared CLI plumbing: consoles, the one-red-line error policy, progress bars, list parsing."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from multifolio.data.timestamps import date_format_hint
from multifolio.sweep.runner import SweepError

# Reports go to stdout; errors and progress to stderr, so `--json > out.json` stays clean.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
if not console.is_terminal and "COLUMNS" not in os.environ:
    # Redirected to a file or a CI log: Rich would assume 80 columns and truncate the wide tables.
    console.width = 150

#: Exit code for bad input (config, arguments, data), as for a usage error.
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1


_BAD_INPUT = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, ImportError)


class BadInput(ValueError):
    """A problem with what the user gave (raised by the CLI itself)."""


def error_line(message: str) -> None:
    """Print one red line on stderr (no markup interpretation: messages hold brackets like risk[0])."""
    text = " ".join(str(message).split("\n")[0:1]) if message else "error"
    err_console.print(Text(f"error: {text}", style="bold red"))


#: The library's advice names keyword arguments; a CLI user is told the option to pass instead, a
#: config user the key to set.
CLI_SPELLING = {"pass timeframe=": "pass --timeframe", "pass exchange=": "pass --exchange",
                date_format_hint(): date_format_hint("--date-format")}
CONFIG_SPELLING = {"pass timeframe=": "set data.timeframe", "pass exchange=": "set data.exchange",
                   date_format_hint(): date_format_hint("data.date_format")}


@contextmanager
def guard(debug: bool = False, spelling: Mapping[str, str] = CLI_SPELLING) -> Iterator[None]:
    """Turn exceptions into one red line and an exit code; ``debug`` re-raises with the traceback.

    ``spelling`` rewrites the library's advice for the audience (``--timeframe`` for a command-line
    option, ``data.timeframe`` for a configuration key).

    Bad input (``ValueError`` and its subclasses ``ConfigError``/``MarketDataError``, missing files,
    missing optional packages) exits with code 2; anything else is an internal error (code 1).
    """
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except BrokenPipeError:
        # The reader went away (`multifolio run x.yaml | head`): stop quietly, as Unix tools do.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (tests)
            pass
        raise typer.Exit(EXIT_INTERNAL) from None
    except _BAD_INPUT as exc:
        if debug:
            raise
        if isinstance(exc, ImportError) and (exc.name or "").startswith("multifolio"):
            # Our own module failing to import is a broken installation, not bad input.
            error_line(f"internal error: {exc} (run again with --debug for the traceback)")
            raise typer.Exit(EXIT_INTERNAL) from None
        error_line(_respell(_describe(exc), spelling))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except Exception as exc:  # noqa: BLE001 - the policy is: no traceback unless --debug
        if debug:
            raise
        if isinstance(exc, SweepError) and isinstance(exc.__cause__, _BAD_INPUT):
            # A run of a sweep met bad input (data, symbols, asset count) in its worker process.
            error_line(str(exc))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        error_line(f"internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)")
        raise typer.Exit(EXIT_INTERNAL) from None


def _respell(message: str, spelling: Mapping[str, str]) -> str:
    for api, cli in spelling.items():
        message = message.replace(api, cli)
    return message


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"file not found: {exc.filename}"
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        extra = {"ccxt": "exchange", "skfolio": "optimize", "dask": "distributed"}.get(exc.name.split(".")[0])
        hint = f" (pip install 'multifolio[{extra}]')" if extra else ""
        return f"missing package {exc.name!r}{hint}"
    return str(exc) or type(exc).__name__


def parse_list(value: str | None, *, option: str) -> list[str] | None:
    """``"A,B, C"`` -> ``["A", "B", "C"]``; None stays None."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise BadInput(f"{option}: empty list")
    return items


def parse_assets(value: str | None) -> list[str] | int | None:
    """``--assets``: a count (``5`` = the first five symbols in config order) or ``A,B,...``."""
    if value is None:
        return None
    stripped = value.strip()
    if stripped.isdigit():
        return int(stripped)
    return parse_list(value, option="--assets")


class _BarsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} bars/s" if speed else "- bars/s", style="cyan")


class ProgressBar:
    """A ``progress(done, total)`` callback that shows a transient Rich bar on stderr once the work passes
    ``delay`` seconds: bars of a backtest (with bars/s) or, with ``unit``, finished tasks (sweep runs,
    optimisation evaluations), with the elapsed time and an ETA.

    Short runs never flash a bar; ``enabled=False`` (``--quiet``, or stdout not a terminal) turns it off.
    Use as a context manager so the bar is removed when the work ends.
    """

    def __init__(self, enabled: bool, label: str = "backtest", *, unit: str | None = None,
                 delay: float = 1.0) -> None:
        self.enabled = enabled
        self.label = label
        self.unit = unit
        self.delay = delay
        self._t0 = time.monotonic()
        self._progress: Progress | None = None
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            if time.monotonic() - self._t0 < self.delay:
                return
            rate = _BarsPerSecond() if self.unit is None else TextColumn(self.unit)
            self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), rate, TimeElapsedColumn(),
                                      TextColumn("ETA"), TimeRemainingColumn(),
                                      console=err_console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total, completed=done)
        else:
            self._progress.update(self._task, completed=done, total=total)

    def __enter__(self) -> ProgressBar:
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def progress_enabled(quiet: bool) -> bool:
    """Progress bars only for a person watching: not with --quiet, not when stdout is redirected."""
    return not quiet and sys.stdout.isatty()


