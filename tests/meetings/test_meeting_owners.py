"""The owners of meeting actions (三（一）: the decisions are followed up by the units that own
them): a field unit's officer reads the meeting of its unit's action and marks it done; an
agency-wide officer owns its agency's and its units' actions; another unit owns nothing and is
refused. And the pickers of the minutes form: the units the town has (the mini district's
甲街道: two communities, two estates with a company, both police stations reach into it).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Connection
from test_meetings_minutes import prepare, record

from accounts.service import Principal
from meetings import access, minutes, owners, service
from meetings.exceptions import MeetingForbidden


def _actions(meeting: dict) -> dict[str, dict]:
    return {a["title"]: a for i in meeting["items"] for a in i["actions"]}


def test_owners_read_the_meeting_and_close_their_own_actions(
    conn: Connection, planted: dict, world: dict[str, Principal]
) -> None:
    held = record(conn, world["town_t1"], prepare(conn, world["town_t1"]))
    acts = _actions(held)
    station = acts["西派出所牵头处置"]  # owned by the field unit PS1 of public security
    centre = acts["督促物业企业完成整改"]  # owned by the housing service centre
    town = acts["街道复核职责划分"]  # owned by T1
    ps1, ps2, housing = world["police_ps1"], world["police_ps2"], world["housing"]

    assert access.owns(ps1, station) and not access.owns(ps2, station)
    assert access.owns(housing, centre) and not access.owns(housing, station)
    assert access.owns(world["town_t1"], town) and not access.owns(world["town_t2"], town)

    # the owner reads the meeting (read-only) and finds it in its list and its actions
    assert service.load(conn, meeting_id=held["id"], principal=ps1)["id"] == held["id"]
    assert [m["id"] for m in service.list_meetings(conn, principal=ps1)] == [held["id"]]
    assert [a["id"] for a in owners.owned_actions(conn, principal=ps1)] == [station["id"]]
    assert [a["id"] for a in owners.owned_actions(conn, principal=housing)] == [centre["id"]]
    with pytest.raises(MeetingForbidden):
        minutes.record(
            conn,
            meeting_id=held["id"],
            principal=ps1,
            held_on=service.today(),
            attendees=[],
            decisions=[],
        )

    # another station owns nothing of it
    with pytest.raises(MeetingForbidden):
        service.load(conn, meeting_id=held["id"], principal=ps2)
    with pytest.raises(MeetingForbidden):
        minutes.complete_action(conn, action_id=station["id"], principal=ps2)
    with pytest.raises(MeetingForbidden):
        minutes.complete_action(conn, action_id=centre["id"], principal=ps1)  # not its own
    assert owners.owned_actions(conn, principal=ps2) == []

    done = minutes.complete_action(conn, action_id=station["id"], principal=ps1, note="已处置")
    assert _actions(done)["西派出所牵头处置"]["done_on"] == service.today()
    assert owners.owned_actions(conn, principal=ps1) == []  # open ones only
    closed = owners.owned_actions(conn, principal=ps1, open_only=False)
    assert [a["done_note"] for a in closed] == ["已处置"]


def test_the_pickers_offer_the_units_the_town_has(conn: Connection, planted: dict) -> None:
    parties = owners.party_units(conn, town="T1")
    assert parties["town_government"] == ["甲街道"]
    assert parties["community_committee"] == ["甲一社区居委会", "甲二社区居委会"]
    assert parties["property_company"] == ["乙物业有限公司", "甲物业服务有限公司"]
    police = parties["public_security"]
    assert police[0] != "" and [p.split()[-1] for p in police[1:]] == ["西派出所", "东派出所"]
    assert parties["owners_committee"] == [] and parties["other"] == []

    units = owners.owner_units(conn, town="T1")
    assert units[0] == {"kind": "town", "code": "T1", "agency": None, "name": "甲街道"}
    stations = [(u["agency"], u["code"]) for u in units if u["kind"] == "agency_unit"]
    assert stations == [("public_security", "PS1"), ("public_security", "PS2")]
    agencies = {u["code"] for u in units if u["kind"] == "agency"}
    assert {"public_security", "urban_management", "housing_service_center"} <= agencies
    assert not {"town_government", "community_committee", "property_company"} & agencies
