"""The embedded cluster trusts no local user, and the app connects as ``shudi_app``, which
cannot alter the audit log — as in Docker (issue 19)."""

from __future__ import annotations

import stat
from collections.abc import Iterator

import psycopg2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from reliability import crash
from shudi import database, embedded, settings
from shudi.migrate import upgrade

# the shudi_app role is the whole cluster's: one such module at a time (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("app_role_lock")


def _test_cluster(db_url: str) -> embedded.Cluster:
    """The embedded cluster holding the suite's database (``shudi_test``, or an xdist
    worker's ``shudi_test_gw0``...)."""
    s = settings.Settings()
    return embedded.Cluster(root=s.pg_dir, db_name=str(make_url(db_url).database))


@pytest.fixture
def cluster(db_url: str) -> embedded.Cluster:
    if "@/" not in db_url or "host=" not in db_url:  # an external server: not ours to check
        pytest.skip("the suite runs against SHUDI_DATABASE_URL, not the embedded cluster")
    return _test_cluster(db_url)


def test_no_connection_without_the_password(cluster: embedded.Cluster) -> None:
    for user in ("postgres", "shudi_app"):
        with pytest.raises(psycopg2.OperationalError, match="password"):
            psycopg2.connect(
                dbname=cluster.db_name, user=user, host=str(cluster.socket_dir), port=cluster.port
            ).close()
        with pytest.raises(psycopg2.OperationalError, match="password"):
            psycopg2.connect(
                dbname=cluster.db_name, user=user, host="127.0.0.1", port=cluster.port
            ).close()
    secret = cluster.secrets_dir / "postgres"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(cluster.secrets_dir.stat().st_mode) == 0o700


def test_the_app_connects_as_shudi_app_and_cannot_alter_the_audit_log(
    cluster: embedded.Cluster,
) -> None:
    assert embedded.set_app_password(cluster)  # what `shudi db migrate` does
    app = database.database_url(settings.Settings(database_url=None, db_name=cluster.db_name))
    assert make_url(app).username == "shudi_app"
    owner = database.database_url(
        settings.Settings(database_url=None, db_name=cluster.db_name), owner=True
    )
    assert make_url(owner).username == "postgres"
    eng = create_engine(app)
    try:
        with eng.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == "shudi_app"
            superuser = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            assert conn.execute(text(superuser)).scalar() is False
            conn.rollback()
        for sql in ("DELETE FROM audit_log", "UPDATE audit_log SET actor = 'x'"):
            with pytest.raises(ProgrammingError, match="permission denied"), eng.begin() as conn:
                conn.execute(text(sql))
    finally:
        eng.dispose()


@pytest.fixture
def old_cluster() -> Iterator[embedded.Cluster]:
    with crash.own_cluster("shudi-hba-", "shudi_hba") as cl:
        yield cl


def test_a_trusting_cluster_is_switched_to_passwords(old_cluster: embedded.Cluster) -> None:
    # as an earlier version left it: every local user trusted
    hba = old_cluster.data_dir / "pg_hba.conf"
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    embedded.stop(old_cluster)
    embedded.start(old_cluster)
    assert hba.read_text().startswith(embedded.HBA_MARKER)
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(
            dbname="postgres",
            user="postgres",
            host=str(old_cluster.socket_dir),
            port=old_cluster.port,
        ).close()
    upgrade(old_cluster.url())  # the owner, with its password, still migrates
    assert embedded.set_app_password(old_cluster)
    eng = create_engine(old_cluster.app_url())
    with eng.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == "shudi_app"
    eng.dispose()
