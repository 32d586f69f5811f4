"""Helpers for driving the `multifolio` CLI in-process."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from multifolio.cli.main import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture
def cli() -> Callable[..., object]:
    """``cli("run", "x.yaml", ...)`` -> click Result with separate ``stdout`` and ``stderr``."""
    runner = CliRunner()

    def invoke(*args: str):  # noqa: ANN202 - click's Result type
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=True)

    return invoke


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "run.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write
