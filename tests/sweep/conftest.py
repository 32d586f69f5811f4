"""The CLI fixtures of tests/cli/conftest.py, for the optimize command's tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from multifolio.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def cli() -> Callable[..., object]:
    """``cli("optimize", "x.yaml", ...)`` -> click Result with separate ``stdout`` and ``stderr``."""
    runner = CliRunner()

    def invoke(*args: object):  # noqa: ANN202 - click's Result type
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=True)

    return invoke


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "run.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write
