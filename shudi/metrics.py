"""Prometheus metrics of the process (prometheus-client), multi-worker safe.

With several app workers, ``shudi serve --workers N`` points ``PROMETHEUS_MULTIPROC_DIR`` at
``$SHUDI_HOME/metrics`` (emptied at start) before the workers start: every worker then writes
its samples to files there and ``/metrics``, whichever worker answers, adds up all of them
(prometheus-client's multiprocess mode). With one worker the samples live in memory.

Metrics defined here are the ones the foundation itself feeds (the database pool); the API
layer adds request latencies and scrape-time gauges (:mod:`api.metrics`).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import Engine, event
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import QueuePool

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

POOL_CHECKED_OUT = Gauge(
    "shudi_db_pool_checked_out",
    "Database connections currently checked out of the pool.",
    multiprocess_mode="livesum",
)
POOL_CAPACITY = Gauge(
    "shudi_db_pool_capacity",
    "Connections the pool may hand out at once (pool size + overflow).",
    multiprocess_mode="livesum",
)
POOL_WAIT = Histogram(
    "shudi_db_pool_checkout_seconds",
    "Time a request waited for a pooled connection.",
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0),
)
POOL_TIMEOUTS = Counter(
    "shudi_db_pool_timeouts",
    "Checkouts that gave up after the pool time-out (answered 503 database_busy).",
)
HOTSPOT_IN_FLIGHT = Gauge(
    "shudi_hotspot_analyses_in_flight",
    "Hot-spot analyses submitted to the analysis processes and not finished (running or queued).",
    multiprocess_mode="livesum",
)


def prepare_multiprocess_dir(home: Path) -> Path:
    """An empty ``home/metrics`` folder, set as ``PROMETHEUS_MULTIPROC_DIR`` for the workers
    this process starts (call before they start; samples of earlier runs are removed)."""
    folder = home.resolve() / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def multiprocess_dir() -> str | None:
    """The multiprocess folder when this process writes its samples to files."""
    return os.environ.get(MULTIPROC_ENV) or None


_depth = threading.local()


class TimedQueuePool(QueuePool):
    """The default pool, timing each wait for a connection (or for a new one to open)."""

    def _do_get(self) -> Any:
        if getattr(_depth, "inside", False):  # QueuePool retries by calling itself
            return super()._do_get()
        _depth.inside = True
        start = time.perf_counter()
        try:
            return super()._do_get()
        except PoolTimeout:
            POOL_TIMEOUTS.inc()
            raise
        finally:
            _depth.inside = False
            POOL_WAIT.observe(time.perf_counter() - start)


def instrument_pool(engine: Engine, capacity: int) -> None:
    """Count ``engine``'s checked-out connections (events on checkout and checkin)."""
    POOL_CAPACITY.set(capacity)

    @event.listens_for(engine, "checkout")
    def _out(*_args: Any) -> None:
        POOL_CHECKED_OUT.inc()

    @event.listens_for(engine, "checkin")
    def _in(*_args: Any) -> None:
        POOL_CHECKED_OUT.dec()
