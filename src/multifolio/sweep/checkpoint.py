"""A DuckDB file of finished evaluations, so that an interrupted optimisation resumes where it stopped.

Each evaluation is stored under a key that hashes everything it depends on (the run spec, what was
kept of it, and a fingerprint of the market data), the moment it finishes; a resumed optimisation looks
its evaluations up by key and runs only the missing ones.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "opt.duckdb")
>>> with Checkpoint(path) as cp:
...     cp.put("k1", {"x": 1.5})
...     len(cp), cp.get_many(["k1", "k2"])
(1, {'k1': {'x': 1.5}})
>>> with Checkpoint(path, resume=False) as cp:   # not resuming: start over
...     len(cp)
0
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from multifolio.data.market_data import MarketData

__all__ = ["Checkpoint", "data_fingerprint", "evaluation_key"]


def data_fingerprint(data: MarketData) -> str:
    """A short hash of the data's symbols, timestamps and closes (a resume on other data misses)."""
    h = hashlib.sha256()
    h.update("\x1f".join(data.symbols).encode())
    h.update(np.asarray(data.index.asi8).tobytes())
    h.update(np.ascontiguousarray(data.close).tobytes())
    return h.hexdigest()[:16]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def evaluation_key(*parts: Any) -> str:
    """A stable hash of the given values (dataclasses and mappings by content, key order ignored)."""
    text = json.dumps(_plain(list(parts)), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


class Checkpoint:
    """Finished evaluations in a DuckDB file: ``put(key, payload)`` (JSON-able dict), ``get_many``.

    ``resume=True`` keeps what the file holds; ``resume=False`` empties it first. Every ``put`` is
    committed at once, so a process killed mid-optimisation loses at most the evaluations running.
    """

    def __init__(self, path: str | Path, resume: bool = True) -> None:
        import duckdb

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(self.path))
        if not resume:
            self._con.execute("DROP TABLE IF EXISTS evaluations")
        self._con.execute("CREATE TABLE IF NOT EXISTS evaluations (key VARCHAR PRIMARY KEY, payload VARCHAR)")

    def put(self, key: str, payload: dict[str, Any]) -> None:
        """Store one finished evaluation (replacing an older one under the same key)."""
        self._con.execute("INSERT OR REPLACE INTO evaluations VALUES (?, ?)", [key, json.dumps(payload)])

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored payloads of those ``keys`` that the file holds."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        rows = self._con.execute("SELECT key, payload FROM evaluations WHERE list_contains(?, key)",
                                 [wanted]).fetchall()
        return {k: json.loads(p) for k, p in rows}

    def __len__(self) -> int:
        return int(self._con.execute("SELECT count(*) FROM evaluations").fetchone()[0])

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._con is not None:
            self._con.close()
            self._con = None  # type: ignore[assignment]

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
