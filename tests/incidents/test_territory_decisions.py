"""A map change does not undo what people decided: an escalated dispute stays with the town's
mediation, and a town's correction order stays on record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import geopandas as gpd
from sqlalchemy import Connection
from support import HOLE, box, collection, feature, file_report

from accounts.service import Principal
from incidents import service
from jurisdictions.generations import import_layer

PLACE = (120.012, 30.015)  # T1 / C12 today; T2 after the new town layer


def _act(conn: Connection, who: Principal, case_id: int, action: str, **payload: object) -> None:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def test_decisions_survive_a_new_generation(conn: Connection, world: dict) -> None:
    d, t1 = world["dispatcher"], world["town_t1"]
    dispute = file_report(conn, PLACE, "dispute_property_management")["id"]
    _act(conn, d, dispute, "escalate", note="社区调解未果")
    ordered = file_report(conn, PLACE, "illegal_construction")["id"]
    due = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    _act(conn, t1, ordered, "order_correction", note="限期拆除", due_at=due)
    towns = collection(
        feature("T1", "甲街道", [box(120.00, 30.00, 120.01, 30.02), HOLE]),
        feature("T2", "乙镇", [[box(120.01, 30.00, 120.04, 30.02)], [HOLE]]),
    )
    gdf = gpd.GeoDataFrame.from_features(towns["features"], crs="EPSG:4326")
    # activation re-resolves the open cases in the same transaction (the one path)
    import_layer(conn, gdf=gdf, layer="town", source="v2", activate=True)
    esc = service.get_case(conn, case_id=dispute, principal=d)
    assert esc["town_code"] == "T2"
    assert esc["handler_party"] == "town_government"  # not back to the community committee
    assert esc["routing"]["escalations"]
    moved = service.get_case(conn, case_id=ordered, principal=d)
    assert moved["town_code"] == "T2"
    assert [o["note"] for o in moved["routing"]["correction_orders"]] == ["限期拆除"]
