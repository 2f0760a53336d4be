"""Where analyses run: in a pool of separate processes, so a long Gi* or density run never
holds the serving process's interpreter while other requests wait.

``SHUDI_HOTSPOT_PROCESSES`` sets the pool's size per app worker (0: in the request's thread).
The pool starts on first use with the ``spawn`` method (no copy of the server's threads and
connections) and lives as long as the worker.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

from hotspots.analysis import Answer, Inputs, run
from hotspots.schemas import HotspotQuery
from shudi.metrics import HOTSPOT_IN_FLIGHT

_pool: ProcessPoolExecutor | None = None
_size = 0
_lock = threading.Lock()


def _executor(processes: int) -> ProcessPoolExecutor:
    global _pool, _size
    with _lock:
        if _pool is None or _size != processes:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(
                max_workers=processes, mp_context=multiprocessing.get_context("spawn")
            )
            _size = processes
        return _pool


def compute(query: HotspotQuery, inputs: Inputs, *, min_count: int, processes: int) -> Answer:
    """:func:`hotspots.analysis.run` in the pool (``processes`` > 0) or here."""
    if processes <= 0:
        return run(query, inputs, min_count=min_count)
    with HOTSPOT_IN_FLIGHT.track_inprogress():  # running or queued for a free process
        return _executor(processes).submit(run, query, inputs, min_count=min_count).result()
