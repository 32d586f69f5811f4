"""Saved runs: a run's (or a sweep's) config, metrics and frames in the DuckDB file of the candle store.

Tables (their own, beside ``candles``)::

    mf_runs(id INTEGER PRIMARY KEY, kind VARCHAR, created TIMESTAMPTZ, label VARCHAR,
            config VARCHAR (JSON), summary VARCHAR (JSON: metrics of a run, answer of a sweep))
    mf_run_frames(run_id INTEGER, name VARCHAR, data BLOB (Parquet), PRIMARY KEY (run_id, name))

A run's frames are its equity, snapshots, positions, fills, trades, orders, events and closes, plus its
``RunInfo``; a sweep's are its table and answer. Saving is atomic: the rows of one run are written in one
transaction, and a process killed before the commit leaves no trace of it (DuckDB discards an
uncommitted transaction when it reopens the file).

Reading never patches a Result: :meth:`RunStore.load` returns a :class:`SavedRun`, and
:meth:`SavedRun.view` a :class:`StoredRun` -- a read-only, Result-like view (the same attributes, with
metrics and the per-asset table computed from the stored frames) that the reports take as they are.

>>> import pandas as pd
>>> from multifolio.engine.run_info import AccountSpec, RunInfo
>>> store = RunStore(":memory:")
>>> t = pd.DataFrame({"capital": [1000.0], "n_assets": [3], "max_drawdown_pct": [12.0], "ok": [True]})
>>> a = pd.DataFrame({"capital": [1000.0], "max_assets": [3], "max_drawdown_pct": [12.0]})
>>> rid = store.save_sweep(t, a, max_dd=30.0, config={"path": "grid.yaml"}, label="first")
>>> store.list()[["id", "kind", "label"]].values.tolist()
[[1, 'sweep', 'first']]
>>> store.load(rid).frames["answer"]["max_assets"].tolist()
[3]
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from multifolio.data.store import default_store_path
from multifolio.engine.run_info import AccountSpec, RuleInfo, RunInfo, StrategyInfo
from multifolio.report.json_report import to_jsonable

__all__ = ["RunStore", "SavedRun", "StoredRun", "RUN_FRAMES", "SavedRunError"]

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS mf_runs (
        id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, created TIMESTAMPTZ NOT NULL, label VARCHAR,
        config VARCHAR, summary VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS mf_run_frames (
        run_id INTEGER NOT NULL, name VARCHAR NOT NULL, data BLOB NOT NULL, PRIMARY KEY (run_id, name))""",
]

#: The frames saved for a run (a Result's attributes); ``close`` only when the run carries its prices.
RUN_FRAMES = ("equity", "snapshots", "positions", "fills", "trades", "orders", "events", "close")
KINDS = ("run", "sweep", "compare")


class SavedRunError(ValueError):
    """No such saved run, or a store without saved runs."""


def _to_parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=True)
    return buf.getvalue()


def _from_parquet(data: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(bytes(data)))


def _events_frame(events: pd.DataFrame) -> pd.DataFrame:
    out = events.copy()
    if "details" in out.columns:
        out["details"] = [json.dumps(to_jsonable(d)) for d in out["details"]]
    if "symbol" in out.columns:
        out["symbol"] = out["symbol"].astype(object).where(out["symbol"].notna(), None)
    return out


def _events_back(frame: pd.DataFrame) -> pd.DataFrame:
    if "details" in frame.columns:
        frame = frame.assign(details=[json.loads(d) if isinstance(d, str) else {} for d in frame["details"]])
    return frame


def run_info_from_dict(d: Mapping[str, Any]) -> RunInfo:
    """Rebuild a :class:`RunInfo` from its ``to_dict()`` (as saved)."""
    acct = AccountSpec(**d.get("account", {}))
    s = d.get("strategy")
    strategy = (
        None
        if s is None
        else StrategyInfo(
            name=s["name"],
            params=dict(s.get("params") or {}),
            min_capital_per_asset=None
            if s.get("min_capital_per_asset") is None
            else tuple(float(x) for x in s["min_capital_per_asset"]),
        )
    )
    rules = tuple(RuleInfo(r["name"], dict(r.get("params") or {})) for r in d.get("rules") or ())
    return RunInfo(
        engine=d.get("engine", "backtest"),
        account=acct,
        symbols=tuple(d.get("symbols") or ()),
        start=d.get("start"),
        strategy=strategy,
        rules=rules,
        crash_pct=d.get("crash_pct"),
        crash_window_hours=d.get("crash_window_hours"),
    )


