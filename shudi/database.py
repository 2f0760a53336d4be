"""Engine and sessions, built on first use from the settings."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated
from urllib.parse import quote

import psycopg2
from fastapi import Depends
from prometheus_client import Counter, Gauge
from psycopg2 import errors as pg_errors
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import Pool

from shudi.embedded import APP_ROLE, OWNER, Cluster
from shudi.exceptions import DomainError, EmbeddedDatabaseError, UnsafeDatabaseError
from shudi.logs import request_id_var
from shudi.metrics import TimedQueuePool, instrument_pool
from shudi.settings import Settings, get_settings

DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


class DatabaseUnavailable(DomainError):
    """The database does not answer (down, restarting, unreachable)."""

    code = "database_unavailable"


class DatabaseBusy(DomainError):
    """Every pooled connection stayed busy for the whole pool time-out."""

    code = "database_busy"


class QueryTimeout(DomainError):
    """A statement ran past ``statement_timeout`` and was cancelled."""

    code = "query_timeout"


def connection_lost(exc: BaseException) -> bool:
    """Whether a driver error means the connection to PostgreSQL is gone (server killed or
    restarting, backend terminated): SQLAlchemy's disconnect detection, psycopg2's
    ``OperationalError``/``InterfaceError`` (wrapped or not), SQLSTATE classes 08 (connection
    exception) and 57P (operator intervention), or a transaction whose connection was
    invalidated mid-way (``PendingRollbackError``)."""
    if isinstance(exc, PendingRollbackError | OperationalError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig  # type: ignore[assignment]
    if isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
        return True
    code = getattr(exc, "pgcode", None) or ""
    return code.startswith(("08", "57P"))


def database_error(exc: BaseException) -> DomainError:
    """The domain error a driver or pool failure stands for (each answers 503 + Retry-After):
    a pool time-out, a cancelled statement, or (anything else) the database not answering."""
    if isinstance(exc, PoolTimeout):
        return DatabaseBusy("the server is busy; try again shortly")
    if isinstance(getattr(exc, "orig", exc), pg_errors.QueryCanceled):
        return QueryTimeout("the request took too long and was stopped; try again shortly")
    return DatabaseUnavailable("the database is not answering; try again shortly")


def cluster_for(settings: Settings) -> Cluster:
    """The embedded cluster these settings point at."""
    return Cluster(root=settings.pg_dir, db_name=settings.db_name)


def database_url(settings: Settings | None = None, *, owner: bool = False) -> str:
    """``SHUDI_DATABASE_URL`` when set, else the embedded cluster's URL: as the app role
    (``shudi_app``), or as the database's owner with ``owner`` (migrations)."""
    settings = settings or get_settings()
    if settings.database_url:
        url = settings.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg2://" + url.split("://", 1)[1]
        return url
    cluster = cluster_for(settings)
    return cluster.url() if owner else cluster.app_url()


def make_engine(
    url: str,
    settings: Settings | None = None,
    *,
    poolclass: type[Pool] | None = None,
    application_name: str = "shudi",
) -> Engine:
    """A pooled engine whose connections carry the statement timeout and UTC."""
    settings = settings or get_settings()
    return create_engine(
        url,
        poolclass=poolclass,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout_s,
        # no ping per checkout (a round trip per request): a dropped connection raises a
        # disconnect error instead, which invalidates the pool and answers 503 once
        pool_pre_ping=False,
        connect_args={
            "options": f"-c statement_timeout={settings.statement_timeout_ms} -c timezone=UTC",
            "connect_timeout": 5,
            "application_name": application_name,
        },
    )


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine (its pool feeds the metrics, see :mod:`shudi.metrics`)."""
    settings = get_settings()
    engine = make_engine(database_url(), settings, poolclass=TimedQueuePool)
    instrument_pool(engine, capacity=2 * settings.db_pool_size)
    return engine


@lru_cache(maxsize=1)
def _sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on error."""
    session = _sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def check_durability(engine: Engine) -> None:
    """Raise :class:`UnsafeDatabaseError` unless every durability setting is on."""
    with engine.connect() as conn:
        off = [
            name
            for name in DURABILITY_SETTINGS
            if conn.execute(text(f"SHOW {name}")).scalar_one() != "on"
        ]
    if off:
        raise UnsafeDatabaseError(
            "refusing to serve: "
            + ", ".join(off)
            + " must be on (acknowledged writes could be lost)"
        )


def current_request_id() -> str | None:
    """The id of the request being served (``X-Request-Id``), None outside requests."""
    rid = request_id_var.get()
    return None if rid == "-" else rid


def tag_request(conn: Connection) -> None:
    """Name the current request in this transaction (``shudi.request_id``, read by the audit
    triggers of migration 0018), so every write a request makes is traceable to it; nothing
    outside a request."""
    rid = current_request_id()
    if rid is not None:
        conn.execute(text("SELECT set_config('shudi.request_id', :r, true)"), {"r": rid})


def db_connection() -> Iterator[Connection]:
    """FastAPI dependency: one connection in one transaction per request (named by its
    request id for the audit log)."""
    with get_engine().begin() as conn:
        tag_request(conn)
        yield conn


def open_reader() -> AbstractContextManager[Connection]:
    """A pooled autocommit connection for one read-only lookup."""
    return get_engine().connect().execution_options(isolation_level="AUTOCOMMIT")


async def reader_factory() -> Callable[[], AbstractContextManager[Connection]]:
    """FastAPI dependency for hot read-only routes: how to open a reader, not a reader.

    The route opens it inside its one thread-pool call, which spares the two extra thread hops
    a generator dependency costs (enter and exit) on every request.
    """
    return open_reader


def db_reader() -> Iterator[Connection]:
    """FastAPI dependency for read-only lookups: autocommit, no BEGIN/COMMIT round trips."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


@contextmanager
def open_writer() -> Iterator[Connection]:
    """A pooled connection in one transaction, committed when the block ends (named by the
    current request's id for the audit log)."""
    with get_engine().begin() as conn:
        tag_request(conn)
        yield conn


async def writer_factory() -> Callable[[], AbstractContextManager[Connection]]:
    """FastAPI dependency for hot write routes: how to open the transaction, not a connection
    (opened inside the route's one thread-pool call, like :func:`reader_factory`)."""
    return open_writer


# --- reads that tolerate a little lag: a streaming replica when there is one fresh enough ---


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
_log = logging.getLogger("shudi.database")
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
    return read_engine().connect().execution_options(isolation_level="AUTOCOMMIT")


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
