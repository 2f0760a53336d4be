"""What a planner reads (``hotspots.readable`` over real HTTP): the small-sample rule, the cases
inside one cell, the density surface as PNG and GeoTIFF.

Hand-worked data: the 600 planted cases of one type (``hotspot_cases.plant``) and, of a second
type, 5 cases at one point P and 13 on a line far from it — 18 cases, under the minimum of 30
(``SHUDI_HOTSPOT_MIN_CASES`` default), so an analysis of the second type may not conclude, and
P's H3 cell holds exactly the 5 cases planted there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import h3
import httpx
import pytest
from hotspot_cases import CLUSTER, INSERT, plant
from sqlalchemy import create_engine, text
from support import live_server, load_mini, type_of

from accounts.service import create_user
from jurisdictions import catalog

PASSWORD = "correct horse battery"
P = (120.0305, 30.0155)  # lon, lat: town T2, community C22, far from the planted cluster
LINE = [(120.001 + 0.001 * i, 30.002) for i in range(13)]  # town T1, community C11


@pytest.fixture(scope="module")
def site(module_scratch_db_url: str) -> Iterator[tuple[str, dict[str, object]]]:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        many = type_of(conn, agency="urban_management")
        plant(conn, many)
        few = next(
            str(t["code"]) for t in catalog.list_types(conn, reportable=True) if t["code"] != many
        )
        points = [P] * 5 + LINE
        conn.execute(
            INSERT,
            {
                "type": few,
                "party": "urban_management",
                "status": "accepted",
                "xs": [x for x, _ in points],
                "ys": [y for _, y in points],
                "ts": [datetime(2026, 2, 1, tzinfo=UTC)] * len(points),
            },
        )
        at_p = conn.execute(
            text("SELECT id FROM case_file WHERE type_code = :t AND lon = :x AND lat = :y"),
            {"t": few, "x": P[0], "y": P[1]},
        ).scalars()
        facts = {"many": many, "few": few, "at_p": sorted(int(i) for i in at_p)}
        create_user(conn, username="plan", password=PASSWORD, role="planner")
        create_user(
            conn, username="town1", password=PASSWORD, role="town_coordinator", town_code="T1"
        )
    eng.dispose()
    with live_server(module_scratch_db_url) as base:
        yield base, facts


def bearer(base: str, user: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_eighteen_cases_draw_no_conclusion(site: tuple[str, dict[str, object]]) -> None:
    base, facts = site
    auth = bearer(base, "plan")
    for method in ("gi_star", "emerging"):
        r = httpx.get(
            f"{base}/api/v1/hotspots",
            params={"method": method, "grid": "h3:9", "type": facts["few"], "permutations": 99},
            headers=auth,
            timeout=60,
        )
        if r.status_code == 422:  # too few time bins for a trend: no conclusion either
            continue
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["summary"]["points"] == 18
        assert body["summary"]["conclusive"] is False and body["summary"]["min_cases"] == 30
        props = [f["properties"] for f in body["features"]]
        assert props and all(p.get("gi_bin", 0) == 0 for p in props)
        assert all(p.get("category", "no_pattern") == "no_pattern" for p in props)
    # the 600 planted cases are enough: classes stay and no flag is raised
    r = httpx.get(
        f"{base}/api/v1/hotspots",
        params={"method": "gi_star", "grid": "h3:9", "type": facts["many"], "permutations": 99},
        headers=auth,
        timeout=60,
    )
    assert r.status_code == 200 and "conclusive" not in r.json()["summary"]
    assert r.json()["summary"]["hot"] >= 1


def test_a_cell_lists_exactly_its_cases(site: tuple[str, dict[str, object]]) -> None:
    base, facts = site
    cell = h3.latlng_to_cell(P[1], P[0], 9)
    params = {"method": "count", "grid": "h3:9", "type": facts["few"]}
    r = httpx.get(
        f"{base}/api/v1/hotspots/cells/{cell}", params=params, headers=bearer(base, "plan")
    )
    assert r.status_code == 200, r.text
    cases = r.json()["cases"]
    assert sorted(c["id"] for c in cases) == facts["at_p"]
    assert {c["status"] for c in cases} == {"accepted"} and {c["type"] for c in cases} == {
        facts["few"]
    }
    assert all(c["type_name"] != c["type"] for c in cases)  # the Chinese name, not the code
    # the other type's filter: none of the 5 (P is outside the planted cluster's cell)
    other = httpx.get(
        f"{base}/api/v1/hotspots/cells/{cell}",
        params=params | {"type": facts["many"]},
        headers=bearer(base, "plan"),
    )
    assert other.status_code in (200, 422)
    if other.status_code == 200:
        assert not set(c["id"] for c in other.json()["cases"]) & set(facts["at_p"])  # type: ignore[arg-type]
    # a coordinator of T1 cannot list a cell of T2 (P lies in T2)
    denied = httpx.get(
        f"{base}/api/v1/hotspots/cells/{cell}",
        params=params | {"town": "T2"},
        headers=bearer(base, "town1"),
    )
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    own = httpx.get(
        f"{base}/api/v1/hotspots/cells/{cell}", params=params, headers=bearer(base, "town1")
    )
    assert own.status_code == 422 and own.json()["code"] == "not_enough_data"


def test_density_as_geotiff_and_png(site: tuple[str, dict[str, object]]) -> None:
    import rasterio
    from rasterio.warp import transform_bounds

    base, _ = site
    auth = bearer(base, "plan")
    tif = httpx.get(
        f"{base}/api/v1/hotspots/density.tif", params={"size": 64}, headers=auth, timeout=60
    )
    assert tif.status_code == 200 and tif.headers["content-type"] == "image/tiff"
    with rasterio.MemoryFile(tif.content) as memory, memory.open() as ds:
        assert ds.crs.is_projected and (ds.width, ds.height) == (64, 64)
        west, south, east, north = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
        # the mini district spans 120.00–120.04 E, 30.00–30.02 N (tests/support.py)
        assert 119.99 < west < 120.001 and 120.039 < east < 120.05
        assert 29.99 < south < 30.001 and 30.019 < north < 30.03
        values = ds.read(1)
        assert values.min() >= 0
        # the densest pixel lies within 300 m of the planted cluster
        row, col = divmod(int(values.argmax()), ds.width)
        x, y = ds.xy(row, col)
        lon, lat = (v[0] for v in rasterio.warp.transform(ds.crs, "EPSG:4326", [x], [y]))
        assert abs(lon - CLUSTER[0]) < 0.003 and abs(lat - CLUSTER[1]) < 0.003
    png = httpx.get(f"{base}/api/v1/hotspots/density.png", params={"size": 64}, headers=auth)
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    bad = httpx.get(f"{base}/api/v1/hotspots/density.jpg", headers=auth)
    assert bad.status_code in (404, 422)


def test_a_cell_goes_on_its_towns_next_agenda_and_stays(
    site: tuple[str, dict[str, object]], module_scratch_db_url: str
) -> None:
    from meetings.service import prepare

    base, facts = site
    cell = h3.latlng_to_cell(P[1], P[0], 9)
    url = f"{base}/api/v1/hotspots/cells/{cell}/agenda"
    params = {"method": "count", "grid": "h3:9", "type": facts["few"]}
    first = httpx.post(url, params=params, headers=bearer(base, "plan"), timeout=60)
    assert first.status_code == 201, first.text
    again = httpx.post(url, params=params, headers=bearer(base, "plan"), timeout=60)
    assert again.json()["already"] is True and again.json()["item_id"] == first.json()["item_id"]
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        town = conn.execute(
            text("SELECT town_code FROM meeting WHERE id = :m"), {"m": first.json()["meeting_id"]}
        ).scalar()
        assert town == "T2"  # P lies in T2
        # the coordinator refreshes the draft agenda: the proposed item stays, once
        prepare(conn, town="T2", month=None, principal=None)
        items = conn.execute(
            text("SELECT kind, title, case_ids, position FROM meeting_item WHERE meeting_id = :m"),
            {"m": first.json()["meeting_id"]},
        ).all()
    eng.dispose()
    proposed = [i for i in items if i.kind == "hotspot" and "（5 件）" in i.title]
    assert len(proposed) == 1 and sorted(proposed[0].case_ids) == facts["at_p"]
    assert len({i.position for i in items}) == len(items)
