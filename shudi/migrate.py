"""Run the Alembic migrations shipped inside the package."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and at ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``."""
    command.upgrade(alembic_config(url), revision)


@contextmanager
def scratch_database(
    url: str, *, prefix: str = "shudi_scratch", template: str | None = None
) -> Iterator[str]:
    """A fresh database beside ``url``'s (same server), migrated to head, dropped afterwards
    (for tests and benchmarks whose work commits).

    With ``template`` (the name of a database on that server already at head, to which nobody
    is connected), the database is a copy of it (``CREATE DATABASE ... TEMPLATE``): a second
    rather than running every migration again."""
    import psycopg2
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    params = {
        "dbname": "postgres",
        "user": parsed.username,
        "password": parsed.password,
        "host": parsed.query.get("host", parsed.host),
        "port": parsed.query.get("port", parsed.port),
    }
    admin = psycopg2.connect(**{k: v for k, v in params.items() if v is not None})
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            copy = f' TEMPLATE "{template}"' if template else ""
            cur.execute(f'CREATE DATABASE "{name}"{copy}')
            if template:  # a copy does not take the template's grants on the database itself
                cur.execute(
                    """SELECT DISTINCT a.privilege_type, r.rolname
                       FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a
                       JOIN pg_roles r ON r.oid = a.grantee
                       WHERE d.datname = %s AND a.grantee <> d.datdba""",
                    (template,),
                )
                for privilege, role in cur.fetchall():
                    cur.execute(f'GRANT {privilege} ON DATABASE "{name}" TO "{role}"')
        scratch = parsed.set(database=name).render_as_string(hide_password=False)
        try:
            if template is None:
                upgrade(scratch)
            yield scratch
        finally:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def migration_state(conn: Connection) -> tuple[set[str], set[str]]:
    """The revisions the database at ``conn`` is at, and the heads of the packaged migrations."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    current = set(MigrationContext.configure(conn).get_current_heads())
    heads = set(ScriptDirectory.from_config(alembic_config("postgresql://")).get_heads())
    return current, heads