@dataclass(eq=False)
class StoredRun:
    """A saved run as the reports read it: a Result's attributes rebuilt from the stored frames.

    Read-only by convention, built once from the store; ``metrics`` and ``per_asset`` are computed from
    the frames on first use (the same analytics a Result uses).
    """

    equity: pd.Series
    snapshots: pd.DataFrame
    positions: pd.DataFrame
    fills: pd.DataFrame
    trades: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame
    initial_capital: float
    symbols: list[str]
    info: RunInfo
    freq: pd.Timedelta | None = None
    close: pd.DataFrame | None = None
    run_id: int | None = None
    label: str = ""

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """Portfolio metrics computed from the stored frames."""
        from multifolio.analytics.metrics import compute_metrics

        return compute_metrics(self)

    @cached_property
    def per_asset(self) -> pd.DataFrame:
        """The per-asset table computed from the stored frames."""
        from multifolio.analytics.per_asset import per_asset_table

        return per_asset_table(self)


@dataclass
class SavedRun:
    """One row of ``mf_runs`` and its frames."""

    id: int
    kind: str
    created: pd.Timestamp
    label: str
    config: dict[str, Any]
    summary: dict[str, Any]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def view(self) -> StoredRun:
        """The Result-like view of a saved run (``kind`` "run")."""
        if self.kind != "run":
            raise SavedRunError(f"saved run {self.id} is a {self.kind}, not a single run")
        f = self.frames
        meta = self.summary.get("_meta", {})
        equity = f["equity"].iloc[:, 0].astype(float)
        equity.name = "total_equity"
        return StoredRun(
            equity=equity,
            snapshots=f["snapshots"],
            positions=f["positions"],
            fills=f["fills"],
            trades=f["trades"],
            orders=f["orders"],
            events=_events_back(f["events"]),
            initial_capital=float(meta["initial_capital"]),
            symbols=list(meta["symbols"]),
            info=run_info_from_dict(self.config.get("run_info", {})),
            freq=pd.Timedelta(meta["freq"]) if meta.get("freq") else None,
            close=f.get("close"),
            run_id=self.id,
            label=self.label,
        )


