"""Versioned generations: all-or-nothing imports, atomic activation, answers at a time."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime

import geopandas as gpd
import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DataError
from support import MINI, box, collection, feature, load_mini

from jurisdictions.exceptions import (
    BoundaryImportRejected,
    GenerationNotFound,
    NoActiveGeneration,
    OutsideServiceArea,
    UnknownLayer,
)
from jurisdictions.generations import (
    activate,
    check_store,
    import_layer,
    list_generations,
)
from jurisdictions.service import resolve_one


def counts(conn: Connection) -> tuple[int, int, int, int]:
    row = conn.execute(
        text("""SELECT (SELECT count(*) FROM boundary_generation),
        (SELECT count(*) FROM boundary), (SELECT count(*) FROM boundary_part),
        (SELECT count(*) FROM generation_period)""")
    ).one()
    return tuple(row)


def gdf(fc: dict) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame.from_features(fc["features"], crs="EPSG:4326")


def test_import_stores_subdivided_parts(conn: Connection, mini: dict) -> None:
    _n_gen, n_boundary, n_parts, n_periods = counts(conn)
    assert (n_boundary, n_periods) == (11, 4)
    assert n_parts >= n_boundary
    rows = {r["id"]: r for r in list_generations(conn)}
    assert rows[mini["property_area"]]["feature_count"] == 3
    assert rows[mini["property_area"]]["active"]


@pytest.mark.parametrize(
    ("bad", "kind"),
    [
        (
            feature("C13", "重叠社区", [box(120.005, 30.0, 120.015, 30.02)], parent_code="T1"),
            "overlap",
        ),
        (
            feature("C14", "无主社区", [box(120.0, 30.0, 120.001, 30.001)], parent_code="T9"),
            "unknown_parent",
        ),
        (
            feature("C11", "重号社区", [box(120.03, 30.0, 120.031, 30.001)], parent_code="T2"),
            "duplicate_code",
        ),
        (
            feature("C15", "越界社区", [box(120.03, 30.0, 120.05, 30.001)], parent_code="T2"),
            "outside_parent",
        ),
        (
            feature(
                "C16",
                "自交社区",
                [
                    [
                        [120.03, 30.0],
                        [120.031, 30.001],
                        [120.031, 30.0],
                        [120.03, 30.001],
                        [120.03, 30.0],
                    ]
                ],
                parent_code="T2",
            ),
            "invalid_geometry",
        ),
    ],
)
def test_rejected_import_changes_nothing(
    conn: Connection, mini: dict, bad: dict, kind: str
) -> None:
    before = counts(conn)
    fc = copy.deepcopy(MINI[("community", "")])
    fc["features"].append(bad)
    with pytest.raises(BoundaryImportRejected) as err:
        import_layer(conn, gdf=gdf(fc), layer="community", source="bad", activate=True)
    assert kind in {p.kind for p in err.value.details["problems"]}
    assert counts(conn) == before


def test_database_failure_mid_import_rolls_back(conn: Connection, mini: dict) -> None:
    """A failure after writes began (a code longer than the column allows) leaves nothing."""
    before = counts(conn)
    fc = copy.deepcopy(MINI[("agency_unit", "public_security")])
    frame = gdf(fc)
    frame.loc[1, "code"] = "X" * 80  # only the database sees this one
    with pytest.raises(DataError), conn.begin_nested():
        import_layer(conn, gdf=frame, layer="agency_unit", agency="urban_management")
    assert counts(conn) == before


def test_generation_switch_keeps_old_answers(conn: Connection, mini: dict) -> None:
    before = datetime.now(UTC)
    time.sleep(0.01)
    # a new generation moves the T1/T2 border west to x = 120.015 (C12 goes to T2)
    towns = collection(
        feature(
            "T1",
            "甲街道",
            [box(120.00, 30.00, 120.01, 30.02), box(120.005, 30.005, 120.007, 30.007)],
        ),
        feature(
            "T2",
            "乙镇",
            [[box(120.01, 30.00, 120.04, 30.02)], [box(120.005, 30.005, 120.007, 30.007)]],
        ),
    )
    res = import_layer(conn, gdf=gdf(towns), layer="town", source="v2")
    assert not res.activated
    assert resolve_one(conn, lon=120.012, lat=30.015).town.code == "T1"  # inactive: no effect
    assert activate(conn, generation_id=res.generation_id).changed
    now = resolve_one(conn, lon=120.012, lat=30.015)
    assert now.town.code == "T2" and now.generations["town"] == res.generation_id
    old = resolve_one(conn, lon=120.012, lat=30.015, at=before)
    assert old.town.code == "T1" and old.generations["town"] == mini["town"]
    assert not activate(conn, generation_id=res.generation_id).changed  # idempotent
    # switching back opens a new period; the history of both stays
    assert activate(conn, generation_id=mini["town"]).changed
    assert resolve_one(conn, lon=120.012, lat=30.015).town.code == "T1"
    periods = conn.execute(text("SELECT count(*) FROM generation_period WHERE layer='town'"))
    assert periods.scalar_one() == 3


def test_before_any_generation_nothing_resolves(conn: Connection, mini: dict) -> None:
    with pytest.raises(OutsideServiceArea, match="no town boundaries"):
        resolve_one(conn, lon=120.002, lat=30.002, at=datetime(2000, 1, 1, tzinfo=UTC))


def test_unknown_layer_and_generation(conn: Connection) -> None:
    with pytest.raises(UnknownLayer):
        import_layer(conn, gdf=gdf(MINI[("town", "")]), layer="county")
    with pytest.raises(UnknownLayer, match="--agency"):
        import_layer(conn, gdf=gdf(MINI[("town", "")]), layer="agency_unit")
    with pytest.raises(GenerationNotFound):
        activate(conn, generation_id=999_999)


def test_check_store_reports_clean_mini(conn: Connection, mini: dict) -> None:
    report = check_store(conn)
    assert set(report) == {"town", "community", "property_area", "agency_unit:public_security"}
    assert all(p.severity != "error" for ps in report.values() for p in ps)


def test_property_areas_need_communities_first(conn: Connection) -> None:
    with pytest.raises(NoActiveGeneration):
        import_layer(conn, gdf=gdf(MINI[("property_area", "")]), layer="property_area")


def test_load_twice_is_two_generations(conn: Connection) -> None:
    first = load_mini(conn)
    second = load_mini(conn)
    assert all(second[k] > first[k] for k in first)
    assert resolve_one(conn, lon=120.002, lat=30.002).generations == second
