"""Reads that tolerate a little lag: a streaming replica when there is one fresh enough, else the
primary (``SHUDI_DATABASE_READ_URL``). :class:`ReadRouter` is the one place that decides; the
FastAPI dependencies (:func:`read_db`, :func:`read_factory`) and the helpers outside a request
(:func:`read_transaction`, :func:`read_session`, :func:`open_read`) go through it."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends
from prometheus_client import Counter, Gauge
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from shudi.database import autocommit, cluster_for, db_connection, get_engine, make_engine
from shudi.embedded import APP_ROLE, OWNER, Cluster
from shudi.exceptions import EmbeddedDatabaseError
from shudi.settings import Settings, get_settings


@dataclass(frozen=True)
class ReplicaLag:
    """One measure of how far the replica is behind the primary (``error`` when it could not
    be measured: the replica is down, or is no standby)."""

    bytes: int | None
    seconds: float | None
    error: str | None = None


READS = Counter(
    "shudi_db_reads",
    "Lag-tolerant reads, by the server that answered them (replica, or primary when the "
    "replica is unset, lagging or down).",
    ["server"],
)
LAG_SECONDS = Gauge(
    "shudi_db_replica_lag_seconds",
    "The read replica's lag as last measured (-1: not measurable).",
    multiprocess_mode="max",
)
LAG_BYTES = Gauge(
    "shudi_db_replica_lag_bytes",
    "WAL the read replica has not replayed yet, as last measured (-1: not measurable).",
    multiprocess_mode="max",
)
_log = logging.getLogger("shudi.database")  # the name the logs have always carried
_PRIMARY_LSN = "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint"
_REPLICA_LSN = """SELECT pg_is_in_recovery(),
    pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint,
    extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8"""


def read_database_url(settings: Settings | None = None) -> str | None:
    """``SHUDI_DATABASE_READ_URL`` as a SQLAlchemy URL (``embedded``: the embedded replica,
    as the app role), or None when unset."""
    settings = settings or get_settings()
    url = settings.database_read_url
    if not url:
        return None
    if url == "embedded":
        return embedded_replica_url(cluster_for(settings))
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def embedded_replica_url(primary: Cluster) -> str:
    """The app's URL of the replica ``shudi db replica start`` makes beside ``primary`` (the
    roles and their passwords are the primary's, replicated)."""
    replica = Cluster(root=primary.root.parent / "pg-replica", db_name=primary.db_name)
    if not replica.port_file.exists():
        raise EmbeddedDatabaseError(
            f"no embedded replica at {replica.root}; run `shudi db replica start`"
        )
    role = APP_ROLE if (primary.secrets_dir / APP_ROLE).exists() else OWNER
    return (
        f"postgresql+psycopg2://{role}:{quote(primary.password(role), safe='')}@/"
        f"{primary.db_name}?host={replica.socket_dir}&port={replica.port}"
    )


