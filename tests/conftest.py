"""Test fixtures: a real PostGIS database (embedded cluster or SHUDI_DATABASE_URL's server).

Tests run in a database of their own (``<name>_test``), migrated once per session; each test
gets a connection inside a transaction that is rolled back at its end. Scratch databases (for
work that commits) are copies of a template migrated once per session (``<name>_test_tpl``).
Under pytest-xdist (``make test`` runs two workers) each worker has its own databases
(``<name>_test_gw0``...).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

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


# --- Two workers (pytest-xdist; `make test`: `-n 2 --dist loadscope --no-loadscope-reorder`) ----
#
# loadscope keeps a module's tests on one worker, so its module-scoped databases and servers are
# made once. The slowest modules are handed out first, so that neither worker is left with a long
# one at the end. (pytest 9 ignores the node-id suffix that xdist's loadgroup relies on.)

#: The longest modules (the cluster-making reliability tests and the biggest browser modules).
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
        return  # one process: collection order
    rank = {m: i for i, m in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


#: Modules whose assertions race the clock (a replica's lag bound, a kill -9 landing mid-burst,
#: servers of several processes, a restore to a moment) or see the other worker's transactions
#: (transaction ids and snapshots are the cluster's, not a database's): under xdist each runs
#: alone, the other worker waiting between two of its tests, as they would run in one process.
ALONE = {
    "tests/audit/test_audit_request.py",  # seals rows older than every running transaction
    "tests/incidents/test_live_stream.py",  # its cursors stop at the oldest running transaction
    "tests/reliability/test_restore_drill.py",
    "tests/reliability/test_replica.py",
    "tests/reliability/test_outbox_kill9.py",
    "tests/reliability/test_workers.py",
    "tests/reliability/test_kill9.py",
}


def _run_lock(name: str) -> Path:
    """A lock file of this xdist run's own."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "solo")
    return Path(tempfile.gettempdir()) / f"shudi-tests-{run}-{name}.lock"


@pytest.fixture(scope="module", autouse=True)
def _alone(request: pytest.FixtureRequest) -> Iterator[None]:
    """An ALONE module holds the run's lock exclusively (the turnstile first, so that the
    other worker's next test waits behind it rather than overtaking it)."""
    module = request.node.nodeid.split("::", 1)[0]
    if not os.environ.get("PYTEST_XDIST_WORKER") or module not in ALONE:
        yield
        return
    with _run_lock("turnstile").open("w") as gate, _run_lock("alone").open("w") as lock:
        fcntl.flock(gate, fcntl.LOCK_EX)
        fcntl.flock(lock, fcntl.LOCK_EX)
        fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _not_beside_alone(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every other test shares the run's lock: it waits while an ALONE module runs."""
    module = request.node.nodeid.split("::", 1)[0]
    if not os.environ.get("PYTEST_XDIST_WORKER") or module in ALONE:
        yield
        return
    with _run_lock("turnstile").open("w") as gate, _run_lock("alone").open("w") as lock:
        fcntl.flock(gate, fcntl.LOCK_EX)
        fcntl.flock(gate, fcntl.LOCK_UN)
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def app_role_lock(db_url: str) -> Iterator[None]:
    """Held by the modules that set the cluster-wide ``shudi_app`` role's password and connect
    with it, so that two xdist workers never do both at once."""
    url = make_url(db_url)
    server = f"{url.query.get('host', url.host)}:{url.query.get('port', url.port)}"
    key = hashlib.sha1(server.encode()).hexdigest()[:12]
    with (Path(tempfile.gettempdir()) / f"shudi-app-role-{key}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
