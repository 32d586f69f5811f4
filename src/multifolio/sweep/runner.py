"""Run one function over many parameter sets: in-process, local processes, or Dask distributed.

``shared`` (e.g. the loaded market data) goes to each worker once, not once per run, and is passed to
``fn`` as its first argument.

>>> def add(a, b):
...     return a + b
>>> run_sweep(add, [{"a": 1, "b": 2}, {"a": 3, "b": 4}], workers=1)
[3, 7]
>>> def scaled(k, a):
...     return k * a
>>> run_sweep(scaled, [{"a": 1}, {"a": 2}], workers=1, shared=10)
[10, 20]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

__all__ = ["run_sweep", "SweepError", "BACKENDS"]

BACKENDS = ("processes", "dask")


_NOTHING = object()
_WORKER_SHARED: Any = _NOTHING      # what a worker process received once at start-up


class SweepError(RuntimeError):
    """One run of a sweep failed; ``index`` and ``params`` say which."""

    def __init__(self, index: int, params: Mapping[str, Any], cause: BaseException) -> None:
        shown = {k: v for k, v in params.items() if k not in ("spec", "run")}
        super().__init__(f"sweep run {index} with {shown} failed: {type(cause).__name__}: {cause}")
        self.index = index
        self.params = dict(params)


def _call(fn: Callable[..., Any], params: Mapping[str, Any], shared: Any = _NOTHING) -> tuple[bool, Any]:
    # Errors travel back as values so the caller can say which parameter set failed.
    try:
        return True, (fn(**params) if shared is _NOTHING else fn(shared, **params))
    except Exception as exc:  # noqa: BLE001 - re-raised by the caller with the parameters
        return False, exc


def _set_worker_shared(shared: Any) -> None:
    global _WORKER_SHARED
    _WORKER_SHARED = shared


def _call_many(fn: Callable[..., Any], chunk: Sequence[Mapping[str, Any]], shared: Any = _NOTHING
               ) -> list[tuple[bool, Any]]:
    return [_call(fn, p, shared) for p in chunk]


def _call_many_in_worker(fn: Callable[..., Any], chunk: Sequence[Mapping[str, Any]]
                         ) -> list[tuple[bool, Any]]:
    return _call_many(fn, chunk, _WORKER_SHARED)


def _chunks(n_runs: int, n_workers: int) -> list[range]:
    """Runs grouped into tasks: a short run (a few ms) costs about as much to send to a worker as to do,
    so runs travel in chunks: at least 16 per worker for balance, at most 64 runs each."""
    size = max(1, min(64, n_runs // (16 * n_workers)))
    return [range(i, min(n_runs, i + size)) for i in range(0, n_runs, size)]


def _default_workers(n_runs: int) -> int:
    return max(1, min(n_runs, os.cpu_count() or 1))


def run_sweep(fn: Callable[..., Any], params_list: Sequence[Mapping[str, Any]], workers: int | None = None,
              backend: str = "processes", client: Any = None, address: str | None = None,
              progress: Callable[[int, int], None] | None = None, shared: Any = _NOTHING,
              on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
    """``[fn(**p) for p in params_list]``, in parallel; results keep the order of ``params_list``.

    ``fn`` and the parameters must be picklable (a module-level function). ``backend="processes"`` uses
    a ``ProcessPoolExecutor`` with ``workers`` processes (default: one per core, at most one per run;
    ``workers=1`` runs in this process, which is handy for debugging). ``backend="dask"`` submits to a
    ``dask.distributed`` cluster: ``client`` (an existing ``Client``), ``address`` (a scheduler to
    connect to), or else a ``LocalCluster`` of ``workers`` single-threaded worker processes started and
    closed for this sweep. ``progress(done, total)`` is called as runs finish. A failing run raises
    :class:`SweepError` naming its parameters. With ``shared``, each run is ``fn(shared, **p)`` and
    ``shared`` is sent once per worker (process-pool initializer; Dask: scattered to every worker).
    ``on_result(i, value)`` is called in this process as soon as run ``i`` succeeds (before
    ``progress``), e.g. to checkpoint it: runs finished before an interruption are then kept.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    params_list = [dict(p) for p in params_list]
    if not params_list:
        return []
    n_workers = _default_workers(len(params_list)) if workers is None else int(workers)

    total = len(params_list)
    progress_fn = progress if progress is not None else (lambda done, n: None)
    progress_fn(0, total)

    def report(done: int, n: int, i: int = -1, outcome: Any = None) -> None:
        if on_result is not None and outcome is not None and outcome[0]:
            on_result(i, outcome[1])
        progress_fn(done, n)

    if backend == "processes":
        if n_workers == 1:
            outcomes = []
            for p in params_list:
                outcomes.append(_call(fn, p, shared))
                report(len(outcomes), total, len(outcomes) - 1, outcomes[-1])
        else:
            outcomes = [None] * total
            init = {} if shared is _NOTHING else {"initializer": _set_worker_shared, "initargs": (shared,)}
            with ProcessPoolExecutor(max_workers=n_workers, **init) as pool:
                futures = {pool.submit(_call_many_in_worker, fn, [params_list[i] for i in chunk]): chunk
                           for chunk in _chunks(total, n_workers)}
                done = 0
                for fut in as_completed(futures):
                    for i, outcome in zip(futures[fut], fut.result(), strict=True):
                        outcomes[i] = outcome
                        done += 1
                        report(done, total, i, outcome)
    else:
        outcomes = _run_dask(fn, params_list, n_workers, client, address, report, shared)

    results = []
    for i, (ok, value) in enumerate(outcomes):
        if not ok:
            raise SweepError(i, params_list[i], value) from value
        results.append(value)
    return results


def _run_dask(fn: Callable[..., Any], params_list: list[dict[str, Any]], n_workers: int, client: Any,
              address: str | None, report: Callable[..., None], shared: Any
              ) -> list[tuple[bool, Any]]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("backend='dask' needs dask.distributed: pip install 'multifolio[distributed]'"
                          ) from exc
    if client is not None:
        return _gather(client, fn, params_list, report, shared)
    if address is not None:
        with Client(address) as c:
            return _gather(c, fn, params_list, report, shared)
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        return _gather(c, fn, params_list, report, shared)


def _gather(client: Any, fn: Callable[..., Any], params_list: list[dict[str, Any]],
            report: Callable[..., None], shared: Any) -> list[tuple[bool, Any]]:
    from dask.distributed import as_completed as dask_completed

    n = len(params_list)
    chunks = _chunks(n, max(1, len(client.scheduler_info().get("workers", {})) or 1))
    # the shared object travels to each worker once; tasks refer to it by its future. hash=False: a
    # fresh key per sweep, or a second sweep on the same client would share the first one's key and
    # lose its data when the first sweep's future is released ("lost dependencies").
    extra = [] if shared is _NOTHING else [[client.scatter(shared, broadcast=True, hash=False)] * len(chunks)]
    # pure=False: identical parameter sets are still separate runs (and dask would otherwise hash
    # every argument, specs included, to deduplicate them).
    futures = client.map(_call_many, [fn] * len(chunks), [[params_list[i] for i in c] for c in chunks],
                         *extra, pure=False)
    position = {f.key: c for f, c in zip(futures, chunks, strict=True)}
    outcomes: list[Any] = [None] * n
    done = 0
    for fut in dask_completed(futures):
        for i, outcome in zip(position[fut.key], fut.result(), strict=True):
            outcomes[i] = outcome
            done += 1
            report(done, n, i, outcome)
    return outcomes
