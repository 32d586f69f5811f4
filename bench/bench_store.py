"""Candle store benchmark: import N candles (default 10 million), read 21 symbols x 1 year hourly.

    python bench/bench_store.py [--rows N] [--symbols S] [--path FILE]

Prints the seconds for the import (validation + upsert in one transaction) and for the read into
MarketData, next to the target (read < 0.5 s). The data come from the synthetic generator (hourly bars,
``rows / symbols`` bars per symbol). The store lives in a temporary directory unless --path is given.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from multifolio.data import CandleStore, synthetic

READ_TARGET_S = 0.5
READ_SYMBOLS = 21


def run(rows: int, n_symbols: int, path: Path, reuse: bool = False) -> dict[str, float]:
    n_bars = max(rows // n_symbols, 24 * 366)
    if reuse and path.exists():
        print(f"reusing {path} (no import)")
        return {**read(path, n_symbols), "generate_s": float("nan"), "import_s": float("nan")}
    t = time.perf_counter()
    md = synthetic(n_symbols, n_bars, freq="1h", seed=42, start="2015-01-01")
    gen_s = time.perf_counter() - t
    print(f"generated {n_symbols} symbols x {n_bars} hourly bars = {n_symbols * n_bars:,} candles "
          f"in {gen_s:.1f} s")

    with CandleStore(path) as store:
        t = time.perf_counter()
        written = store.write(md, exchange="bench", timeframe="1h")
        import_s = time.perf_counter() - t
        size_mb = path.stat().st_size / 1e6
        print(f"import: {written:,} candles in {import_s:.2f} s "
              f"({written / import_s / 1e6:.2f} M candles/s), file {size_mb:.0f} MB")
        del md
    return {**read(path, n_symbols), "generate_s": gen_s, "import_s": import_s, "rows": float(written)}


def read(path: Path, n_symbols: int) -> dict[str, float]:
    symbols = [f"S{i:03d}" for i in range(0, n_symbols, max(1, n_symbols // READ_SYMBOLS))][:READ_SYMBOLS]
    start = pd.Timestamp("2016-01-01", tz="UTC")
    end = start + pd.Timedelta(days=365) - pd.Timedelta(hours=1)
    # Reopen so the first read is not served from the import's warm connection.
    with CandleStore(path, read_only=True) as store:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            out = store.read(symbols, "1h", start=start, end=end, exchange="bench")
            times.append(time.perf_counter() - t)
    assert out.close.shape == (8760, READ_SYMBOLS) and np.isfinite(out.close).all()
    # "first" includes DuckDB loading the column blocks from the file; later reads find them cached.
    first, best = times[0], min(times)
    verdict = "OK" if first < READ_TARGET_S else "MISSED"
    print(f"read: {READ_SYMBOLS} symbols x 1 year hourly ({out.n_bars} x {out.n_assets}) "
          f"first {first:.3f} s, best of 5 {best:.3f} s; target < {READ_TARGET_S} s: {verdict}")
    return {"read_first_s": first, "read_best_s": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="candles to import (default 10M)")
    parser.add_argument("--symbols", type=int, default=200, help="symbols the candles are spread over")
    parser.add_argument("--path", type=Path, default=None, help="store file (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="with --path: read an existing store only")
    args = parser.parse_args()
    if args.symbols < READ_SYMBOLS:
        parser.error(f"--symbols must be at least {READ_SYMBOLS}")
    if args.path is not None:
        run(args.rows, args.symbols, args.path, reuse=args.reuse)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(args.rows, args.symbols, Path(tmp) / "bench.duckdb")


if __name__ == "__main__":
    main()
