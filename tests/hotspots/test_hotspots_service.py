"""The hot-spot service on real PostGIS: extraction with filters, the answer, privacy, cache."""

from __future__ import annotations

import io
from typing import Any

import h3
import orjson
import pytest
from hotspot_cases import CLUSTER, plant
from PIL import Image
from sqlalchemy import Connection, text
from support import type_of

from hotspots import service
from hotspots.exceptions import NotEnoughData
from hotspots.schemas import HotspotQuery


@pytest.fixture
def planted(conn: Connection, world: dict) -> str:
    code = type_of(conn, agency="urban_management")
    plant(conn, code)
    return code


def _ask(conn: Connection, min_count: int = 3, **params: Any) -> dict[str, Any]:
    out = service.hotspots(conn, query=HotspotQuery.model_validate(params), min_count=min_count)
    return dict(orjson.loads(out.answer.body))


def test_gi_star_on_h3_finds_the_planted_cluster(conn: Connection, planted: str) -> None:
    body = _ask(conn, method="gi_star", grid="h3:9", permutations=199)
    assert body["type"] == "FeatureCollection"
    assert body["parameters"]["method"] == "gi_star" and body["parameters"]["grid"] == "h3:9"
    assert body["parameters"]["neighbourhood"] == "H3 grid_disk k=1"
    assert body["summary"]["points"] == 600
    by_cell = {f["id"]: f["properties"] for f in body["features"]}
    centre = h3.latlng_to_cell(CLUSTER[1], CLUSTER[0], 9)
    assert by_cell[centre]["gi_bin"] == 3
    # empty cells of the district are analysed too (study area = the active towns)
    assert any(p["count"] == 0 for p in by_cell.values())
    # aggregated only: nothing but cell statistics in the answer
    keys = set().union(*(p.keys() for p in by_cell.values()))
    assert keys <= {
        "cell",
        "count",
        "suppressed",
        "area_km2",
        "per_km2",
        "gi_z",
        "gi_p",
        "gi_p_sim",
        "gi_bin",
    }


def test_small_cells_are_withheld(conn: Connection, planted: str) -> None:
    body = _ask(conn, min_count=5, method="count", grid="h3:10")
    small = [f["properties"] for f in body["features"] if f["properties"]["suppressed"]]
    assert small and all(p["count"] is None and p["per_km2"] is None for p in small)
    shown = [
        f["properties"]["count"] for f in body["features"] if not f["properties"]["suppressed"]
    ]
    assert min(shown) >= 5
    assert all(f["properties"]["count"] != 0 for f in body["features"])  # empty cells left out
    assert body["summary"]["suppressed"] == len(small)


def test_filters_narrow_the_points(conn: Connection, planted: str) -> None:
    other = type_of(conn, agency="public_security")
    plant(conn, other, background=50, cluster=0, seed=9, party="public_security", status="reported")
    assert _ask(conn, method="count", grid="town")["summary"]["points"] == 650
    assert _ask(conn, method="count", grid="town", type=other)["summary"]["points"] == 50
    assert (
        _ask(conn, method="count", grid="town", agency="urban_management")["summary"]["points"]
        == 600
    )
    assert (
        _ask(conn, method="count", grid="town", status="reported,dispatched")["summary"]["points"]
        == 50
    )
    since: dict[str, Any] = {"from": "2026-01-29T00:00:00Z"}
    assert _ask(conn, method="count", grid="town", **since)["summary"]["points"] < 650
    by_town = _ask(conn, method="count", grid="community", town="T1")
    assert {f["id"] for f in by_town["features"]} <= {"C11", "C12"}


def test_admin_grid_rates_per_households(conn: Connection, planted: str) -> None:
    conn.execute(text("UPDATE boundary SET households = 1000 WHERE layer = 'community'"))
    body = _ask(conn, method="count", grid="community")
    props = {f["id"]: f["properties"] for f in body["features"]}
    assert set(props) == {"C11", "C12", "C21", "C22"}
    c12 = props["C12"]
    assert c12["per_1000_households"] == pytest.approx(c12["count"])
    assert c12["name"] == "甲二社区"
    assert sum(p["count"] for p in props.values()) == 600
    # estates without a household count get no rate
    estates = _ask(conn, method="count", grid="property_area")["features"]
    assert all(f["properties"]["per_1000_households"] is None for f in estates)


