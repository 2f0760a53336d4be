"""Where analyses run: in a pool of separate processes, so a long Gi* or density run never
holds the serving process's interpreter while other requests wait.

``SHUDI_HOTSPOT_PROCESSES`` sets the pool's size per app worker (0: in the request's thread).
The pool starts on first use with the ``spawn`` method (no copy of the server's threads and
connections) and lives as long as the worker.

Each worker process is capped: its address space (``RLIMIT_AS``,
``SHUDI_HOTSPOT_MEMORY_MB``: an allocation past it is a ``MemoryError``, not the kernel's OOM
killer) and each analysis's wall-clock time (``SHUDI_HOTSPOT_TIMEOUT_S``: past it the pool's
processes are killed and the pool rebuilt). A pool broken by a killed worker is rebuilt: the
request that broke it gets a 503, the next one a fresh pool. A worker exits when its server
goes (it watches its parent process), so no analysis process outlives the server.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from hotspots.analysis import Answer, Inputs, run
from hotspots.exceptions import AnalysisTooLarge, AnalysisUnavailable
from hotspots.schemas import HotspotQuery
from shudi.metrics import HOTSPOT_IN_FLIGHT

_pool: ProcessPoolExecutor | None = None
_size = 0
_lock = threading.Lock()

#: How often a worker checks that its server is still there (seconds).
PARENT_CHECK_S = 0.5


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:  # the server is gone: we were re-parented
            os._exit(0)
        time.sleep(PARENT_CHECK_S)


def _init_worker(parent: int, memory_mb: int) -> None:
    """In each worker process: cap its memory and exit when the server ``parent`` goes."""
    if memory_mb > 0:
        limit = memory_mb << 20
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _new_pool(processes: int, memory_mb: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(os.getpid(), memory_mb),
    )


def _discard(pool: ProcessPoolExecutor) -> None:
    """Kill ``pool``'s processes (a stuck or broken analysis) and shut it down."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _executor(processes: int, memory_mb: int) -> ProcessPoolExecutor:
    global _pool, _size
    with _lock:
        if _pool is None or _size != processes:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = _new_pool(processes, memory_mb)
            _size = processes
        return _pool


def _rebuild(broken: ProcessPoolExecutor) -> None:
    """Drop ``broken`` (if it is still the current pool): the next call makes a new one."""
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    _discard(broken)


def worker_pids() -> list[int]:
    """The process ids of the current pool's workers (for tests and diagnostics)."""
    with _lock:
        procs = (getattr(_pool, "_processes", None) or {}) if _pool is not None else {}
        return [p.pid for p in procs.values() if p.pid is not None]


def compute(
    query: HotspotQuery,
    inputs: Inputs,
    *,
    min_count: int,
    processes: int,
    memory_mb: int = 0,
    timeout_s: float | None = None,
) -> Answer:
    """:func:`hotspots.analysis.run` in the pool (``processes`` > 0) or here."""
    if processes <= 0:
        return run(query, inputs, min_count=min_count)
    with HOTSPOT_IN_FLIGHT.track_inprogress():  # running or queued for a free process
        return _attempts(
            query,
            inputs,
            min_count=min_count,
            processes=processes,
            memory_mb=memory_mb,
            timeout_s=timeout_s,
        )


def _attempts(
    query: HotspotQuery,
    inputs: Inputs,
    *,
    min_count: int,
    processes: int,
    memory_mb: int,
    timeout_s: float | None,
) -> Answer:
    for attempt in (1, 2):
        pool = _executor(processes, memory_mb)
        try:
            future = pool.submit(run, query, inputs, min_count=min_count)
        except BrokenProcessPool:  # broken before this request (a worker was killed): retry
            _rebuild(pool)
            if attempt == 2:
                raise AnalysisUnavailable(
                    "the analysis workers could not be started; retry later", retry_after_s=5
                ) from None
            continue
        try:
            return future.result(timeout=timeout_s)
        except FutureTimeout:
            _rebuild(pool)
            raise AnalysisUnavailable(
                f"the analysis took longer than {timeout_s:g} s and was stopped: use a coarser "
                "grid, fewer permutations or a narrower filter",
                retry_after_s=5,
            ) from None
        except BrokenProcessPool:
            _rebuild(pool)
            raise AnalysisUnavailable(
                "the analysis worker stopped (it may have run out of memory); it has been "
                "restarted: retry, or ask for a smaller analysis",
                retry_after_s=5,
            ) from None
        except MemoryError:
            raise AnalysisTooLarge(
                f"the analysis needs more than the {memory_mb:,} MB one analysis may use: use "
                "a coarser grid, fewer permutations or a narrower filter"
            ) from None
    raise AssertionError("unreachable")
