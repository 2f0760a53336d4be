"""Shared test data: a hand-drawn mini district, users of every role, report helpers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from accounts.models import Role
from incidents.intake import Report, submit, using
from jurisdictions import catalog

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
    """Import and activate the mini district in ``conn``'s transaction; generation per layer
    (after the linkage rules, as ``shudi db migrate`` leaves a database)."""
    import geopandas as gpd

    from jurisdictions.catalog import load_reference_data
    from jurisdictions.generations import import_layer

    load_reference_data(conn)
    gens = {}
    for (layer, agency), fc in MINI.items():
        fc = overrides.get(layer, fc)
        gdf = gpd.GeoDataFrame.from_features(fc["features"], crs="EPSG:4326")
        res = import_layer(conn, gdf=gdf, layer=layer, agency=agency, source="mini", activate=True)
        gens[f"{layer}:{agency}" if agency else layer] = res.generation_id
    return gens


PASSWORD = "correct horse battery"
HASH = PasswordHasher().hash(PASSWORD)  # once per session: Argon2 is slow on purpose

USERS: dict[str, dict[str, Any]] = {
    "dispatcher": {"role": Role.dispatcher},
    "police_ps1": {"role": Role.agency_officer, "agency": "public_security", "agency_unit": "PS1"},
    "police_ps2": {"role": Role.agency_officer, "agency": "public_security", "agency_unit": "PS2"},
    "urban": {"role": Role.agency_officer, "agency": "urban_management"},
    "housing": {"role": Role.agency_officer, "agency": "housing_service_center"},
    "town_t1": {"role": Role.town_coordinator, "town_code": "T1"},
    "town_t2": {"role": Role.town_coordinator, "town_code": "T2"},
    "community_c11": {"role": Role.community_worker, "community_code": "C11"},
    "community_c21": {"role": Role.community_worker, "community_code": "C21"},
    "company_jia": {"role": Role.property_company, "company": "甲物业服务有限公司"},
    "company_yi": {"role": Role.property_company, "company": "乙物业有限公司"},
    "planner": {"role": Role.planner},
    "admin": {"role": Role.admin},
}

IN_P111 = (120.002, 30.002)  # T1 / C11 / P111 (甲物业服务有限公司), precinct PS1
IN_P112 = (120.002, 30.012)  # T1 / C11 / P112, no company, no owners' committee
IN_T2 = (120.03, 30.015)  # T2 / C22, precinct PS2


def type_of(conn: Connection, *, evidence: bool = False, **where: str) -> str:
    """The first reportable type with these fields (from the taxonomy, not re-typed); by default
    one that is resolved without before/after photos (``evidence=True``: one that needs them)."""
    rows = [
        r for r in catalog.list_types(conn, reportable=True, **where) if r["evidence"] == evidence
    ]
    assert rows, where
    return str(rows[0]["code"])


def file_report(
    conn: Connection, where: tuple[float, float], type_code: str, **extra: Any
) -> dict[str, Any]:
    _, filed = submit(
        reader=using(conn),
        writer=using(conn),
        keyed=False,
        report=Report(
            lon=where[0],
            lat=where[1],
            type=type_code,
            description="测试",
            phone="13800000000",
            contact_name="张三",
            **extra,
        ),
    )
    return filed.as_json()


@contextmanager
def live_server(
    db_url: str, log: Path | None = None, workers: int = 1, **env: str
) -> Iterator[str]:
    """``shudi serve`` on a free loopback port against ``db_url``; yields its base URL.

    With ``log``, the server's output goes there (and its tail into a start-up failure);
    ``workers`` is passed to ``--workers``.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    # the CLI's module, not the venv's `shudi` script (which may predate the console/ package)
    shudi = [sys.executable, "-m", "console"]
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [*shudi, "serve", "--port", str(port), "--workers", str(workers)],
        env=os.environ | {"SHUDI_DATABASE_URL": db_url} | env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # 30 s: a loaded machine starts a server slowly
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"the server did not start\n{tail}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if log:
            out.close()  # type: ignore[union-attr]


@contextmanager
def app_client(conn: Connection) -> Iterator[TestClient]:
    """The app in-process, every database dependency answered by ``conn`` (the test's
    transaction, rolled back after the test)."""
    from api.app import create_app
    from shudi.database import db_connection, db_reader, reader_factory, writer_factory
    from shudi.read_replica import read_db, read_factory

    app = create_app()
    app.dependency_overrides[db_connection] = lambda: conn
    app.dependency_overrides[db_reader] = lambda: conn
    app.dependency_overrides[read_db] = lambda: conn
    app.dependency_overrides[read_factory] = lambda: lambda: nullcontext(conn)
    app.dependency_overrides[reader_factory] = lambda: lambda: nullcontext(conn)
    app.dependency_overrides[writer_factory] = lambda: lambda: nullcontext(conn)
    with TestClient(app) as c:
        yield c
