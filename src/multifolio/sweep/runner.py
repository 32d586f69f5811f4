"""Run one function over many parameter sets: in-process, local processes, or Dask distributed.

>>> def add(a, b):
...     return a + b
>>> run_sweep(add, [{"a": 1, "b": 2}, {"a": 3, "b": 4}], workers=1)
[3, 7]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["run_sweep", "SweepError", "BACKENDS"]

BACKENDS = ("processes", "dask")


class SweepError(RuntimeError):
    """One run of a sweep failed; ``index`` and ``params`` say which."""

    def __init__(self, index: int, params: Mapping[str, Any], cause: BaseException) -> None:
        shown = {k: v for k, v in params.items() if k != "config"}
        super().__init__(f"sweep run {index} with {shown} failed: {type(cause).__name__}: {cause}")
        self.index = index
        self.params = dict(params)


def _call(fn: Callable[..., Any], params: Mapping[str, Any]) -> tuple[bool, Any]:
    # Errors travel back as values so the caller can say which parameter set failed.
    try:
        return True, fn(**params)
    except Exception as exc:  # noqa: BLE001 - re-raised by the caller with the parameters
        return False, exc


def _default_workers(n_runs: int) -> int:
    return max(1, min(n_runs, os.cpu_count() or 1))


def run_sweep(fn: Callable[..., Any], params_list: Sequence[Mapping[str, Any]], workers: int | None = None,
              backend: str = "processes", client: Any = None, address: str | None = None) -> list[Any]:
    """``[fn(**p) for p in params_list]``, in parallel; results keep the order of ``params_list``.

    ``fn`` and the parameters must be picklable (a module-level function). ``backend="processes"`` uses
    a ``ProcessPoolExecutor`` with ``workers`` processes (default: one per core, at most one per run;
    ``workers=1`` runs in this process, which is handy for debugging). ``backend="dask"`` submits to a
    ``dask.distributed`` cluster: ``client`` (an existing ``Client``), ``address`` (a scheduler to
    connect to), or else a ``LocalCluster`` of ``workers`` single-threaded worker processes started and
    closed for this sweep. A failing run raises :class:`SweepError` naming its parameters.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    params_list = [dict(p) for p in params_list]
    if not params_list:
        return []
    n_workers = _default_workers(len(params_list)) if workers is None else int(workers)

    if backend == "processes":
        if n_workers == 1:
            outcomes = [_call(fn, p) for p in params_list]
        else:
            with ProcessPoolExecutor(max_workers=n_workers) as pool:
                outcomes = list(pool.map(_call, [fn] * len(params_list), params_list))
    else:
        outcomes = _run_dask(fn, params_list, n_workers, client, address)

    results = []
    for i, (ok, value) in enumerate(outcomes):
        if not ok:
            raise SweepError(i, params_list[i], value) from value
        results.append(value)
    return results


def _run_dask(fn: Callable[..., Any], params_list: list[dict[str, Any]], n_workers: int, client: Any,
              address: str | None) -> list[tuple[bool, Any]]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("backend='dask' needs dask.distributed: pip install 'multifolio[distributed]'"
                          ) from exc
    if client is not None:
        return _gather(client, fn, params_list)
    if address is not None:
        with Client(address) as c:
            return _gather(c, fn, params_list)
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        return _gather(c, fn, params_list)


def _gather(client: Any, fn: Callable[..., Any], params_list: list[dict[str, Any]]) -> list[tuple[bool, Any]]:
    # pure=False: identical parameter sets are still separate runs (and dask would otherwise hash
    # every argument, configs included, to deduplicate them).
    futures = client.map(_call, [fn] * len(params_list), params_list, pure=False)
    return client.gather(futures)
