"""Test fixtures: a real PostGIS database (embedded cluster or SHUDI_DATABASE_URL's server).

Tests run in a database of their own (``<name>_test``), migrated once per session; each test
gets a connection inside a transaction that is rolled back at its end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg2
import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from shudi import database, embedded, settings
from shudi.migrate import upgrade


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


# --- A hand-drawn mini district around lon 120.00–120.04, lat 30.00–30.02 -------------------
#
#   T1 甲街道 (120.00–120.02) = C11 (x < 120.01, with a hole) + C12 (x > 120.01)
#   T2 乙镇 (120.02–120.04)   = C21 (y < 30.01, plus the exclave filling T1's hole) + C22
#   (120.02, 30.01) is a triple point of C12, C21 and C22; police PS1 | PS2 split at x=120.015.


def box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


HOLE = box(120.005, 30.005, 120.007, 30.007)


def feature(code: str, name: str, rings: list, **props: object) -> dict:
    polys = rings if isinstance(rings[0][0][0], list) else [rings]
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **props},
        "geometry": {"type": "MultiPolygon", "coordinates": polys},
    }


def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


MINI = {
    ("town", ""): collection(
        feature("T1", "甲街道", [box(120.00, 30.00, 120.02, 30.02), HOLE], kind="subdistrict"),
        feature("T2", "乙镇", [[box(120.02, 30.00, 120.04, 30.02)], [HOLE]], kind="town"),
    ),
    ("community", ""): collection(
        feature("C11", "甲一社区", [box(120.00, 30.00, 120.01, 30.02), HOLE], parent_code="T1"),
        feature(
            "C12",
            "甲二社区",
            [
                [
                    [120.01, 30.00],
                    [120.02, 30.00],
                    [120.02, 30.01],
                    [120.02, 30.02],
                    [120.01, 30.02],
                    [120.01, 30.00],
                ]
            ],
            parent_code="T1",
        ),
        feature("C21", "乙一社区", [[box(120.02, 30.00, 120.04, 30.01)], [HOLE]], parent_code="T2"),
        feature("C22", "乙二社区", [box(120.02, 30.01, 120.04, 30.02)], parent_code="T2"),
    ),
    ("property_area", ""): collection(
        feature(
            "P111",
            "金桂苑",
            [box(120.001, 30.001, 120.004, 30.004)],
            parent_code="C11",
            property_company="甲物业服务有限公司",
            owners_committee=True,
        ),
        feature(
            "P112",
            "老街小区",
            [box(120.001, 30.010, 120.004, 30.015)],
            parent_code="C11",
            property_company="",
            owners_committee=False,
        ),
        feature(
            "P121",
            "锦绣花园",
            [box(120.011, 30.001, 120.019, 30.009), box(120.014, 30.004, 120.016, 30.006)],
            parent_code="C12",
            property_company="乙物业有限公司",
            owners_committee=True,
        ),
    ),
    ("agency_unit", "public_security"): collection(
        feature("PS1", "西派出所", [box(120.00, 30.00, 120.015, 30.02)]),
        feature("PS2", "东派出所", [box(120.015, 30.00, 120.04, 30.02)]),
    ),
}


def load_mini(conn: Connection, **overrides: dict) -> dict[str, int]:
    """Import and activate the mini district in ``conn``'s transaction; generation per layer."""
    import geopandas as gpd

    from jurisdictions.generations import import_layer

    gens = {}
    for (layer, agency), fc in MINI.items():
        fc = overrides.get(layer, fc)
        gdf = gpd.GeoDataFrame.from_features(fc["features"], crs="EPSG:4326")
        res = import_layer(conn, gdf=gdf, layer=layer, agency=agency, source="mini", activate=True)
        gens[f"{layer}:{agency}" if agency else layer] = res.generation_id
    return gens


@pytest.fixture
def mini(conn: Connection) -> dict[str, int]:
    return load_mini(conn)


@pytest.fixture
def scratch_db_url(db_url: str) -> Iterator[str]:
    """A fresh, migrated database of its own, dropped afterwards (for committing commands)."""
    import uuid

    url = make_url(db_url)
    name = f"shudi_scratch_{uuid.uuid4().hex[:8]}"
    params = {
        "dbname": "postgres",
        "user": url.username,
        "password": url.password,
        "host": url.query.get("host", url.host),
        "port": url.query.get("port", url.port),
    }
    admin = psycopg2.connect(**{k: v for k, v in params.items() if v is not None})
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    scratch = url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(scratch)
        yield scratch
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
