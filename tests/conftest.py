"""Test fixtures: a real PostGIS database (embedded cluster or SHUDI_DATABASE_URL's server).

Tests run in a database of their own (``<name>_test``), migrated once per session; each test
gets a connection inside a transaction that is rolled back at its end. Scratch databases (for
work that commits) are copies of a template migrated once per session (``<name>_test_tpl``).
Under pytest-xdist (``make test`` runs two workers) each worker has its own databases
(``<name>_test_gw0``...).
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


def _worker_suffix() -> str:
    """``_gw0``, ``_gw1``... in a pytest-xdist worker, else nothing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"_{worker}" if worker else ""


def _admin(url: str) -> psycopg2.extensions.connection:
    """An autocommit connection to the ``postgres`` database of ``url``'s server."""
    parsed = make_url(url)
    params = {
        "dbname": "postgres",
        "user": parsed.username,
        "password": parsed.password,
        "host": parsed.query.get("host", parsed.host),
        "port": parsed.query.get("port", parsed.port),
    }
    admin = psycopg2.connect(**{k: v for k, v in params.items() if v is not None})
    admin.autocommit = True
    return admin


def _test_url() -> str:
    s = settings.Settings()
    if s.database_url:
        url = make_url(database.database_url(s))
        name = f"{url.database}_test{_worker_suffix()}"
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
    cluster = embedded.Cluster(root=s.pg_dir, db_name=f"{s.db_name}_test{_worker_suffix()}")
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


@pytest.fixture(scope="session")
def template_db(db_url: str) -> Iterator[str]:
    """The name of a database migrated to head once per session, which nobody connects to: the
    scratch databases are copies of it (``CREATE DATABASE ... TEMPLATE``), not migrated anew."""
    name = f"{make_url(db_url).database}_tpl"
    admin = _admin(db_url)
    try:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
        upgrade(make_url(db_url).set(database=name).render_as_string(hide_password=False))
        yield name
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@pytest.fixture
def scratch_db_url(db_url: str, template_db: str) -> Iterator[str]:
    """A database of the test's own, for commands that commit."""
    with scratch_database(db_url, template=template_db) as url:
        yield url


@pytest.fixture(scope="module")
def module_scratch_db_url(db_url: str, template_db: str) -> Iterator[str]:
    """Like ``scratch_db_url``, shared by the tests of one module."""
    with scratch_database(db_url, template=template_db) as url:
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


# --- Two workers (pytest-xdist, `make test`: `-n 2 --dist loadgroup`) ----------------------
#
# A module's tests run on one worker, so its module-scoped databases and servers are made once;
# modules that share something cluster-wide are one group. The slowest modules are handed out
# first, so that neither worker is left with a long one at the end.

#: Modules that change the cluster-wide ``shudi_app`` role's password (and connect with it).
SAME_WORKER = {
    "tests/audit/test_audit.py": "app-role",
    "tests/test_embedded_auth.py": "app-role",
}
#: Modules of a minute or more (measured with --durations), longest first.
SLOW_FIRST = [
    "tests/reliability/test_restore_drill.py",
    "tests/reliability/test_replica.py",
    "tests/reliability/test_outbox_kill9.py",
    "tests/reliability/test_workers.py",
    "tests/reliability/test_kill9.py",
    "tests/webmap/test_workbench.py",
    "tests/webmap/test_pages.py",
    "tests/webmap/test_resident_flow.py",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # one process: collection order, no groups
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if not any(m.name == "xdist_group" for m in item.iter_markers()):
            item.add_marker(pytest.mark.xdist_group(SAME_WORKER.get(module, module)))
    rank = {m: i for i, m in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
