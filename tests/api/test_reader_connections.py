"""Readers (shudi.database.autocommit): each statement commits on its own, and the pooled
connection goes back to the pool transactional, without a round trip to reset it."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, text
from sqlalchemy.pool import QueuePool

from shudi.database import autocommit


def test_a_reader_autocommits_and_its_connection_returns_transactional(db_url: str) -> None:
    from sqlalchemy import create_engine

    engine: Engine = create_engine(db_url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    name = f"reader_probe_{uuid.uuid4().hex[:8]}"
    try:
        with autocommit(engine) as conn:
            conn.execute(text(f"CREATE TEMP TABLE {name} (v int) ON COMMIT PRESERVE ROWS"))
            conn.execute(text(f"INSERT INTO {name} VALUES (1)"))
            conn.rollback()  # nothing to roll back: the insert has committed already
            assert conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one() == 1
        with engine.connect() as conn:  # the same pooled connection (pool of one)
            assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
            conn.execute(text(f"INSERT INTO {name} VALUES (2)"))
            conn.rollback()  # transactional again: the second row is gone
            assert conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one() == 1
            conn.rollback()
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            conn.rollback()
        for k in range(2):  # reader, writer, reader, writer: the driver's state toggled twice
            with autocommit(engine) as conn:
                conn.execute(text(f"SELECT 'reader {k}'"))
            with engine.begin() as conn:
                conn.execute(text(f"SELECT 'writer {k}'"))
        with autocommit(engine) as conn:
            conn.execute(text("SELECT 'last reader'"))
        with create_engine(db_url).connect() as other:  # what that backend ran last
            last = other.execute(
                text("SELECT query FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
            ).scalar_one()
        # no reset statement after the reader (SQLAlchemy's isolation-level reset sent
        # ``SET default_transaction_isolation TO DEFAULT`` here: a round trip per read)
        assert last == "SELECT 'last reader'"
    finally:
        engine.dispose()
