"""Moving the C11 | C12 border from x = 120.01 to x = 120.015 (worked out by hand from the mini
district in tests/support.py): a case at (120.012, 30.015) — T1 / C12, outside every property
area, police PS1 — lies in C11 afterwards and gets exactly one ``boundary_change`` event naming
C12 → C11; a case at (120.018, 30.015) stays in C12 and one at (120.002, 30.012) in C11, and
neither gets an event."""

from __future__ import annotations

import geopandas as gpd
from sqlalchemy import Connection, text
from support import HOLE, MINI, box, feature, file_report, type_of

from incidents import service
from incidents.territory import TRACKED
from jurisdictions.generations import activate, import_layer

MOVES = (120.012, 30.015)
STAYS_C12 = (120.018, 30.015)
STAYS_C11 = (120.002, 30.012)


def _events(conn: Connection, case_id: int) -> list[dict]:
    rows = conn.execute(
        text("""SELECT action, actor_role, actor_id, from_status, to_status, public, data
                FROM case_event WHERE case_id = :c AND action = 'boundary_change'"""),
        {"c": case_id},
    ).mappings()
    return [dict(r) for r in rows]


def test_a_moved_case_gets_one_event_with_its_old_and_new_community(
    conn: Connection, world: dict
) -> None:
    d = world["dispatcher"]
    code = type_of(conn, agency="urban_management")
    moves, c12, c11 = (file_report(conn, p, code)["id"] for p in (MOVES, STAYS_C12, STAYS_C11))
    before = service.get_case(conn, case_id=moves, principal=d)
    assert (before["town_code"], before["community_code"]) == ("T1", "C12")
    features = [dict(f) for f in MINI[("community", "")]["features"]]
    features[0] = feature("C11", "甲一社区", [box(120.00, 30.00, 120.015, 30.02), HOLE],
                          parent_code="T1")  # fmt: skip
    c12_ring = [[120.015, 30.00], [120.02, 30.00], [120.02, 30.01], [120.02, 30.02],
                [120.015, 30.02], [120.015, 30.00]]  # fmt: skip
    features[1] = feature("C12", "甲二社区", [[c12_ring]], parent_code="T1")
    gdf = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    gen = import_layer(conn, gdf=gdf, layer="community", source="border moved").generation_id
    audit_before = conn.execute(
        text("SELECT count(*) FROM audit_log WHERE subject = :s AND table_name = 'case_event'"),
        {"s": f"case:{moves}"},
    ).scalar_one()

    done = activate(conn, generation_id=gen)

    assert done.moved == 1
    (event,) = _events(conn, moves)
    assert event["action"] == "boundary_change" and event["actor_role"] == "system"
    assert event["actor_id"] is None and event["public"] is False
    assert event["from_status"] == event["to_status"] == before["status"]
    changed = event["data"]["changed"]
    assert changed["community_code"] == ["C12", "C11"]
    assert "town_code" not in changed and "property_area_code" not in changed
    assert "agency_units" not in changed  # PS1 both sides of x = 120.015
    assert set(changed) <= set(TRACKED)
    assert event["data"]["generations"]["community"] == gen
    after = service.get_case(conn, case_id=moves, principal=d)
    assert (after["town_code"], after["community_code"]) == ("T1", "C11")
    assert after["version"] == before["version"] + 1
    assert after["generations"]["community"] == gen
    assert _events(conn, c12) == [] and _events(conn, c11) == []
    kept = conn.execute(
        text("SELECT id, community_code FROM case_file WHERE id IN (:a, :b) ORDER BY id"),
        {"a": c12, "b": c11},
    ).all()
    assert {r.id: r.community_code for r in kept} == {c12: "C12", c11: "C11"}
    audit_after = conn.execute(
        text("SELECT count(*) FROM audit_log WHERE subject = :s AND table_name = 'case_event'"),
        {"s": f"case:{moves}"},
    ).scalar_one()
    assert audit_after == audit_before + 1  # the event is audited like any other

    # activating the same layer again moves nothing and writes no event
    again = import_layer(conn, gdf=gdf, layer="community", source="same again").generation_id
    assert activate(conn, generation_id=again).moved == 0
    assert len(_events(conn, moves)) == 1
