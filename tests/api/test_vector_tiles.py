"""Vector tiles (``/tiles/{collection}/{z}/{x}/{y}.mvt``) decoded with mapbox-vector-tile.

Tile numbers are worked by hand with the Web Mercator (XYZ) formulas
    x = (lon + 180) / 360 · 2^z,   y = (1 − asinh(tan φ) / π) / 2 · 2^z
for the mini district of ``tests/support.py`` (lon 120.00–120.04, lat 30.00–30.02):

* zoom 12: (120.00, 30.00) → x 3413.333, y 1689.908; (120.04, 30.02) → x 3413.788,
  y 1689.645: the whole district lies in tile 12/3413/1689; town T1 (lon 120.00–120.02) spans
  0.3333 to 0.5609 of the tile's width (120.02 → x 3413.5609);
* zoom 14: (120.002, 30.002) → x 13653.424, y 6759.527: tile 14/13653/6759, cell (16 per side)
  column ⌊0.424·16⌋ = 6, row ⌊0.527·16⌋ = 8; (120.003, 30.003) → 13653.470, 6759.475 and
  (120.0035, 30.0035) → 13653.493, 6759.448: cell (7, 7); (120.012, 30.002) → 13653.879,
  6759.527: cell (14, 8); IN_T2 (120.03, 30.015) → 13654.699, 6758.844: another tile.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from support import IN_P111, IN_T2, MINI, app_client, file_report, type_of

from accounts.service import issue_token
from jurisdictions import boundary_tiles
from jurisdictions.generations import import_layer

DISTRICT = "/tiles/{c}/12/3413/1689.mvt"
DENSITY = "/tiles/case_density/14/13653/6759.mvt"


@pytest.fixture
def client(conn: Connection, world: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def decode(body: bytes) -> dict[str, Any]:
    return dict(mapbox_vector_tile.decode(body, default_options={"y_coord_down": True}))


def features(body: bytes, layer: str) -> dict[str, dict]:
    """code → feature of one MVT layer."""
    return {f["properties"]["code"]: f for f in decode(body)[layer]["features"]}


def positions(geometry: dict) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []

    def walk(c: Any) -> None:
        if isinstance(c[0], int | float):
            out.append((c[0], c[1]))
        else:
            for part in c:
                walk(part)

    walk(geometry["coordinates"])
    return out


def auth(conn: Connection, who: Any) -> dict[str, str]:
    token, _ = issue_token(conn, principal=who)
    return {"Authorization": f"Bearer {token}"}


def test_town_tile_holds_the_towns_with_public_attributes(client: TestClient) -> None:
    r = client.get(DISTRICT.format(c="town"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    towns = features(r.content, "town")
    assert set(towns) == {"T1", "T2"}
    assert towns["T1"]["properties"] == {"code": "T1", "name": "甲街道"}
    assert towns["T2"]["properties"]["name"] == "乙镇"
    extent = decode(r.content)["town"]["extent"]  # tile units across
    xs = [x / extent for x, _ in positions(towns["T1"]["geometry"])]
    assert min(xs) == pytest.approx(0.3333, abs=0.001) and max(xs) == pytest.approx(
        0.5609, abs=0.001
    )
    for f in towns.values():
        assert all(0 <= x <= extent and 0 <= y <= extent for x, y in positions(f["geometry"]))


def test_other_collections_name_their_parents_and_nothing_else(client: TestClient) -> None:
    communities = features(client.get(DISTRICT.format(c="community")).content, "community")
    assert {c: f["properties"]["parent_code"] for c, f in communities.items()} == {
        "C11": "T1",
        "C12": "T1",
        "C21": "T2",
        "C22": "T2",
    }
    estates = features(client.get(DISTRICT.format(c="property_area")).content, "property_area")
    assert set(estates) == {"P111", "P112", "P121"}
    # the property company and other attributes stay out: code, name, parent only
    assert {k for f in estates.values() for k in f["properties"]} == {"code", "name", "parent_code"}
    police = client.get(DISTRICT.format(c="agency_unit-public_security"))
    units = features(police.content, "agency_unit-public_security")
    assert {c: f["properties"]["name"] for c, f in units.items()} == {
        "PS1": "西派出所",
        "PS2": "东派出所",
    }


def test_tiles_are_sent_gzip_compressed_to_who_takes_it(client: TestClient) -> None:
    path = DISTRICT.format(c="property_area")
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # (httpx unpacks it)
    assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    assert "Accept-Encoding" in packed.headers["vary"]
    for r in (plain, packed):
        again = client.get(
            path,
            headers={
                "Accept-Encoding": r.request.headers["accept-encoding"],
                "If-None-Match": r.headers["etag"],
            },
        )
        assert again.status_code == 304


def test_a_tile_far_away_is_empty(client: TestClient) -> None:
    far = client.get("/tiles/town/12/3200/1600.mvt")
    assert far.status_code == 204 and far.content == b""
    assert decode(far.content) == {}
    # the neighbour east of the district's tile: x 3414 starts at lon 120.0586 > 120.04
    assert client.get("/tiles/town/12/3414/1689.mvt").status_code == 204
    # at zoom 6 (x 3413.3/64 = 53.3, y 1689.9/64 = 26.4) a tile unit is ~150 m: both towns drawn
    assert set(features(client.get("/tiles/town/6/53/26.mvt").content, "town")) == {"T1", "T2"}
    # at zoom 0 a unit is ~10 km: the 4 km district is below one unit, nothing is drawn
    assert client.get("/tiles/town/0/0/0.mvt").status_code == 204


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/tiles/town/23/0/0.mvt", 400, "invalid_tile"),
        ("/tiles/town/a/0/0.mvt", 400, "invalid_tile"),
        ("/tiles/town/3/-1/0.mvt", 400, "invalid_tile"),
        ("/tiles/town/2/4/0.mvt", 404, "tile_out_of_range"),
        ("/tiles/town/2/0/4.mvt", 404, "tile_out_of_range"),
        ("/tiles/roads/1/0/0.mvt", 404, "unknown_collection"),
        ("/tiles/agency_unit-/1/0/0.mvt", 404, "unknown_collection"),
        ("/tiles/agency_unit-urban_management/1/0/0.mvt", 404, "no_active_generation"),
        ("/tiles/town/1/0/0.mvt?generation=999999", 404, "generation_not_found"),
        ("/tiles/case_density/99/0/0.mvt", 401, "not_authenticated"),
    ],
)
def test_bad_addresses(client: TestClient, path: str, status: int, code: str) -> None:
    r = client.get(path)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and r.json()["message"]


def test_basemap_tiles_keep_their_route(client: TestClient) -> None:
    r = client.get("/tiles/basemap/1/0/0.png")  # no package configured: 404, not a collection
    assert r.status_code == 404


def test_activation_changes_the_cache_key(conn: Connection, client: TestClient, mini: dict) -> None:
    path = DISTRICT.format(c="town")
    first = client.get(path)
    etag = first.headers["etag"]
    assert f"g{mini['town']}" in etag
    assert first.headers["cache-control"] == "public, max-age=60"
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""

    renumbered = {
        "type": "FeatureCollection",
        "features": [
            {**f, "properties": {**f["properties"], "code": "N" + f["properties"]["code"]}}
            for f in MINI[("town", "")]["features"]
        ],
    }
    gdf = gpd.GeoDataFrame.from_features(renumbered["features"], crs="EPSG:4326")
    new = import_layer(conn, gdf=gdf, layer="town", source="renumbered", activate=True)
    assert new.generation_id != mini["town"]

    after = client.get(path, headers={"If-None-Match": etag})
    assert after.status_code == 200  # the old ETag no longer matches
    assert after.headers["etag"] != etag and f"g{new.generation_id}" in after.headers["etag"]
    assert set(features(after.content, "town")) == {"NT1", "NT2"}
    # the old generation stays reachable by name, cached for good
    old = client.get(path + f"?generation={mini['town']}")
    assert set(features(old.content, "town")) == {"T1", "T2"}
    assert "immutable" in old.headers["cache-control"]
    # the in-process cache holds both generations under their own keys
    key = boundary_tiles.tile_key(conn, collection="town", z="12", x="3413", y="1689")
    assert key.generation_id == new.generation_id and key.key in boundary_tiles.CACHE
    # a generation of another layer is not this collection's
    wrong = client.get(path + f"?generation={mini['community']}")
    assert wrong.status_code == 404 and wrong.json()["code"] == "generation_not_found"


def _place_cases(conn: Connection) -> None:
    kind = type_of(conn, agency="public_security")
    for where in [IN_P111] * 3 + [(120.003, 30.003), (120.0035, 30.0035), (120.012, 30.002)]:
        file_report(conn, where, kind)
    closed = file_report(conn, IN_P111, kind)["id"]
    conn.execute(text("UPDATE case_file SET status = 'closed' WHERE id = :c"), {"c": closed})
    file_report(conn, IN_T2, kind)


def cells(body: bytes) -> dict[tuple[int, int], int]:
    """(column, row) of each cell (a sixteenth of the tile a side) → its count."""
    out = {}
    layer = decode(body)["case_density"]
    side = layer["extent"] // 16
    for f in layer["features"]:
        pts = positions(f["geometry"])
        col, row = min(x for x, _ in pts) // side, min(y for _, y in pts) // side
        assert max(x for x, _ in pts) - min(x for x, _ in pts) == side
        assert set(f["properties"]) == {"count"}  # nothing about the cases themselves
        out[(int(col), int(row))] = f["properties"]["count"]
    return out


def test_density_counts_the_open_cases_placed(
    conn: Connection, client: TestClient, world: dict
) -> None:
    _place_cases(conn)
    disp = auth(conn, world["dispatcher"])
    r = client.get(DENSITY, headers=disp)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "private, max-age=15"
    assert cells(r.content) == {(6, 8): 3, (7, 7): 2, (14, 8): 1}
    east = client.get("/tiles/case_density/14/13654/6758.mvt", headers=disp)
    assert cells(east.content) == {(11, 13): 1}
    # one zoom out: (120.002, 30.002) → x 6826.712, y 3379.764: cell (11, 12); the two at
    # 6826.735/3379.737 and 6826.746/3379.724: (11, 11); (120.012, 30.002) → 6826.940: (15, 12)
    parent = client.get("/tiles/case_density/13/6826/3379.mvt", headers=disp)
    assert cells(parent.content) == {(11, 12): 3, (11, 11): 2, (15, 12): 1}


def test_density_keeps_to_each_roles_scope(
    conn: Connection, client: TestClient, world: dict
) -> None:
    _place_cases(conn)
    t1 = client.get(DENSITY, headers=auth(conn, world["town_t1"]))
    assert cells(t1.content) == {(6, 8): 3, (7, 7): 2, (14, 8): 1}
    # the community C11 (lon < 120.01) sees the five cases west of 120.01
    c11 = client.get(DENSITY, headers=auth(conn, world["community_c11"]))
    assert cells(c11.content) == {(6, 8): 3, (7, 7): 2}
    t2 = client.get(DENSITY, headers=auth(conn, world["town_t2"]))
    assert t2.status_code == 204 and t2.content == b""
    c21 = client.get(DENSITY, headers=auth(conn, world["community_c21"]))
    assert c21.status_code == 204
    planner = client.get(DENSITY, headers=auth(conn, world["planner"]))
    assert planner.status_code == 403 and planner.json()["code"]
    anonymous = client.get(DENSITY)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated" and anonymous.json()["message"]
