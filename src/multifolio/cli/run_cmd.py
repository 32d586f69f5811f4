"""`multifolio run CONFIG` and `multifolio demo`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import typer

from multifolio.cli.common import (
    CONFIG_SPELLING,
    BadInput,
    ProgressBar,
    console,
    err_console,
    guard,
    parse_assets,
    progress_enabled,
)


def show_report(result: Any, all_assets: bool = False) -> None:
    """Print the terminal report (the five answers, per-asset table, trades, kill-switch events); for
    several portfolios, each portfolio's, then the combined book."""
    from multifolio.report.terminal import render_report

    portfolios = getattr(result, "portfolios", None)
    if portfolios is None:
        render_report(result, console=console, all_assets=all_assets)
        return
    from multifolio.report.multi import render_multi

    for pid, r in portfolios.items():
        console.rule(f"[bold]Portfolio {pid}")
        render_report(r, console=console, all_assets=all_assets)
    console.rule("[bold]Combined book")
    render_multi(result, console=console)


def execute(config_path: Path, *, json_out: bool = False, output: Path | None = None,
            html: Path | None = None, capital: float | None = None, assets: str | None = None,
            days: float | None = None, start: str | None = None, end: str | None = None,
            exchange: str | None = None, kill_switch_pct: float | None = None,
            kill_switch_window: float | None = None, quiet: bool = False,
            default_json: Path | None = None, trace: Path | None = None, md: Path | None = None,
            save: bool = False, label: str = "", runs_store: Path | None = None, all_assets: bool = False,
            benchmark: str | None = None, correlation_threshold: float | None = None,
            max_positions: int | None = None, max_drawdown: float | None = None,
            var_limit: float | None = None) -> Any:
    """Load, override, run and report; shared by ``run`` and ``demo``. Returns the Result."""
    from multifolio.cli.config import load_config, run_config, with_kill_switch, with_rule

    cfg = load_config(config_path)
    if exchange is not None:
        if cfg.data.store is None:
            raise BadInput("--exchange selects the exchange inside a candle store; this config's data "
                           "source is not a store (data.store)")
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"exchange": exchange})})
    cfg = with_kill_switch(cfg, pct=kill_switch_pct, window=kill_switch_window)
    # the common risk rules from flags: the config's rule of that name takes the value, else it is added
    cfg = with_rule(cfg, "correlation_sizing", threshold=correlation_threshold)
    cfg = with_rule(cfg, "max_positions", limit=max_positions)
    cfg = with_rule(cfg, "portfolio_stop", threshold=max_drawdown)
    cfg = with_rule(cfg, "var_limit", limit=var_limit)
    _check_rules(cfg)

    with ProgressBar(progress_enabled(quiet) and not json_out) as progress:
        result = run_config(cfg, capital=capital, assets=parse_assets(assets), days=days, start=start,
                            end=end, progress=progress)

    json_path = output or (Path(cfg.output.json_path) if cfg.output.json_path else default_json)
    html_path = html or (Path(cfg.output.html) if cfg.output.html else None)
    # Files first: a reader that stops early (`| head`) must not cost the reports.
    written = []
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        result.to_json(str(json_path))
        written.append(f"JSON report written to {json_path}")
    multi = getattr(result, "portfolios", None) is not None
    if multi and (md is not None or save):
        raise BadInput("--md and --save take a one-portfolio run; this config has a portfolios: list")
    if html_path is not None and multi:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        result.to_html(str(html_path))
        written.append(f"HTML report written to {html_path}")
    elif html_path is not None or md is not None:
        from multifolio.cli.runs_cmd import write_reports

        written += write_reports(result, html=html_path, md=md, benchmark=benchmark)
    if trace is not None:
        from multifolio.report.trace import write_trace

        trace.parent.mkdir(parents=True, exist_ok=True)
        n = write_trace(result, trace)
        written.append(f"trace of {n:,} events written to {trace}")
    if save:
        from multifolio.cli.runs_cmd import config_record, save_result

        rid = save_result(result, config_record(config_path, capital=capital, assets=assets, days=days,
                                                start=start, end=end, exchange=exchange,
                                                kill_switch_pct=kill_switch_pct,
                                                kill_switch_window=kill_switch_window),
                          runs_store, label)
        written.append(f"saved as run {rid} (multifolio runs show {rid})")
    if json_out:
        # Machine-readable mode: stdout carries the JSON alone.
        console.out(result.to_json(), highlight=False)
    else:
        show_report(result, all_assets)
    if not quiet:
        for line in written:
            err_console.print(line, highlight=False)
    return result


