"""Engine and sessions, built on first use from the settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from typing import Annotated

import psycopg2
from fastapi import Depends
from psycopg2 import errors as pg_errors
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import Pool

from shudi.embedded import Cluster
from shudi.exceptions import DomainError, UnsafeDatabaseError
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
    """A pooled engine whose connections carry the statement timeout and UTC.

    Its capacity is ``2 × db_pool_size`` connections (what admission counts on), all of them
    kept once opened: with an overflow instead, every connection returned beyond the pool's
    size was closed and the next request opened a new one — a backend started and
    password-authenticated for every ~8 reports under load (issue #17)."""
    settings = settings or get_settings()
    return create_engine(
        url,
        poolclass=poolclass,
        pool_size=2 * settings.db_pool_size,
        max_overflow=0,
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


_TAG = text("SELECT set_config('shudi.request_id', :r, true)")


def tag_request(conn: Connection) -> None:
    """Name the current request in this transaction (``shudi.request_id``, read by the audit
    triggers of migration 0018), so every write a request makes is traceable to it; nothing
    outside a request."""
    rid = current_request_id()
    if rid is not None:
        conn.execute(_TAG, {"r": rid})


def db_connection() -> Iterator[Connection]:
    """FastAPI dependency: one connection in one transaction per request (named by its
    request id for the audit log)."""
    with get_engine().begin() as conn:
        tag_request(conn)
        yield conn


#: A route's database connection (:func:`db_connection`, closed when the route returns, so the
#: commit happens before the answer is sent).
RequestConn = Annotated[Connection, Depends(db_connection, scope="function")]


@contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A pooled connection of ``engine`` in autocommit for the block: each statement its own
    transaction, no BEGIN or COMMIT round trips.

    The driver's connection is switched (``autocommit``, on the client only) rather than
    through SQLAlchemy's ``isolation_level="AUTOCOMMIT"``, whose reset when the connection goes
    back to the pool sent ``SET default_transaction_isolation TO DEFAULT``: a round trip per
    read, on every read route (issue #17)."""
    with engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        dbapi.autocommit = True  # type: ignore[union-attr]
        try:
            yield conn
        finally:
            if dbapi is not None and not dbapi.closed:
                dbapi.autocommit = False


def open_reader() -> AbstractContextManager[Connection]:
    """A pooled autocommit connection for one read-only lookup."""
    return autocommit(get_engine())


async def reader_factory() -> Callable[[], AbstractContextManager[Connection]]:
    """FastAPI dependency for hot read-only routes: how to open a reader, not a reader.

    The route opens it inside its one thread-pool call, which spares the two extra thread hops
    a generator dependency costs (enter and exit) on every request.
    """
    return open_reader


def db_reader() -> Iterator[Connection]:
    """FastAPI dependency for read-only lookups: autocommit, no BEGIN/COMMIT round trips."""
    with autocommit(get_engine()) as conn:
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