class RunStore:
    """Saved runs in a DuckDB file (default: the candle store, ``$MULTIFOLIO_STORE`` or
    ``~/.multifolio/candles.duckdb``); use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path | None = None, read_only: bool = False) -> None:
        import duckdb

        self.path = str(default_store_path() if path is None else path)
        if self.path != ":memory:":
            if read_only and not Path(self.path).exists():
                raise SavedRunError(f"no saved runs: {self.path} does not exist")
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise SavedRunError(f"cannot open the run store {self.path}: {exc}") from exc
        self._con.execute("SET TimeZone = 'UTC'")
        self.read_only = read_only
        if not read_only:
            for stmt in _SCHEMA:
                self._con.execute(stmt)

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _has_tables(self) -> bool:
        n = self._con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'mf_runs'"
        ).fetchone()[0]
        return bool(n)

    # -- writing -----------------------------------------------------------------------------------------
    def _save(
        self,
        kind: str,
        label: str,
        config: Mapping[str, Any] | None,
        summary: Mapping[str, Any],
        frames: Mapping[str, pd.DataFrame],
    ) -> int:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        blobs = {name: _to_parquet(frame) for name, frame in frames.items()}  # before the transaction
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            run_id = int(con.execute("SELECT coalesce(max(id), 0) + 1 FROM mf_runs").fetchone()[0])
            for name, blob in blobs.items():
                self._write_frame(run_id, name, blob)
            con.execute(
                "INSERT INTO mf_runs VALUES (?, ?, now(), ?, ?, ?)",
                [
                    run_id,
                    kind,
                    label,
                    json.dumps(to_jsonable(dict(config or {}))),
                    json.dumps(to_jsonable(dict(summary))),
                ],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return run_id

    def _write_frame(self, run_id: int, name: str, blob: bytes) -> None:
        self._con.execute("INSERT INTO mf_run_frames VALUES (?, ?, ?)", [run_id, name, blob])

    def save_result(
        self, result: Any, *, config: Mapping[str, Any] | None = None, label: str = "", kind: str = "run"
    ) -> int:
        """Save a Result (config, metrics, frames); returns the new run id."""
        frames: dict[str, pd.DataFrame] = {"equity": result.equity.rename("total_equity").to_frame()}
        for name in RUN_FRAMES[1:]:
            frame = getattr(result, name, None)
            if frame is None:
                continue
            frames[name] = _events_frame(frame) if name == "events" else frame
        cfg = dict(config or {})
        cfg["run_info"] = result.info.to_dict()
        metrics = dict(getattr(result, "metrics", {}) or {})
        metrics["_meta"] = {
            "initial_capital": float(result.initial_capital),
            "symbols": list(result.symbols),
            "freq": None if getattr(result, "freq", None) is None else pd.Timedelta(result.freq).isoformat(),
        }
        return self._save(kind, label, cfg, metrics, frames)

    def save_sweep(
        self,
        table: pd.DataFrame,
        answer: pd.DataFrame,
        max_dd: float,
        *,
        config: Mapping[str, Any] | None = None,
        label: str = "",
    ) -> int:
        """Save a sizing sweep (its table and per-capital answer); returns the new run id."""
        summary = {"max_dd_pct": float(max_dd), "n_runs": int(len(table)), "max_assets": to_jsonable(answer)}
        return self._save("sweep", label, config, summary, {"table": table, "answer": answer})

    def delete(self, run_id: int) -> None:
        """Remove a saved run (one transaction)."""
        self._require(run_id)
        self._con.execute("BEGIN TRANSACTION")
        self._con.execute("DELETE FROM mf_run_frames WHERE run_id = ?", [run_id])
        self._con.execute("DELETE FROM mf_runs WHERE id = ?", [run_id])
        self._con.execute("COMMIT")

    # -- reading -----------------------------------------------------------------------------------------
    def list(self) -> pd.DataFrame:
        """One row per saved run, oldest first: ``id, kind, created, label, n_assets, final_equity,
        total_return_pct, max_drawdown_pct, config_path``."""
        cols = [
            "id",
            "kind",
            "created",
            "label",
            "n_assets",
            "final_equity",
            "total_return_pct",
            "max_drawdown_pct",
            "config_path",
        ]
        if not self._has_tables():
            return pd.DataFrame(columns=cols)
        rows = []
        for rid, kind, created, label, config, summary in self._con.execute(
            "SELECT id, kind, created, label, config, summary FROM mf_runs ORDER BY id"
        ).fetchall():
            s = json.loads(summary or "{}")
            c = json.loads(config or "{}")
            meta = s.get("_meta", {})
            rows.append(
                {
                    "id": int(rid),
                    "kind": kind,
                    "created": pd.Timestamp(created),
                    "label": label or "",
                    "n_assets": len(meta.get("symbols", [])) if kind == "run" else None,
                    "final_equity": s.get("final_equity"),
                    "total_return_pct": s.get("total_return_pct"),
                    "max_drawdown_pct": s.get("max_drawdown_pct"),
                    "config_path": c.get("path"),
                }
            )
        return pd.DataFrame(rows, columns=cols)

    def _require(self, run_id: int) -> tuple[Any, ...]:
        if not self._has_tables():
            raise SavedRunError(f"no saved runs in {self.path}")
        row = self._con.execute(
            "SELECT id, kind, created, label, config, summary FROM mf_runs WHERE id = ?", [int(run_id)]
        ).fetchone()
        if row is None:
            known = [r[0] for r in self._con.execute("SELECT id FROM mf_runs ORDER BY id").fetchall()]
            shown = ", ".join(map(str, known[-10:])) or "none"
            raise SavedRunError(f"no saved run {run_id} in {self.path} (saved: {shown})")
        return row

    def load(self, run_id: int) -> SavedRun:
        """A saved run with its frames."""
        rid, kind, created, label, config, summary = self._require(run_id)
        frames = {
            name: _from_parquet(data)
            for name, data in self._con.execute(
                "SELECT name, data FROM mf_run_frames WHERE run_id = ?", [int(rid)]
            ).fetchall()
        }
        return SavedRun(
            id=int(rid),
            kind=kind,
            created=pd.Timestamp(created),
            label=label or "",
            config=json.loads(config or "{}"),
            summary=json.loads(summary or "{}"),
            frames=frames,
        )