def _check_rules(cfg: Any) -> None:
    """The rules as flags left them, built once: a bad flag value is an error naming the flag's rule."""
    from multifolio.portfolio.risk import make_rule

    for rule in cfg.risk:
        try:
            make_rule({"rule": rule.name, **rule.params})
        except ValueError as exc:
            raise BadInput(str(exc)) from None


def run(
    config: Path = typer.Argument(..., help="YAML run configuration", show_default=False),
    json_out: bool = typer.Option(False, "--json", help="print the JSON report to stdout instead of tables"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write the JSON report to FILE"),
    html: Path | None = typer.Option(None, "--html", help="write the HTML report to FILE"),
    capital: float | None = typer.Option(None, "--capital", help="initial capital (overrides the config)"),
    assets: str | None = typer.Option(None, "--assets",
                                      help="symbols A,B,... or a count N (the first N in config order)"),
    days: float | None = typer.Option(None, "--days", help="run the last N days (or N days from --start)"),
    start: str | None = typer.Option(None, "--start", help="first day of the result period"),
    end: str | None = typer.Option(None, "--end", help="last day of the result period"),
    exchange: str | None = typer.Option(None, "--exchange", help="exchange inside the candle store"),
    kill_switch_pct: float | None = typer.Option(
        None, "--kill-switch-pct", help="kill switch: equity drop in % within the window (rule default 30)"),
    kill_switch_window: float | None = typer.Option(
        None, "--kill-switch-window", help="kill switch: rolling window in hours (rule default 24)"),
    trace: Path | None = typer.Option(None, "--trace", help="write every order, fill, rejection, risk "
                                      "intervention and transfer to FILE as JSON lines, in time order"),
    md: Path | None = typer.Option(None, "--md", help="write a markdown summary to FILE"),
    save: bool = typer.Option(False, "--save", help="save the run (config, metrics, frames)"),
    label: str = typer.Option("", "--label", help="label of the saved run"),
    runs_store: Path | None = typer.Option(None, "--runs-store",
                                           help="DuckDB file for --save (default: the candle store)"),
    all_assets: bool = typer.Option(False, "--all-assets", help="print every asset's row, however many"),
    benchmark: str | None = typer.Option(None, "--benchmark",
                                         help="HTML benchmark symbol (default: equal-weight buy-and-hold)"),
    correlation_threshold: float | None = typer.Option(
        None, "--correlation-threshold",
        help="correlation_sizing: |correlation| above which new orders are scaled down (0-1)"),
    max_positions: int | None = typer.Option(None, "--max-positions",
                                             help="max_positions: at most N assets held at once"),
    max_drawdown: float | None = typer.Option(
        None, "--max-drawdown", help="portfolio_stop: close everything and halt beyond this drawdown %"),
    var_limit: float | None = typer.Option(
        None, "--var-limit",
        help="var_limit: 1-day historical VaR (95%) of the book at most this % of equity"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar, no status lines"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """Run the backtest a YAML config describes and print the report.

    Overrides given here (--start, --end, --days) replace the config's period as a whole.
    """
    with guard(debug, CONFIG_SPELLING):
        execute(config, json_out=json_out, output=output, html=html, capital=capital, assets=assets,
                days=days, start=start, end=end, exchange=exchange, kill_switch_pct=kill_switch_pct,
                kill_switch_window=kill_switch_window, quiet=quiet, trace=trace, md=md, save=save,
                label=label, runs_store=runs_store, all_assets=all_assets, benchmark=benchmark,
                correlation_threshold=correlation_threshold, max_positions=max_positions,
                max_drawdown=max_drawdown, var_limit=var_limit)


#: The bundled demo: the 21-pair grid portfolio on the sample crypto data.
DEMO_CONFIG = "grid_portfolio.yaml"


def demo_config_path() -> Path:
    """The bundled demo configuration (inside the installed package)."""
    candidate = resources.files("multifolio") / "examples" / DEMO_CONFIG
    if not candidate.is_file():
        raise FileNotFoundError(2, "bundled demo config missing", str(candidate))
    return Path(str(candidate))


def demo(
    output: Path = typer.Option(Path("multifolio-demo.json"), "--output", "-o",
                                help="where to write the JSON report"),
    html: Path | None = typer.Option(None, "--html", help="also write the HTML report to FILE"),
    days: float | None = typer.Option(None, "--days", help="run the last N days instead of the config's"),
    capital: float | None = typer.Option(None, "--capital", help="initial capital"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar, no status lines"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """Run the bundled multi-asset example on the sample crypto data, print the report, write the JSON."""
    with guard(debug, CONFIG_SPELLING):
        path = demo_config_path()
        if not quiet:
            err_console.print(f"demo config: {path}", highlight=False)
        execute(path, output=output, html=html, days=days, capital=capital, quiet=quiet)
