"""HTML report of 21 assets x 2 years hourly: page size, Python build time and browser render time.

Render time is the wall time of headless Chromium (offline) loading the page until its DOM is dumped with
every figure drawn, minus the same for an empty page (browser start-up). Target (issue 18): < 3 s, < 6 MB.

    PYTHONPATH=src python -m bench.report_render
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def _load(path: Path, profile: Path) -> float:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
           "--disable-background-networking", "--disable-component-update", f"--user-data-dir={profile}",
           "--proxy-server=http://127.0.0.1:9", "--dump-dom", path.as_uri()]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-1000:])
    return elapsed if "main-svg" in out.stdout or path.stat().st_size < 1000 else float("nan")


def main(repeats: int = 3) -> None:
    import multifolio as mf
    from multifolio.data import samples
    from multifolio.report.html import render_html
    from multifolio.strategies.registry import STRATEGIES

    data = samples.crypto_hourly()
    result = mf.backtest(data, STRATEGIES["equal_weight"](schedule="daily"), cash=10_000.0, fees=0.001)
    t0 = time.perf_counter()
    page = render_html(result)
    build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        report, blank = d / "report.html", d / "blank.html"
        report.write_text(page, encoding="utf-8")
        blank.write_text("<html><body></body></html>", encoding="utf-8")
        base = statistics.median(_load(blank, d / f"pb{i}") for i in range(repeats))
        full = statistics.median(_load(report, d / f"pr{i}") for i in range(repeats))
    print(f"21 assets x {len(result.equity):,} hourly bars: page {len(page.encode()) / 1e6:.2f} MB, "
          f"built in {build:.2f} s; browser: {full:.2f} s load+render, {base:.2f} s empty page, "
          f"render {full - base:.2f} s (target < 3 s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
