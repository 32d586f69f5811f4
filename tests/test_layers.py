"""The layers of docs/architecture.md, checked by import-linter: imports point down only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run([LINT, "--config", str(tree / "pyproject.toml")], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_layers_contract_is_kept() -> None:
    out = lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 kept, 0 broken" in out.stdout


@pytest.mark.parametrize(("module", "upward"), [
    ("data/timeframes.py", "multifolio.report.terminal"),      # the bottom reaching for the top
    ("engine/state.py", "multifolio.portfolio.risk"),           # the engine knowing about rules
])
def test_a_deliberate_upward_import_fails_the_check(tmp_path: Path, module: str, upward: str) -> None:
    tree = tmp_path / "repo"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    target = tree / "src" / "multifolio" / module
    target.write_text(target.read_text() + f"\nimport {upward}  # noqa: E402,F401 - the violation\n")
    out = lint(tree)
    assert out.returncode != 0
    importer = "multifolio." + module.removesuffix(".py").replace("/", ".")
    assert "0 kept, 1 broken" in out.stdout
    assert f"{importer} -> {upward}" in out.stdout, out.stdout