def test_local_moran_labels_the_cluster_hh(conn: Connection, planted: str) -> None:
    body = _ask(conn, method="local_moran", grid="h3:9", permutations=199)
    by_cell = {f["id"]: f["properties"] for f in body["features"]}
    assert by_cell[h3.latlng_to_cell(CLUSTER[1], CLUSTER[0], 9)]["moran_label"] == "HH"
    assert body["summary"]["HH"] >= 1


def test_density_png_has_bounds_and_a_stated_bandwidth(conn: Connection, planted: str) -> None:
    body = _ask(conn, method="kde", size=100)
    assert body["bandwidth_m"] > 50 and body["crs"] == "EPSG:32651"
    west, south, east, north = body["bounds"]
    assert west < CLUSTER[0] < east and south < CLUSTER[1] < north
    png = service.hotspots(
        conn,
        query=HotspotQuery.model_validate({"method": "kde", "size": 100, "format": "png"}),
        min_count=3,
    ).answer
    with Image.open(io.BytesIO(png.body)) as image:
        assert image.size == (100, 100) and image.mode == "RGBA"
        assert image.info["bounds"].startswith(f"{west:.6f}")


def test_emerging_hotspots_by_week(conn: Connection, planted: str) -> None:
    body = _ask(conn, method="emerging", grid="h3:8", interval="W")
    assert len(body["parameters"]["bins"]) >= 8
    assert body["summary"]["categories"]
    assert all("category" in f["properties"] for f in body["features"])


def test_cache_is_keyed_by_the_data(conn: Connection, planted: str) -> None:
    query = HotspotQuery.model_validate({"method": "gi_star", "grid": "h3:8", "permutations": 99})
    first = service.hotspots(conn, query=query, min_count=3)
    again = service.hotspots(conn, query=query, min_count=3)
    assert not first.cached and again.cached and again.answer.body == first.answer.body
    plant(conn, planted, background=5, cluster=0, seed=3)  # new cases → a new stamp
    fresh = service.hotspots(conn, query=query, min_count=3)
    assert not fresh.cached and fresh.stamp != first.stamp
    assert orjson.loads(fresh.answer.body)["summary"]["points"] == 605
    conn.execute(
        text(
            "UPDATE case_file SET updated_at = now() + interval '1 s' WHERE id = "
            "(SELECT min(id) FROM case_file)"
        )
    )
    assert not service.hotspots(conn, query=query, min_count=3).cached
    rows = conn.execute(
        text("SELECT count(*) FROM hotspot_result WHERE params_hash = :h"),
        {"h": query.cache_hash()},
    ).scalar_one()
    assert rows == 1  # older answers of the same parameters are replaced


def test_too_few_cells_is_a_clear_error(conn: Connection, planted: str) -> None:
    with pytest.raises(NotEnoughData, match="town grid has 2 cells"):
        _ask(conn, method="gi_star", grid="town")


def test_an_analysis_in_the_process_pool_answers_the_same(conn: Connection, planted: str) -> None:
    """The request's process only reads the cases; the statistics run in a spawned process
    (``SHUDI_HOTSPOT_PROCESSES``) and come back the same as computed in place."""
    query = HotspotQuery.model_validate({"method": "gi_star", "grid": "h3:9", "permutations": 0})
    here = service.hotspots(conn, query=query, min_count=3, use_cache=False, processes=0)
    pooled = service.hotspots(conn, query=query, min_count=3, use_cache=False, processes=1)
    assert orjson.loads(pooled.answer.body) == orjson.loads(here.answer.body)
    bad = HotspotQuery.model_validate({"method": "gi_star", "grid": "town"})
    with pytest.raises(NotEnoughData):  # a domain error crosses the process boundary
        service.hotspots(conn, query=bad, min_count=3, use_cache=False, processes=1)


def test_a_grid_whose_cells_have_no_neighbours_is_a_clear_error() -> None:
    """Cases so sparse for the grid that no cell touches another (eight h3:9 cells five rings
    apart along a line): a clear 422 ``not_enough_data``, not a 500 from the statistics."""
    import geopandas as gpd

    from hotspots.analysis import neighbourhood

    cell = "89309a41aabffff"
    ids = [cell]
    for _ in range(7):
        ids.append(h3.grid_ring(ids[-1], 5)[0])
    cells = gpd.GeoDataFrame({"cell": ids, "count": [1] * len(ids)})
    query = HotspotQuery.model_validate({"method": "gi_star", "grid": "h3:9"})
    with pytest.raises(NotEnoughData, match="no cell of the h3:9 grid has a neighbour"):
        neighbourhood(query, cells)
