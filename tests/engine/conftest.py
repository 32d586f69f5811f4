"""Make the plain helper modules of this folder (``reference_ledger``, ``mf_testdata``) importable.

The folder is a package (so its test file names cannot clash with other test folders), and the
helpers are imported by their own unique names from this folder and from ``tests/validation``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
