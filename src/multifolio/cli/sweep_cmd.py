"""`multifolio sweep CONFIG`: how many assets can each capital carry?

Runs the configuration for every (capital, number of assets) pair -- the first n assets in config order,
one shared pool each -- in parallel, prints one row per pair and, per capital, the most assets that stay
within ``--max-dd`` with no liquidation and no minimum-notional rejection.
"""

from __future__ import annotations

import json as jsonlib
import math
from pathlib import Path
from typing import Any

import pandas as pd
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


def _number_list(value: str, option: str, integer: bool) -> list[Any]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise BadInput(f"{option}: empty list")
    out: list[Any] = []
    for item in items:
        try:
            x = float(item)
        except ValueError:
            raise BadInput(f"{option}: {item!r} is not a number") from None
        if not math.isfinite(x) or x <= 0:
            raise BadInput(f"{option}: values must be > 0, got {item!r}")
        if integer and x != int(x):
            raise BadInput(f"{option}: {item!r} is not a whole number of assets")
        out.append(int(x) if integer else x)
    return out


def sweep_payload(table: pd.DataFrame, answer: pd.DataFrame, max_dd: float) -> dict[str, Any]:
    """The JSON document of a sizing sweep: the table rows and the per-capital answer."""
    def clean(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for rec in records:
            row = {}
            for k, v in rec.items():
                if hasattr(v, "item"):
                    v = v.item()
                row[k] = None if isinstance(v, float) and not math.isfinite(v) else v
            out.append(row)
        return out

    return {"max_dd_pct": float(max_dd), "runs": clean(table.to_dict(orient="records")),
            "max_assets": clean(answer.to_dict(orient="records"))}


def render_sweep(table: pd.DataFrame, answer: pd.DataFrame, max_dd: float) -> Table:
    """A Rich table of the sweep; rows that fail the sizing rule are dimmed."""
    t = Table(title=f"Sizing sweep (max drawdown {max_dd:g}%, no liquidation, no min-notional rejection)")
    for name, justify in (("capital", "right"), ("assets", "right"), ("max DD %", "right"),
                          ("return %", "right"), ("peak margin %", "right"), ("kill switch", "right"),
                          ("rej. margin", "right"), ("rej. min notional", "right"),
                          ("liquidations", "right"), ("ok", "center")):
        t.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in table.itertuples(index=False):
        ok = bool(row.ok)
        t.add_row(f"{row.capital:,.0f}", str(row.n_assets), f"{row.max_drawdown_pct:.1f}",
                  f"{row.total_return_pct:+.1f}", f"{row.peak_margin_ratio * 100:.1f}",
                  str(row.kill_switch_triggers), str(row.rejected_margin), str(row.rejected_min_notional),
                  str(row.liquidations), "yes" if ok else "no", style=None if ok else "dim")
    return t


def sweep(
    config: Path = typer.Argument(..., help="YAML run configuration", show_default=False),
    capital: str = typer.Option("1000,5000,10000", "--capital", help="capitals to test, comma-separated"),
    n_assets: str = typer.Option("3,5,10,15,21", "--n-assets",
                                 help="asset counts to test (the first n in config order)"),
    max_dd: float = typer.Option(30.0, "--max-dd", help="largest acceptable portfolio drawdown, %"),
    workers: int | None = typer.Option(None, "--workers", help="parallel runs (default: one per core)"),
    backend: str = typer.Option("processes", "--backend", help="processes | dask"),
    scheduler: str | None = typer.Option(None, "--scheduler",
                                         help="address of a running Dask scheduler (tcp://host:8786); "
                                              "implies --backend dask (default: a local cluster)"),
    json: bool = typer.Option(False, "--json", help="print the sweep as JSON instead of tables"),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="write the sweep to FILE (.csv: the table; else JSON)"),
    html: Path | None = typer.Option(None, "--html", help="write the sweep heatmap page to FILE"),
    save: bool = typer.Option(False, "--save", help="save the sweep to the run store"),
    label: str = typer.Option("", "--label", help="label of the saved sweep"),
    runs_store: Path | None = typer.Option(None, "--runs-store",
                                           help="DuckDB file for --save (default: the candle store)"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """Capital sizing sweep: every capital x asset-count pair on one shared pool, run in parallel."""
    with guard(debug, CONFIG_SPELLING):
        from multifolio.cli.config import load_config, sweep_config
        from multifolio.sweep.sizing import answer_lines, max_assets_per_capital

        caps = _number_list(capital, "--capital", integer=False)
        counts = _number_list(n_assets, "--n-assets", integer=True)
        if not (math.isfinite(max_dd) and 0 < max_dd <= 100):
            raise BadInput(f"--max-dd must be in (0, 100] %, got {max_dd}")
        if workers is not None and workers < 1:
            raise BadInput(f"--workers must be >= 1, got {workers}")
        if backend not in ("processes", "dask"):
            raise BadInput(f"--backend must be processes or dask, got {backend!r}")
        if scheduler is not None:
            backend = "dask"
        cfg = load_config(config)  # errors (with line numbers) before any worker starts
        n_cfg = len(cfg.data.symbols) if cfg.data.symbols else None
        if n_cfg is not None and max(counts) > n_cfg:
            raise BadInput(f"--n-assets {max(counts)} exceeds the {n_cfg} symbols of {config}")
        if not json:
            err_console.print(f"sweep: {len(caps) * len(counts)} runs, backend {backend}", highlight=False)
        with ProgressBar(progress_enabled(False) and not json, "sweep", unit="runs", delay=0.0) as progress:
            table = sweep_config(cfg, caps, counts, max_dd=max_dd, workers=workers, backend=backend,
                                 progress=progress, address=scheduler)
        answer = max_assets_per_capital(table, max_dd)
        payload = sweep_payload(table, answer, max_dd)
        if json:
            console.out(jsonlib.dumps(payload, indent=2), highlight=False)
        else:
            console.print(render_sweep(table, answer, max_dd))
            for line in answer_lines(answer, max_dd):
                console.print(line, highlight=False)
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            if output.suffix.lower() == ".csv":
                table.to_csv(output, index=False)
            else:
                output.write_text(jsonlib.dumps(payload, indent=2), encoding="utf-8")
            if not json:
                err_console.print(f"sweep written to {output}", highlight=False)
        if html is not None:
            from multifolio.report.extra_pages import sweep_html

            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(sweep_html(table, answer, max_dd), encoding="utf-8")
            if not json:
                err_console.print(f"sweep heatmap written to {html}", highlight=False)
        if save:
            from multifolio.cli.runs_cmd import config_record
            from multifolio.cli.runs_cmd import save_sweep as store_sweep

            rid = store_sweep(table, answer, max_dd, config_record(config, capital=capital, n_assets=n_assets,
                                                                   max_dd=max_dd), runs_store, label)
            if not json:
                err_console.print(f"saved as run {rid} (multifolio runs show {rid})", highlight=False)
