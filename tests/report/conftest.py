"""The report tests reuse the hand-built Result objects of tests/analytics (``mf_results``)."""

from __future__ import annotations

import sys
from pathlib import Path

_ANALYTICS = str(Path(__file__).resolve().parent.parent / "analytics")
if _ANALYTICS not in sys.path:
    sys.path.insert(0, _ANALYTICS)
