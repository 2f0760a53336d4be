"""``GET /api/v1/hotspots`` over real HTTP: roles, the answer's shape, errors, PNG, cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd
import pytest
from hotspot_cases import plant
from sqlalchemy import create_engine
from support import live_server, load_mini, type_of

from accounts.service import create_user
from jurisdictions import catalog

PASSWORD = "correct horse battery"
URL = "/api/v1/hotspots"


@pytest.fixture(scope="module")
def server(module_scratch_db_url: str) -> Iterator[str]:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        plant(conn, type_of(conn, agency="urban_management"))
        create_user(conn, username="plan", password=PASSWORD, role="planner")
        create_user(
            conn, username="town2", password=PASSWORD, role="town_coordinator", town_code="T2"
        )
        create_user(
            conn, username="cop", password=PASSWORD, role="agency_officer", agency="public_security"
        )
    eng.dispose()
    with live_server(module_scratch_db_url) as base:
        yield base


def bearer(base: str, user: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_planners_only(server: str) -> None:
    anonymous = httpx.get(f"{server}{URL}")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    officer = httpx.get(f"{server}{URL}", headers=bearer(server, "cop"))
    assert officer.status_code == 403 and officer.json()["code"] == "forbidden"


def test_gi_star_geojson_with_parameters_echoed_and_cached(server: str) -> None:
    auth = bearer(server, "plan")
    params = {"method": "gi_star", "grid": "h3:9", "permutations": "99"}
    first = httpx.get(f"{server}{URL}", params=params, headers=auth, timeout=60)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("application/geo+json")
    assert first.headers["x-hotspot-cache"] == "miss"
    body = first.json()
    assert body["parameters"]["permutations"] == 99 and body["parameters"]["fdr"] is True
    assert body["summary"]["hot"] >= 1
    assert "tracking_code" not in first.text and "13800000000" not in first.text
    again = httpx.get(f"{server}{URL}", params=params, headers=auth, timeout=60)
    assert again.headers["x-hotspot-cache"] == "hit" and again.content == first.content


def test_density_png_with_bounds(server: str) -> None:
    r = httpx.get(
        f"{server}{URL}",
        params={"method": "kde", "format": "png", "size": 64},
        headers=bearer(server, "plan"),
        timeout=60,
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    west, south, east, north = (float(v) for v in r.headers["x-hotspot-bounds"].split(","))
    assert 119.99 < west < east < 120.05 and 29.99 < south < north < 30.03
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"grid": "h3:12"}, "H3 resolution"),
        ({"grid": "hex"}, "grid must be"),
        ({"method": "gi_star", "format": "png"}, "only for method=kde"),
        ({"status": "lost"}, "unknown status"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "before"),
        ({"method": "gi_star", "grid": "town"}, "needs at least"),
    ],
)
def test_bad_parameters_are_clear_errors(
    server: str, params: dict[str, str], fragment: str
) -> None:
    r = httpx.get(f"{server}{URL}", params=params, headers=bearer(server, "plan"), timeout=60)
    assert r.status_code == 422, r.text
    assert r.json()["code"] in {"invalid_request", "not_enough_data"}
    assert fragment in r.json()["message"]


def test_exports_as_geojson_geopackage_and_csv(server: str, tmp_path: Path) -> None:
    auth = bearer(server, "plan")
    params = {"method": "count", "grid": "community"}
    files = {}
    for kind in ("geojson", "gpkg", "csv"):
        r = httpx.get(f"{server}{URL}.{kind}", params=params, headers=auth, timeout=60)
        assert r.status_code == 200, r.text
        assert f'filename="hotspots-count-community.{kind}"' in r.headers["content-disposition"]
        files[kind] = tmp_path / f"out.{kind}"
        files[kind].write_bytes(r.content)
    from_json = gpd.read_file(files["geojson"])
    from_gpkg = gpd.read_file(files["gpkg"], layer="hotspots")
    assert sorted(from_gpkg["cell"]) == sorted(from_json["cell"]) == ["C11", "C12", "C21", "C22"]
    assert from_gpkg.crs.to_epsg() == 4326
    table = pd.read_csv(files["csv"], encoding="utf-8-sig")
    assert set(table.columns) >= {"cell", "name", "count", "lon", "lat"}
    assert table["count"].sum() == 600 and "甲二社区" in set(table["name"])
    assert table["lon"].between(120.0, 120.04).all() and table["lat"].between(30.0, 30.02).all()
    density = httpx.get(f"{server}{URL}.csv", params={"method": "kde"}, headers=auth, timeout=60)
    assert density.status_code == 422 and "density" in density.json()["message"]


def test_a_town_coordinator_analyses_its_own_town_only(server: str) -> None:
    auth = bearer(server, "town2")
    own = httpx.get(
        f"{server}{URL}", params={"method": "count", "grid": "community"}, headers=auth, timeout=60
    )
    assert own.status_code == 200, own.text
    assert own.json()["parameters"]["town"] == "T2"
    assert {f["id"] for f in own.json()["features"]} <= {"C21", "C22"}
    other = httpx.get(f"{server}{URL}", params={"method": "count", "town": "T1"}, headers=auth)
    assert other.status_code == 403 and other.json()["code"] == "forbidden"
