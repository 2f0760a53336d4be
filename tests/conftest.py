"""Test fixtures: a real PostGIS database (embedded cluster or SHUDI_DATABASE_URL's server).

Tests run in a database of their own (``<name>_test``), migrated once per session; each test
gets a connection inside a transaction that is rolled back at its end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg2
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from support import HASH, USERS, load_mini

from accounts.service import Principal
from jurisdictions import catalog
from shudi import database, embedded, settings
from shudi.migrate import scratch_database, upgrade

# The suite files many reports from one address: rate limits are off unless a test sets them
# (tests/abuse exercises them). Servers the tests start inherit this.
for _kind in ("IP", "PHONE", "CELL"):
    os.environ.setdefault(f"SHUDI_REPORT_LIMIT_{_kind}", "off")
# No outbox sender in the servers tests start, unless a test asks for one (tests/notify).
os.environ.setdefault("SHUDI_NOTIFY_IN_SERVER", "0")


def _test_url() -> str:
    s = settings.Settings()
    if s.database_url:
        url = make_url(database.database_url(s))
        name = f"{url.database}_test"
        admin = psycopg2.connect(
            dbname=url.database,
            user=url.username,
            password=url.password,
            host=url.host,
            port=url.port,
        )
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        return url.set(database=name).render_as_string(hide_password=False)
    cluster = embedded.Cluster(root=s.pg_dir, db_name=f"{s.db_name}_test")
    embedded.start(cluster)
    return cluster.url()


@pytest.fixture(scope="session")
def db_url() -> Iterator[str]:
    url = _test_url()
    upgrade(url)
    old = os.environ.get("SHUDI_DATABASE_URL")
    os.environ["SHUDI_DATABASE_URL"] = url
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    yield url
    if old is None:
        os.environ.pop("SHUDI_DATABASE_URL", None)
    else:
        os.environ["SHUDI_DATABASE_URL"] = old
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = database.make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back after the test."""
    with engine.connect() as c:
        tx = c.begin()
        try:
            yield c
        finally:
            tx.rollback()


@pytest.fixture
def mini(conn: Connection) -> dict[str, int]:
    return load_mini(conn)


@pytest.fixture
def scratch_db_url(db_url: str) -> Iterator[str]:
    """A database of the test's own, for commands that commit."""
    with scratch_database(db_url) as url:
        yield url


@pytest.fixture(scope="module")
def module_scratch_db_url(db_url: str) -> Iterator[str]:
    """Like ``scratch_db_url``, shared by the tests of one module."""
    with scratch_database(db_url) as url:
        yield url


@pytest.fixture
def world(conn: Connection, mini: dict) -> dict[str, Principal]:
    catalog.sync_taxonomy(conn)
    people = {}
    for name, spec in USERS.items():
        uid = conn.execute(
            text("""INSERT INTO app_user (username, password_hash, role, agency, agency_unit,
                        town_code, community_code, company)
                    VALUES (:u, :h, :r, :a, :au, :t, :c, :co) RETURNING id"""),
            {
                "u": name,
                "h": HASH,
                "r": spec["role"].value,
                "a": spec.get("agency"),
                "au": spec.get("agency_unit"),
                "t": spec.get("town_code"),
                "c": spec.get("community_code"),
                "co": spec.get("company"),
            },
        ).scalar_one()
        people[name] = Principal(user_id=uid, username=name, **spec)
    return people
