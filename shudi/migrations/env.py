"""Alembic environment: the URL comes from shudi's settings, never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import abuse.models  # noqa: F401  (registers the tables)
import accounts.models  # noqa: F401
import hotspots.models  # noqa: F401
import incidents.models  # noqa: F401
import jurisdictions.models  # noqa: F401
import meetings.models  # noqa: F401
import notify.models  # noqa: F401
import places.models  # noqa: F401
from shudi.database import database_url
from shudi.orm import Base

target_metadata = Base.metadata


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object | None
) -> bool:
    """Compare only Shudi's own tables (not PostGIS's, nor scratch tables of benchmarks)."""
    if type_ == "table" and reflected and compare_to is None:
        return False
    return not (type_ == "table" and name in {"spatial_ref_sys"})


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or database_url(owner=True)
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, include_object=_include
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
