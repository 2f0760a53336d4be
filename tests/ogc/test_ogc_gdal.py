"""GDAL's OAPIF driver — what QGIS uses — reads every collection of a real server.

``shudi serve`` on a free port against a database of the module's own holding the sample
district (its boundaries and gazetteer, as ``shudi demo`` loads them) and a report at each of
the sample's landmarks; ``pyogrio`` (GDAL 3.12 with OAPIF) lists the collections and reads each
one. The expected features come from direct SQL on the tables; the expected scope of a town
coordinator from the landmarks' hand-written expectations (``landmarks.json``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import pyogrio
import pytest
import shapely
from sqlalchemy import Connection, create_engine, text
from support import HASH, file_report, live_server, type_of

from accounts.models import Role
from accounts.service import Principal, issue_token
from console.demo import load_sample_district
from jurisdictions.generations import import_layer, load_layer

LANDMARKS = Path(__file__).parents[2] / "data/boundaries/sample/landmarks.json"
TOWN = "330106001"
GK = "EPSG:4549"  # CGCS2000 / 3-degree Gauss-Kruger CM 120E: the sample lies at 120.1–120.3°E
PERSONAL = {"description", "phone", "contact_name", "email", "reporter", "address", "address_text"}

STORED = {
    "boundary": """SELECT b.id, b.code, ST_AsBinary(b.geom) AS wkb FROM boundary b
                   JOIN generation_period p ON p.generation_id = b.generation_id
                   WHERE p.valid_to IS NULL AND b.layer = :layer AND b.agency = :agency""",
    "places": """SELECT id, code, ST_AsBinary(geom) AS wkb FROM place
                 WHERE dataset IS NOT NULL AND GeometryType(geom) = 'POINT'""",
    "roads": """SELECT id, code, ST_AsBinary(geom) AS wkb FROM place
                WHERE dataset IS NOT NULL AND GeometryType(geom) <> 'POINT'""",
}


def _user(conn: Connection, name: str, role: Role, **scope: str) -> str:
    uid = conn.execute(
        text("""INSERT INTO app_user (username, password_hash, role, town_code)
                VALUES (:u, :h, :r, :t) RETURNING id"""),
        {"u": name, "h": HASH, "r": role.value, "t": scope.get("town_code")},
    ).scalar_one()
    principal = Principal(user_id=uid, username=name, role=role, **scope)
    return issue_token(conn, principal=principal)[0]


@pytest.fixture(scope="module")
def site(module_scratch_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    engine = create_engine(module_scratch_db_url)
    landmarks = json.loads(LANDMARKS.read_text())
    with engine.begin() as conn:
        load_sample_district(conn, note=lambda _m: None)
        kind = type_of(conn, agency="urban_management")
        towns = {}
        for mark in landmarks.values():
            if mark.get("expect", {}).get("town"):
                case = file_report(conn, (mark["lon"], mark["lat"]), kind)
                towns[case["id"]] = mark["expect"]["town"]
        tokens = {
            "town": _user(conn, "ogc-town", Role.town_coordinator, town_code=TOWN),
            "planner": _user(conn, "ogc-planner", Role.planner),
        }
    log = tmp_path_factory.mktemp("ogc") / "server.log"
    with live_server(module_scratch_db_url, log=log) as base, engine.connect() as conn:
        yield base, conn, towns, tokens
    engine.dispose()


@pytest.fixture(autouse=True)
def as_a_desktop_client(site: Any) -> Iterator[None]:
    """GDAL as QGIS runs it: without the process-wide options with which ``gis.io`` keeps
    boundary imports (the sample's, above, in this process) off the network."""
    offline = (
        "GDAL_HTTP_PROXY",
        "GDAL_HTTPS_PROXY",
        "GDAL_HTTP_CONNECTTIMEOUT",
        "GDAL_HTTP_TIMEOUT",
        "GDAL_HTTP_MAX_RETRY",
    )
    pyogrio.set_gdal_config_options(dict.fromkeys(offline))
    yield


def stored(conn: Connection, kind: str, **params: str) -> gpd.GeoDataFrame:
    rows = conn.execute(text(STORED[kind]), params).all()
    return gpd.GeoDataFrame(
        {"id": [r.id for r in rows], "code": [r.code for r in rows]},
        geometry=[shapely.from_wkb(bytes(r.wkb)) for r in rows],
        crs="EPSG:4326",
    ).set_index("id")


def expected_collections(conn: Connection) -> list[str]:
    keys = conn.execute(text("SELECT DISTINCT layer, agency FROM boundary_generation")).all()
    ids = [f"agency_unit-{a}" if a else layer for layer, a in keys]
    return sorted([*ids, "places", "roads"])


def assert_same_features(read: gpd.GeoDataFrame, want: gpd.GeoDataFrame, name: str) -> None:
    """Same ids, same codes, and every geometry within 1 cm (compared in EPSG:4549)."""
    assert len(read) == len(want), name
    assert sorted(read.index) == sorted(want.index), name
    assert (read.loc[want.index, "code"] == want["code"]).all(), name
    got = read.to_crs(GK).loc[want.index].geometry
    exp = want.to_crs(GK).geometry
    gaps = got.hausdorff_distance(exp, align=True)
    assert float(gaps.max()) < 0.01, f"{name}: {float(gaps.max())} m"


def test_oapif_lists_and_reads_every_public_collection(site: Any) -> None:
    base, conn, _towns, _tokens = site
    url = f"OAPIF:{base}/ogc"
    assert "OAPIF" in pyogrio.list_drivers()
    listed = pyogrio.list_layers(url)
    names = [str(n) for n, _ in listed]
    assert sorted(names) == expected_collections(conn)  # no cases for the anonymous
    for name in names:
        read = pyogrio.read_dataframe(url, layer=name, fid_as_index=True)
        assert read.crs.to_string() in ("OGC:CRS84", "EPSG:4326"), name
        if name in ("places", "roads"):
            want = stored(conn, name)
        else:
            layer, _, agency = name.partition("-")
            want = stored(conn, "boundary", layer=layer, agency=agency)
        assert len(want) > 0, name
        assert_same_features(read, want, name)


def test_oapif_reads_in_the_gauss_kruger_zone(site: Any) -> None:
    base, conn, _towns, _tokens = site
    read = pyogrio.read_dataframe(f"OAPIF:{base}/ogc", layer="community", CRS=GK, fid_as_index=True)
    assert read.crs.to_epsg() == 4549
    want = stored(conn, "boundary", layer="community", agency="")
    read = read.set_crs(GK, allow_override=True)
    assert_same_features(read, want, "community in EPSG:4549")


def test_oapif_reads_a_staff_users_cases_only(site: Any) -> None:
    base, conn, towns, tokens = site
    url = f"OAPIF:{base}/ogc"
    assert towns and set(towns.values()) - {TOWN}, "landmarks in more than one town"
    pyogrio.set_gdal_config_options(
        {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": tokens["town"]}
    )
    try:
        assert "cases" in [str(n) for n, _ in pyogrio.list_layers(url)]
        read = pyogrio.read_dataframe(url, layer="cases", fid_as_index=True)
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})
    mine = {case for case, town in towns.items() if town == TOWN}
    assert set(read.index) == mine
    assert set(read["town"]) == {TOWN}
    assert not PERSONAL & set(read.columns)
    rows = conn.execute(
        text("SELECT id, ST_AsBinary(geom) AS wkb FROM case_file WHERE id = ANY(:ids)"),
        {"ids": sorted(mine)},
    ).all()
    want = gpd.GeoSeries(
        [shapely.from_wkb(bytes(r.wkb)) for r in rows], index=[r.id for r in rows], crs=4326
    )
    gaps = read.geometry.to_crs(GK).distance(want.to_crs(GK), align=True)
    assert float(gaps.max()) < 0.01


