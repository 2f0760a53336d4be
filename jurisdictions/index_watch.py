"""Every worker's in-process boundary index follows activations, announced by the database.

:func:`jurisdictions.generations.activate` announces each activation on the PostgreSQL channel
:data:`CHANNEL` (``pg_notify``, delivered when its transaction commits, to every listening
connection of every process). Each server process runs :func:`start_thread`: a thread that
LISTENs on the channel and, on each announcement (and once at start), builds the index of the
generations now active, so the first lookups after an activation do not pay for the build.

The notification only saves time; it is never what makes an answer right. Every lookup asks
the database which generations are valid (:func:`jurisdictions.service.index_at`) and uses the
index of exactly that set, so a missed or late notification (a dropped connection, a worker
that was starting) costs one build in a request, never a stale layer.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from jurisdictions.service import index_at

CHANNEL = "shudi_generations"
#: Seconds between attempts when the database cannot be reached.
RETRY_S = 5.0

log = logging.getLogger("shudi.jurisdictions")


def announce(conn: Connection, *, generation_id: int) -> None:
    """Tell every worker, when the caller's transaction commits, that ``generation_id`` was
    activated."""
    conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": str(generation_id)})


def warm(engine: Engine) -> float:
    """Build (if needed) the index of the generations active now; seconds it took."""
    t0 = time.perf_counter()
    with engine.connect() as conn:
        index_at(conn)
    return time.perf_counter() - t0


def _listen(engine: Engine, stop: threading.Event, on_build: Callable[[float], None]) -> None:
    # a connection of its own for as long as it listens: not the pool's (nor counted as one)
    own = create_engine(engine.url, poolclass=NullPool)
    try:
        fairy = own.raw_connection()
        dbapi: Any = fairy.dbapi_connection
        fairy.detach()  # ours until closed below
    finally:
        own.dispose()
    try:
        dbapi.autocommit = True
        with dbapi.cursor() as cur:
            cur.execute(f"LISTEN {CHANNEL}")
        on_build(warm(engine))  # anything activated before LISTEN took effect
        while not stop.is_set():
            if select.select([dbapi], [], [], 1.0)[0]:
                dbapi.poll()
                if dbapi.notifies:
                    dbapi.notifies.clear()
                    on_build(warm(engine))
    finally:
        dbapi.close()


def start_thread(
    engine: Callable[[], Engine], on_build: Callable[[float], None] | None = None
) -> tuple[threading.Thread, threading.Event]:
    """Start the listening thread of this process; set the event to stop it (within 1 s)."""
    stop = threading.Event()
    report = on_build or (lambda s: log.info("boundary index ready in %.2f s", s))

    def run() -> None:
        while not stop.is_set():
            try:
                _listen(engine(), stop, report)
            except Exception as exc:  # the lookups check for themselves: log and retry
                log.warning("boundary index watcher: %s; retrying in %.0f s", exc, RETRY_S)
                stop.wait(RETRY_S)

    thread = threading.Thread(target=run, name="shudi-index-watch", daemon=True)
    thread.start()
    return thread, stop
