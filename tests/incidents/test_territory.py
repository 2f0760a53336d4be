"""A new boundary generation moves open cases to their new owners; closed ones stay."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
from sqlalchemy import Connection, text
from support import HOLE, IN_P111, MINI, box, collection, feature, file_report, type_of

from incidents import service
from incidents.territory import reresolve_open_cases
from jurisdictions.generations import activate, import_layer


def test_open_cases_follow_new_borders(conn: Connection, world: dict) -> None:
    d = world["dispatcher"]
    code = type_of(conn, agency="urban_management")
    open_case = file_report(conn, (120.012, 30.015), code)["id"]
    closed_case = file_report(conn, (120.013, 30.016), code)["id"]
    version = service.get_case(conn, case_id=closed_case, principal=d)["version"]
    service.transition(
        conn,
        case_id=closed_case,
        principal=d,
        action="merge",
        payload={"into": open_case},
        if_match=version,
    )
    towns = collection(
        feature("T1", "甲街道", [box(120.00, 30.00, 120.01, 30.02), HOLE]),
        feature("T2", "乙镇", [[box(120.01, 30.00, 120.04, 30.02)], [HOLE]]),
    )
    gdf = gpd.GeoDataFrame.from_features(towns["features"], crs="EPSG:4326")
    gen = import_layer(conn, gdf=gdf, layer="town", source="v2").generation_id
    done = activate(conn, generation_id=gen)
    assert (done.open_cases, done.moved) == (1, 1)
    moved = service.get_case(conn, case_id=open_case, principal=d)
    assert moved["town_code"] == "T2" and moved["generations"]["town"] == gen
    ev = service.events(conn, case_id=open_case, principal=d)[-1]
    assert ev["action"] == "boundary_change" and ev["actor_role"] == "system"
    assert ev["data"]["changed"]["town_code"] == ["T1", "T2"]
    kept = conn.execute(
        text("SELECT town_code FROM case_file WHERE id = :i"), {"i": closed_case}
    ).scalar_one()
    assert kept == "T1"
    assert reresolve_open_cases(conn)["changed"] == 0


def test_import_with_activate_moves_open_cases_to_a_renumbered_community(
    conn: Connection, world: dict
) -> None:
    """A community layer in which C11 is renumbered C19, imported with activate=True (as
    ``shudi boundaries import --activate`` does): the open cases are found on C19 at once, in
    the community workers' and the dispatcher's lists alike."""
    code = type_of(conn, agency="urban_management")
    opened = file_report(conn, IN_P111, code)["id"]
    features = [dict(f) for f in MINI[("community", "")]["features"]]
    features[0] = feature("C19", "甲一社区", [box(120.00, 30.00, 120.01, 30.02), HOLE],
                          parent_code="T1")  # fmt: skip
    gdf = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    result = import_layer(conn, gdf=gdf, layer="community", source="renumbered", activate=True)
    assert result.activated and result.moved == 1
    row = conn.execute(
        text("SELECT community_code FROM case_file WHERE id = :i"), {"i": opened}
    ).scalar_one()
    assert row == "C19"

    def ids(who: str) -> set[int]:
        return {c["id"] for c in service.list_cases(conn, principal=world[who])["items"]}

    assert opened in ids("dispatcher")
    assert opened not in ids("community_c11")  # C11 no longer exists: its worker loses it
    c19 = replace(world["community_c11"], community_code="C19")
    assert opened in {c["id"] for c in service.list_cases(conn, principal=c19)["items"]}