def test_cases_refused_to_the_anonymous_and_to_roles_without_cases(site: Any) -> None:
    base, _conn, _towns, tokens = site
    with pytest.raises(pyogrio.errors.DataLayerError):
        pyogrio.read_dataframe(f"OAPIF:{base}/ogc", layer="cases")
    for headers, status, code in (
        ({}, 401, "not_authenticated"),
        ({"Authorization": "Bearer not-a-token"}, 401, "not_authenticated"),
        ({"Authorization": f"Bearer {tokens['planner']}"}, 403, "forbidden"),
    ):
        r = httpx.get(f"{base}/ogc/collections/cases/items", headers=headers)
        assert r.status_code == status
        assert r.headers["content-type"] == "application/json"
        assert r.json()["code"] == code and r.json()["message"]


def test_oapif_reads_an_old_generation(site: Any, module_scratch_db_url: str) -> None:
    """A new town generation is activated; GDAL opened on the collection with
    ``?generation=<old>`` (it repeats the URL's query on every request) reads the old one."""
    base, conn, _towns, _tokens = site
    engine = create_engine(module_scratch_db_url)
    with engine.begin() as tx:
        old = tx.execute(
            text("""SELECT generation_id FROM generation_period
                    WHERE layer = 'town' AND valid_to IS NULL""")
        ).scalar_one()
        towns = load_layer(tx, layer="town")
        renamed = towns.assign(name=towns["name"] + "（新）")
        import_layer(tx, gdf=renamed, layer="town", source="ogc-test", activate=True)
    engine.dispose()
    url = f"OAPIF:{base}/ogc"
    now = pyogrio.read_dataframe(url, layer="town")
    assert now["name"].str.endswith("（新）").all() and len(now) == len(towns)
    then = pyogrio.read_dataframe(f"OAPIF:{base}/ogc/collections/town?generation={old}")
    assert sorted(then["name"]) == sorted(towns["name"])
    assert set(then["generation"]) == {old}
    want = stored(conn, "boundary", layer="town", agency="")  # now the new generation
    assert sorted(then["code"]) == sorted(want["code"])
