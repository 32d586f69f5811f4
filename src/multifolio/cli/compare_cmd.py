"""`multifolio compare CONFIG`: the config's assets on one shared pool against each alone on capital/N.

People tune each asset alone on a slice of the money, then trade them all on one account. Both run here
in one pass over the data, as N+1 portfolios on one clock: the shared pool, and each asset alone with
capital/N (same strategy, per-asset parameters, rules and account settings).
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from multifolio.cli.common import (
    CONFIG_SPELLING,
    BadInput,
    ProgressBar,
    console,
    err_console,
    guard,
    progress_enabled,
)


def compare_config(config: Any, *, days: float | None = None, start: Any = None, end: Any = None,
                   progress: Any = None) -> tuple[Any, dict[str, Any]]:
    """Run the shared pool and the isolated per-asset portfolios; returns (MultiResult, comparison)."""
    from multifolio.analytics.combined import shared_vs_isolated
    from multifolio.cli.config import ConfigError, load_config
    from multifolio.cli.config.runs import run_portfolios
    from multifolio.cli.config.schema import PortfolioConfig

    cfg = load_config(config) if isinstance(config, (str, Path)) else config
    if cfg.portfolios is not None:
        raise ConfigError(["compare runs a one-portfolio config (strategy:) shared vs isolated; this one "
                           "has a portfolios: list"])
    from multifolio.cli.config import load_data

    data = None
    if cfg.data.symbols:
        symbols = list(cfg.data.symbols)
    else:                     # all the source's symbols: read once, and the run uses what was read
        data = load_data(cfg)
        symbols = list(data.symbols)
    share = float(cfg.capital) / len(symbols)
    shared = PortfolioConfig(id="shared", capital=cfg.capital, symbols=symbols, strategy=cfg.strategy,
                             risk=cfg.risk)
    alone = [PortfolioConfig(id=s, capital=share, symbols=[s], strategy=cfg.strategy, risk=cfg.risk)
             for s in symbols]
    multi_cfg = cfg.model_copy(update={"strategy": None, "risk": [], "portfolios": [shared, *alone]})
    multi = run_portfolios(multi_cfg, days=days, start=start, end=end, progress=progress, data=data)
    parts = dict(multi.portfolios)
    comparison = shared_vs_isolated(parts.pop("shared"), parts)
    return multi, comparison


def render_comparison(cmp: dict[str, Any]) -> Table:
    t = Table(title="One shared pool vs each asset alone on capital / N", title_justify="left")
    for col in ("", "Shared pool", "Isolated, summed"):
        t.add_column(col, justify="left" if not col else "right")
    s, i = cmp["shared"], cmp["isolated_sum"]
    t.add_row("Capital", f"{s['capital']:,.2f}", f"{i['capital']:,.2f}")
    t.add_row("Final equity", f"{s['final_equity']:,.2f}", f"{i['final_equity']:,.2f}")
    t.add_row("Return %", f"{s['return_pct']:+.2f}", f"{i['return_pct']:+.2f}")
    t.add_row("Max drawdown %", f"{s['max_drawdown_pct']:.2f}", f"{i['max_drawdown_pct']:.2f}")
    t.add_row("Margin peak % of capital", f"{s['margin_peak_pct']:.2f}", f"{i['margin_peak_pct']:.2f}")
    return t


def comparison_lines(cmp: dict[str, Any]) -> list[str]:
    return [
        f"Isolated drawdowns: worst {cmp['isolated_worst_drawdown_pct']:.2f}%, capital-weighted average "
        f"{cmp['isolated_weighted_drawdown_pct']:.2f}%",
        f"Hidden drawdown: {cmp['hidden_drawdown_pct']:+.2f} points (the shared pool's drawdown minus the "
        "summed isolated curve's)",
        f"Orders refused for margin/cash in the shared pool beyond those refused alone: "
        f"{cmp['refused_in_shared_total']}",
    ]


def compare(
    config: Path = typer.Argument(..., help="YAML run configuration (one strategy)", show_default=False),
    json_out: bool = typer.Option(False, "--json", help="print the comparison as JSON"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write the JSON (comparison and "
                                                                  "every portfolio's report) to FILE"),
    html: Path | None = typer.Option(None, "--html", help="write the HTML report of the N+1 portfolios"),
    days: float | None = typer.Option(None, "--days", help="run the last N days (or N days from --start)"),
    start: str | None = typer.Option(None, "--start", help="first day of the result period"),
    end: str | None = typer.Option(None, "--end", help="last day of the result period"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar, no status lines"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """Shared vs isolated: the config's assets on one pool and each alone with capital/N, in one pass."""
    with guard(debug, CONFIG_SPELLING):
        from multifolio.report.json_report import to_jsonable

        if days is not None and days <= 0:
            raise BadInput(f"--days must be > 0, got {days}")
        with ProgressBar(progress_enabled(quiet) and not json_out) as progress:
            multi, cmp = compare_config(config, days=days, start=start, end=end, progress=progress)
        if output is not None:
            payload = to_jsonable({"comparison": cmp, **multi.to_dict()})
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(jsonlib.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        if html is not None:
            html.parent.mkdir(parents=True, exist_ok=True)
            from multifolio.report.multi import write_multi_html

            write_multi_html(multi, html, title="multifolio: shared pool vs each asset alone",
                             extra=comparison_lines(cmp))
        if json_out:
            console.out(jsonlib.dumps(to_jsonable(cmp), indent=2, allow_nan=False), highlight=False)
            return
        console.print(render_comparison(cmp))
        for line in comparison_lines(cmp):
            console.print(line, highlight=False)
        if not quiet:
            for path, what in ((output, "JSON"), (html, "HTML")):
                if path is not None:
                    err_console.print(f"{what} report written to {path}", highlight=False)