class ReadRouter:
    """The one place that decides where a lag-tolerant read goes: the replica while its lag is
    within ``max_lag_s``, else the primary.

    The lag is measured at most every ``check_s`` seconds per process (two one-row queries:
    the primary's flushed WAL position, the replica's replayed one) and in the meantime the
    last measure is reused. Seconds come from this process's own record of when the primary
    was at each position: the replica is as late as the newest recorded primary position it
    has replayed (an upper bound, to within ``check_s``); with no such record yet, the
    replica's own ``now() - pg_last_xact_replay_timestamp()``, which over-states the lag of an
    idle primary (a safe error: the read goes to the primary).
    """

    def __init__(self, replica: Engine | None, *, max_lag_s: float, check_s: float) -> None:
        self.replica = replica
        self.max_lag_s, self.check_s = max_lag_s, check_s
        self.last: ReplicaLag | None = None
        self._checked = -float("inf")
        self._marks: deque[tuple[float, int]] = deque(maxlen=512)
        self._lock = threading.Lock()
        self._to_replica: bool | None = None

    def measure(self) -> ReplicaLag:
        """Measure the lag now (and record the primary's position)."""
        assert self.replica is not None
        try:
            with get_engine().connect() as conn:
                at = time.monotonic()
                primary_lsn = int(conn.execute(text(_PRIMARY_LSN)).scalar_one())
            with self.replica.connect() as conn:
                standby, replayed, age = conn.execute(text(_REPLICA_LSN)).one()
        except (OperationalError, PoolTimeout) as exc:
            return ReplicaLag(None, None, error=str(getattr(exc, "orig", exc)).strip()[:200])
        if not standby:
            return ReplicaLag(None, None, error="the read database is not a standby")
        self._marks.append((at, primary_lsn))
        behind = max(0, primary_lsn - int(replayed))
        if behind == 0:
            return ReplicaLag(0, 0.0)
        caught = [t for t, lsn in self._marks if lsn <= replayed]
        seconds = time.monotonic() - max(caught) if caught else (age or float("inf"))
        return ReplicaLag(behind, float(seconds))

    def current(self) -> ReplicaLag:
        """The last measure, renewed when older than ``check_s`` (by one thread at a time;
        the others meanwhile use the previous one)."""
        now = time.monotonic()
        if (self.last is None or now - self._checked >= self.check_s) and self._lock.acquire(
            blocking=self.last is None
        ):
            try:
                self.last, self._checked = self.measure(), time.monotonic()
                LAG_SECONDS.set(-1 if self.last.seconds is None else self.last.seconds)
                LAG_BYTES.set(-1 if self.last.bytes is None else self.last.bytes)
            finally:
                self._lock.release()
        assert self.last is not None
        return self.last

    def engine(self) -> Engine:
        """The engine the next lag-tolerant read uses."""
        if self.replica is None:
            READS.labels("primary").inc()
            return get_engine()
        lag = self.current()
        fresh = lag.error is None and lag.seconds is not None and lag.seconds <= self.max_lag_s
        if fresh != self._to_replica:
            self._to_replica = fresh
            if fresh:
                _log.info("lag-tolerant reads go to the replica (lag %.1f s)", lag.seconds)
            else:
                why = lag.error or f"lag {lag.seconds:.1f} s > {self.max_lag_s:g} s"
                _log.warning("lag-tolerant reads go to the primary: %s", why)
        READS.labels("replica" if fresh else "primary").inc()
        return self.replica if fresh else get_engine()


_router: tuple[Settings, ReadRouter] | None = None


def get_read_router() -> ReadRouter:
    """The process-wide read router, built on first use (never at import), and again when
    the settings are re-read."""
    global _router
    settings = get_settings()
    if _router is None or _router[0] is not settings:
        try:
            url = read_database_url(settings)
        except EmbeddedDatabaseError as exc:  # `embedded`, but no replica made
            _log.warning("SHUDI_DATABASE_READ_URL: %s; reads go to the primary", exc)
            url = None
        replica = make_engine(url, settings, application_name="shudi-read") if url else None
        router = ReadRouter(
            replica, max_lag_s=settings.read_max_lag_s, check_s=settings.read_lag_check_s
        )
        _router = (settings, router)
    return _router[1]


def read_engine() -> Engine:
    """The engine of a lag-tolerant read: the replica when set and fresh, else the primary."""
    return get_read_router().engine()


def open_read() -> AbstractContextManager[Connection]:
    """A pooled autocommit connection for one lag-tolerant read (see :class:`ReadRouter`)."""
    return autocommit(read_engine())


async def read_factory() -> Callable[[], AbstractContextManager[Connection]]:
    """FastAPI dependency, like :func:`reader_factory`, for lag-tolerant reads."""
    return open_read


@contextmanager
def read_transaction() -> Iterator[Connection]:
    """One read-only transaction for lag-tolerant reads outside a request (as :func:`read_db`)."""
    with read_engine().connect() as conn, conn.begin():
        conn.execute(text("SET TRANSACTION READ ONLY"))
        yield conn


def read_db(
    primary: Annotated[Connection, Depends(db_connection, scope="function")],
) -> Iterator[Connection]:
    """FastAPI dependency for lag-tolerant reads (live feed, layers, hot spots, OGC items,
    planners' listings): a read-only transaction on the replica when it is fresh enough, else
    the request's own connection to the primary (the one :func:`db_connection` gives it and
    its token check uses: no second transaction when there is no replica). Nothing written
    through it, nothing read through it that its caller must see right after writing it."""
    engine = read_engine()
    if engine is get_engine():
        yield primary
        return
    with engine.connect() as conn, conn.begin():
        conn.execute(text("SET TRANSACTION READ ONLY"))
        yield conn


@contextmanager
def read_session() -> Iterator[Session]:
    """An ORM session for lag-tolerant reads (as :func:`read_db`); rolled back at the end."""
    session = Session(bind=read_engine())
    try:
        session.execute(text("SET TRANSACTION READ ONLY"))
        yield session
    finally:
        session.rollback()
        session.close()
