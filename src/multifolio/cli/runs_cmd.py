"""`multifolio runs ls | show ID | compare ID1 ID2 ...` and `multifolio report ID`: saved runs.

Runs are saved with ``run --save`` / ``sweep --save`` into the candle store's DuckDB file (its own
tables; ``--store`` or ``$MULTIFOLIO_STORE`` picks another file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from multifolio.cli.common import BadInput, console, err_console, guard

runs_app = typer.Typer(
    help="Saved runs: list, show, compare (save with `run --save` / `sweep --save`).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

STORE_HELP = "DuckDB file of the saved runs (default: the candle store, $MULTIFOLIO_STORE)"


def open_store(store: Path | None, read_only: bool = True) -> Any:
    """The run store (read-only unless writing)."""
    from multifolio.report.saved_runs import RunStore

    return RunStore(store, read_only=read_only)


def save_result(result: Any, config: dict[str, Any], store: Path | None, label: str) -> int:
    """Save a run; returns its id."""
    with open_store(store, read_only=False) as rs:
        return rs.save_result(result, config=config, label=label)


def save_sweep(
    table: Any, answer: Any, max_dd: float, config: dict[str, Any], store: Path | None, label: str
) -> int:
    """Save a sweep; returns its id."""
    with open_store(store, read_only=False) as rs:
        return rs.save_sweep(table, answer, max_dd, config=config, label=label)


def config_record(path: Path, **overrides: Any) -> dict[str, Any]:
    """What a saved run keeps of its config: the path, the YAML text and the command-line overrides."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        text = None
    return {
        "path": str(path),
        "text": text,
        "overrides": {k: v for k, v in overrides.items() if v is not None},
    }


def _f(x: Any, spec: str = "{:,.2f}") -> str:
    from multifolio.report.terminal import fmt

    return fmt(x, spec)


