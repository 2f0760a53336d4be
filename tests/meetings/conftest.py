"""Planted cases for joint-meeting agendas: one of each kind of item in 甲街道 (T1).

Every planted case lies in 甲一社区 (C11) and none in 甲二社区 (C12), so that C11 is the one
hot community of the fallback rule (7 cases >= 2 x the median 3.5).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from meetings_support import ALSO_OUTSIDE, OUTSIDE_ESTATES, REPEAT_SPOTS, act, make_overdue
from sqlalchemy import Connection
from support import IN_P111, IN_P112, IN_T2, file_report, type_of

from accounts.service import Principal


@pytest.fixture
def planted(conn: Connection, world: dict[str, Principal]) -> dict[str, Any]:
    d = world["dispatcher"]
    overdue = file_report(
        conn, IN_P112, type_of(conn, agency="housing_service_center", scope="enforcement")
    )["id"]
    make_overdue(conn, overdue)

    joint = file_report(
        conn, OUTSIDE_ESTATES, type_of(conn, agency="urban_management", scope="enforcement")
    )["id"]
    act(conn, d, joint, "accept")
    act(conn, world["town_t1"], joint, "joint", parties=["urban_management", "public_security"])

    referred = file_report(
        conn, IN_P111, type_of(conn, agency="public_security", scope="enforcement")
    )["id"]
    act(conn, d, referred, "accept")
    act(conn, d, referred, "dispatch")
    act(conn, world["police_ps1"], referred, "refer", to_party="urban_management", note="非治安")
    act(conn, world["urban"], referred, "refer", to_party="housing_construction", note="非违建")

    dispute = file_report(conn, ALSO_OUTSIDE, type_of(conn, scope="dispute"))["id"]

    repeat_type = type_of(conn, scope="property_service")
    repeats = [file_report(conn, spot, repeat_type)["id"] for spot in REPEAT_SPOTS]

    # another town's overdue case: never on T1's agenda
    elsewhere = file_report(
        conn, IN_T2, type_of(conn, agency="urban_management", scope="enforcement")
    )["id"]
    make_overdue(conn, elsewhere)
    return {
        "overdue": overdue,
        "joint": joint,
        "referred": referred,
        "dispute": dispute,
        "repeats": repeats,
        "elsewhere": elsewhere,
        "all_t1": sorted([overdue, joint, referred, dispute, *repeats]),
        "now": datetime.now(UTC),
    }
