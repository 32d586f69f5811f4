"""`multifolio data import|ls|synth|fetch`: fill and inspect the DuckDB candle store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from multifolio.cli.common import BadInput, console, err_console, guard, parse_list
from multifolio.data.store import default_store_path

data_app = typer.Typer(help="Import, list, generate and fetch candles in the DuckDB candle store.",
                       no_args_is_help=True)


StoreOption = typer.Option(None, "--store", "-s",
                           help="candle store file (default: $MULTIFOLIO_STORE or "
                                "~/.multifolio/candles.duckdb)")


@data_app.command("import")
def import_(
    paths: list[Path] = typer.Argument(..., help="CSV or Parquet files (long tables) or folders of them"),
    store: Path | None = StoreOption,
    exchange: str = typer.Option("local", "--exchange", help="exchange name to file the candles under"),
    timeframe: str | None = typer.Option(None, "--timeframe", help="bar size (default: inferred)"),
    last: bool = typer.Option(False, "--keep-last", help="keep the last of duplicate timestamps"),
    date_format: str | None = typer.Option(
        None, "--date-format", help="dayfirst, monthfirst or a strftime format such as '%d.%m.%Y %H:%M' "
        "(default: one format inferred per file, ambiguous dates refused)"),
    epoch_unit: str | None = typer.Option(
        None, "--epoch-unit", help="s, ms, us or ns for integer timestamps (default: from magnitude)"),
    layout: str = typer.Option("auto", "--layout", help="auto, long (timestamp, symbol, OHLCV) or wide "
                                                       "(one close column per symbol)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary line"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """Import CSV/Parquet candles (one transaction per file: a bad file changes nothing)."""
    with guard(debug):
        from multifolio.data.store import CandleStore

        on_dup = "last" if last else "error"
        for p in paths:
            if not p.exists():
                raise FileNotFoundError(2, "not found", str(p))
        total = 0
        path = store or default_store_path()
        with CandleStore(path) as st:
            for p in paths:
                parquet = p.suffix.lower() in (".parquet", ".pq") or (
                    p.is_dir() and any(p.glob("*.parquet")) and not any(p.glob("*.csv")))
                read = st.import_parquet if parquet else st.import_csv
                n = read(p, exchange=exchange, timeframe=timeframe, on_duplicate=on_dup, layout=layout,
                         date_format=date_format, epoch_unit=epoch_unit)
                total += n
                if not quiet:
                    dropped = st.dropped
                    note = f" ({dropped:,} bars without a close not stored)" if dropped else ""
                    err_console.print(f"{p}: {n:,} candles{note}", highlight=False)
        if not quiet:
            console.print(f"imported {total:,} candles into {path}", highlight=False)


@data_app.command("ls")
def ls(
    store: Path | None = StoreOption,
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """List the stored symbols with their exchange, timeframe, first and last candle and bar count."""
    with guard(debug):
        from multifolio.data.store import CandleStore

        path = store or default_store_path()
        if not path.is_file():
            raise FileNotFoundError(2, "no candle store", str(path))
        with CandleStore(path, read_only=True) as st:
            ranges = st.ranges()
        n_candles = int(ranges["n_bars"].sum()) if len(ranges) else 0
        table = Table(title=f"{path}: {len(ranges)} series, {n_candles:,} candles", title_justify="left")
        for col, justify in (("exchange", "left"), ("symbol", "left"), ("timeframe", "left"),
                             ("first", "left"), ("last", "left"), ("bars", "right")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for row in ranges.itertuples(index=False):
            table.add_row(str(row.exchange), str(row.symbol), str(row.timeframe),
                          f"{row.start:%Y-%m-%d %H:%M}", f"{row.end:%Y-%m-%d %H:%M}", f"{row.n_bars:,}")
        console.print(table)


@data_app.command("synth")
def synth(
    store: Path | None = StoreOption,
    assets: int = typer.Option(10, "--assets", min=1, help="number of assets"),
    bars: int = typer.Option(24 * 365, "--bars", min=1, help="bars per asset"),
    freq: str = typer.Option("1h", "--freq", help="bar spacing, e.g. 1h or 1d"),
    seed: int = typer.Option(0, "--seed", help="random seed (same seed, same candles)"),
    start: str = typer.Option("2023-01-01", "--start", help="first timestamp (UTC)"),
    exchange: str = typer.Option("synthetic", "--exchange", help="exchange name to file the candles under"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary line"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """Write synthetic candles (common market factor, fat tails, crash episodes) to the store."""
    with guard(debug):
        from multifolio.data.store import CandleStore
        from multifolio.data.synthetic import synthetic

        md = synthetic(n_assets=assets, n_bars=bars, freq=freq, seed=seed, start=start)
        path = store or default_store_path()
        with CandleStore(path) as st:
            n = st.write(md, exchange=exchange, timeframe=freq)
        if not quiet:
            console.print(f"wrote {n:,} synthetic {freq} candles ({assets} assets x {bars} bars, "
                          f"seed {seed}) to {path}", highlight=False)


@data_app.command("fetch")
def fetch(
    exchange: str = typer.Option(..., "--exchange", help="ccxt exchange id, e.g. binance"),
    symbols: str = typer.Option(..., "--symbols", help="pairs, comma-separated, e.g. BTC/USDT,ETH/USDT"),
    timeframe: str = typer.Option("1h", "--timeframe", help="candle timeframe"),
    since: str | None = typer.Option(None, "--since", help="first candle to fetch; symbols already in the "
                                                           "store resume after their newest candle"),
    until: str | None = typer.Option(None, "--until", help="last candle to fetch (default: now)"),
    store: Path | None = StoreOption,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback on errors"),
) -> None:
    """Fetch candles from an exchange through ccxt (extra `\\[exchange]`); paginated, resumable."""
    with guard(debug):
        from multifolio.data import exchange as exchange_mod
        from multifolio.data.store import CandleStore

        pairs = parse_list(symbols, option="--symbols") or []
        client = exchange_mod.make_exchange(exchange)
        path = store or default_store_path()
        with CandleStore(path) as st:
            if since is None:
                # Without --since every symbol must already be in the store: fetching resumes after its
                # newest candle (the fetcher never goes back before that).
                fresh = [p for p in pairs if st.latest(p, timeframe, exchange) is None]
                if fresh:
                    raise BadInput(f"--since is needed for symbols not yet in {path}: {', '.join(fresh)}")
                since_value: object = 0
            else:
                since_value = since
            written = exchange_mod.fetch_ohlcv_to_store(client, st, pairs, timeframe, since_value, until,
                                                        exchange_name=exchange)
        if not quiet:
            table = Table(title=f"{exchange} {timeframe} -> {path}", title_justify="left")
            table.add_column("symbol")
            table.add_column("candles written", justify="right")
            for sym, n in written.items():
                table.add_row(sym, f"{n:,}")
            console.print(table)