@runs_app.command("ls")
def runs_ls(
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """List the saved runs, oldest first."""
    with guard(debug):
        with open_store(store) as rs:
            runs = rs.list()
        if len(runs) == 0:
            console.print("no saved runs (save one with `multifolio run CONFIG --save`)", highlight=False)
            return
        t = Table(title=f"Saved runs ({len(runs)})", title_justify="left")
        for col in (
            "id",
            "kind",
            "saved (UTC)",
            "label",
            "assets",
            "final equity",
            "return %",
            "max DD %",
            "config",
        ):
            t.add_column(
                col,
                justify="right"
                if col in ("id", "assets", "final equity", "return %", "max DD %")
                else "left",
            )
        for r in runs.itertuples(index=False):
            t.add_row(
                str(r.id),
                r.kind,
                r.created.strftime("%Y-%m-%d %H:%M"),
                escape(r.label),
                "-" if r.n_assets is None or r.n_assets != r.n_assets else str(int(r.n_assets)),
                _f(r.final_equity),
                _f(r.total_return_pct),
                _f(r.max_drawdown_pct),
                escape(str(r.config_path or "")),
            )
        console.print(t)


@runs_app.command("show")
def runs_show(
    run_id: int = typer.Argument(..., help="saved run id (see `runs ls`)"),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    all_assets: bool = typer.Option(False, "--all-assets", help="print every asset's row"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """Print a saved run's report (or a saved sweep's table), rebuilt from the stored frames."""
    with guard(debug):
        with open_store(store) as rs:
            saved = rs.load(run_id)
        console.print(
            f"saved run {saved.id} ({saved.kind}) {escape(saved.label)} saved "
            f"{saved.created:%Y-%m-%d %H:%M} UTC; config {escape(str(saved.config.get('path')))}",
            highlight=False,
        )
        if saved.kind == "sweep":
            from multifolio.cli.sweep_cmd import render_sweep
            from multifolio.sweep.sizing import answer_lines

            max_dd = float(saved.summary["max_dd_pct"])
            console.print(render_sweep(saved.frames["table"], saved.frames["answer"], max_dd))
            for line in answer_lines(saved.frames["answer"], max_dd):
                console.print(line, highlight=False)
            return
        from multifolio.report.terminal import render_report

        render_report(saved.view(), console=console, all_assets=all_assets)


@runs_app.command("compare")
def runs_compare(
    run_ids: list[int] = typer.Argument(..., help="two or more saved run ids"),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    html: Path | None = typer.Option(None, "--html", help="write metrics and overlaid equity curves to FILE"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """Metrics of saved runs side by side (and their equity curves overlaid in one HTML page)."""
    with guard(debug):
        if len(run_ids) < 2:
            raise BadInput("runs compare needs at least two run ids")
        with open_store(store) as rs:
            saved = [rs.load(i) for i in run_ids]
        views = [s.view() for s in saved]
        labels = [f"#{s.id} {s.label}".strip() for s in saved]
        from multifolio.report.extra_pages import metrics_rows
        from multifolio.report.terminal import METRIC_ROWS

        t = Table(title="Saved runs compared", title_justify="left")
        t.add_column("Metric")
        for lab in labels:
            t.add_column(escape(lab), justify="right")
        for row in metrics_rows(views, METRIC_ROWS):
            t.add_row(*[escape(c) for c in row])
        console.print(t)
        if html is not None:
            from multifolio.report.extra_pages import compare_html

            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(compare_html(views, labels), encoding="utf-8")
            err_console.print(f"comparison written to {html}", highlight=False)


def report(
    run_id: int = typer.Argument(..., help="saved run id (see `multifolio runs ls`)"),
    html: Path | None = typer.Option(None, "--html", help="write the HTML report to FILE"),
    md: Path | None = typer.Option(None, "--md", help="write the markdown summary to FILE"),
    json_path: Path | None = typer.Option(None, "--json", help="write the JSON report to FILE"),
    benchmark: str | None = typer.Option(
        None, "--benchmark", help="benchmark symbol (default: equal-weight buy-and-hold)"
    ),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """Write the reports of a saved run (or the heatmap page of a saved sweep) from the store."""
    with guard(debug):
        if html is None and md is None and json_path is None:
            raise BadInput("report: pass --html FILE, --md FILE and/or --json FILE")
        with open_store(store) as rs:
            saved = rs.load(run_id)
        title = f"multifolio run #{saved.id} {saved.label}".strip()
        written = []
        if saved.kind == "sweep":
            if md is not None or json_path is not None:
                raise BadInput(f"saved run {saved.id} is a sweep: only --html applies")
            from multifolio.report.extra_pages import sweep_html

            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(
                sweep_html(
                    saved.frames["table"],
                    saved.frames["answer"],
                    float(saved.summary["max_dd_pct"]),
                    title=title,
                ),
                encoding="utf-8",
            )
            written.append(f"HTML report written to {html}")
        else:
            view = saved.view()
            written += write_reports(
                view, html=html, md=md, json_path=json_path, title=title, benchmark=benchmark
            )
        for line in written:
            err_console.print(line, highlight=False)


def write_reports(
    result: Any,
    *,
    html: Path | None = None,
    md: Path | None = None,
    json_path: Path | None = None,
    title: str = "multifolio report",
    benchmark: str | None = None,
) -> list[str]:
    """Write the HTML / markdown / JSON reports asked for; returns one status line per file."""
    written = []
    if html is not None:
        from multifolio.report.html import write_html_report

        html.parent.mkdir(parents=True, exist_ok=True)
        write_html_report(result, html, title=title, benchmark=benchmark)
        written.append(f"HTML report written to {html}")
    if md is not None:
        from multifolio.report.extra_pages import markdown_summary

        md.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(markdown_summary(result, title=title), encoding="utf-8")
        written.append(f"markdown summary written to {md}")
    if json_path is not None:
        from multifolio.report.json_report import result_to_json

        json_path.parent.mkdir(parents=True, exist_ok=True)
        result_to_json(result, json_path)
        written.append(f"JSON report written to {json_path}")
    return written
