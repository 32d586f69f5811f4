"""`multifolio optimize CONFIG`: walk-forward optimisation, per asset and on the shared pool.

Every parameter combination runs on each train span; the best by the objective is chosen, per asset
(each alone on capital / N) and for the pool (one shared set chosen on the pool's objective); the pool
then runs each test span with the choices. The report puts both modes' stitched out-of-sample equity
side by side with the deflated Sharpe ratio and PBO. Options override the config's ``optimize:``
section. Evaluations are checkpointed in a DuckDB file as they finish; ``--resume`` picks up there.
"""

from __future__ import annotations

import time
from pathlib import Path

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


def optimize(
    config: Path = typer.Argument(..., help="YAML run configuration", show_default=False),
    param: list[str] = typer.Option([], "--param", "-p",
                                    help="NAME=v1,v2,... or NAME=start:stop:step (repeatable; adds to or "
                                         "replaces the config's optimize.params)"),
    train: str | None = typer.Option(None, "--train", help="train span, e.g. 90d (default 90d)"),
    test: str | None = typer.Option(None, "--test", help="test span, e.g. 30d (default 30d)"),
    anchored: bool | None = typer.Option(None, "--anchored/--rolling",
                                         help="anchored windows train from the period's start"),
    objective: str | None = typer.Option(None, "--objective",
                                         help="metric to maximise (sharpe, calmar, total_return_pct, ...); "
                                              "-max_drawdown_pct minimises"),
    constraint: list[str] = typer.Option([], "--constraint",
                                         help="e.g. max_drawdown_pct<=30 (repeatable)"),
    mode: str | None = typer.Option(None, "--mode", help="per-asset | portfolio | both (default both)"),
    assets: str | None = typer.Option(None, "--assets", help="the first n symbols, or A,B,..."),
    workers: int | None = typer.Option(None, "--workers", help="parallel evaluations (default: 1/core)"),
    backend: str = typer.Option("processes", "--backend", help="processes | dask"),
    scheduler: str | None = typer.Option(None, "--scheduler",
                                         help="address of a running Dask scheduler (tcp://host:8786); "
                                              "implies --backend dask"),
    checkpoint: Path | None = typer.Option(None, "--checkpoint",
                                           help="DuckDB file of finished evaluations "
                                                "(default: CONFIG-NAME.optimize.duckdb here)"),
    no_checkpoint: bool = typer.Option(False, "--no-checkpoint", help="keep no checkpoint file"),
    resume: bool = typer.Option(False, "--resume", help="reuse the checkpoint's finished evaluations"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON instead of tables"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write the JSON result to FILE"),
    html: Path | None = typer.Option(None, "--html", help="write the HTML report to FILE"),
    write_params: Path | None = typer.Option(None, "--write-params",
                                             help="write the final per_asset: YAML block to FILE"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """Walk-forward optimisation per asset and on the shared pool, with overfitting statistics."""
    with guard(debug, CONFIG_SPELLING):
        from multifolio.api import run_spec
        from multifolio.cli.config import load_config, load_data, to_spec
        from multifolio.cli.config.optimize import OptimizeConfig
        from multifolio.data.window import pick_symbols
        from multifolio.report.optimize_report import optimize_json, render_optimize, write_optimize_html
        from multifolio.sweep.grid import parse_param
        from multifolio.sweep.optimize import walk_forward

        if workers is not None and workers < 1:
            raise BadInput(f"--workers must be >= 1, got {workers}")
        if backend not in ("processes", "dask"):
            raise BadInput(f"--backend must be processes or dask, got {backend!r}")
        if scheduler is not None:
            backend = "dask"
        if resume and no_checkpoint:
            raise BadInput("--resume needs a checkpoint; drop --no-checkpoint")
        cfg = load_config(config)
        oc = cfg.optimize or OptimizeConfig()
        grid = oc.grid()
        for text in param:
            name, values = parse_param(text)
            grid[name] = values
        if not grid:
            raise BadInput("nothing to optimise: give --param NAME=v1,v2 or an optimize.params section")
        md = load_data(cfg, None if assets is not None else cfg.data.symbols)
        spec = to_spec(cfg)
        symbols = pick_symbols(list(md.symbols), list(spec.symbols) if spec.symbols else None,
                               parse_assets(assets))
        spec = spec.replace(symbols=tuple(symbols))
        store = None if no_checkpoint else (checkpoint or Path(f"{config.stem}.optimize.duckdb"))
        if resume and not Path(store).exists():  # type: ignore[arg-type]
            raise BadInput(f"--resume: no checkpoint file {store}")
        t0 = time.perf_counter()
        with ProgressBar(progress_enabled(quiet) and not json_out, "optimize", unit="evaluations",
                         delay=0.0) as progress:
            wf = walk_forward(run_spec, spec, md, grid, train=train or oc.train, test=test or oc.test,
                              anchored=oc.anchored if anchored is None else anchored,
                              objective=objective or oc.objective,
                              constraints=list(constraint) or list(oc.constraints), mode=mode or oc.mode,
                              n_blocks=oc.n_blocks, workers=workers, backend=backend, progress=progress,
                              checkpoint=store, resume=resume, address=scheduler)
        elapsed = time.perf_counter() - t0
        written = []
        if write_params is not None:
            write_params.parent.mkdir(parents=True, exist_ok=True)
            write_params.write_text(wf.per_asset_yaml(), encoding="utf-8")
            written.append(f"per_asset block written to {write_params}")
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            optimize_json(wf, output)
            written.append(f"JSON written to {output}")
        if html is not None:
            write_optimize_html(wf, html)
            written.append(f"HTML report written to {html}")
        if json_out:
            console.out(optimize_json(wf), highlight=False)
        else:
            render_optimize(wf, console=console)
            console.print(wf.per_asset_yaml(), highlight=False, markup=False)
        if not quiet:
            ev = wf.evaluations
            rate = ev["run"] / elapsed if elapsed > 0 else 0.0
            err_console.print(f"{ev['run']} evaluations run, {ev['cached']} from the checkpoint, "
                              f"{elapsed:.1f} s ({rate:.1f} evaluations/s)"
                              + (f"; checkpoint {store}" if store is not None else ""), highlight=False)
            for line in written:
                err_console.print(line, highlight=False)
