"""三（二） through the outbox on a real PostGIS: a refusal to correct reaches the estate's
property company and community committee at their published contacts (and the town and the
department as staff notices); a case handed to the estate's company reaches the company."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from support import IN_P111, IN_T2, file_report

from accounts.service import Principal
from incidents import service
from incidents.dissuasion import RefusalReport, file_refusal
from jurisdictions.published_contacts import set_contact
from notify.channels import FileSink
from notify.sender import deliver_due
from shudi.settings import Settings

ILLEGAL_BUILDING = "illegal_construction"  # 二（三）2 违章搭建 — urban management
COMPANY_PHONE = "057188001111"  # 甲物业's service desk for P111, as published
COMMUNITY_PHONE = "057188002222"  # C11's committee office
DISTRICT_COMPANY_LINE = "057188009999"  # a district-wide line: not the estate's company


def publish(conn: Connection) -> None:
    set_contact(conn, agency="property_company", scope_layer="property_area", scope_code="P111",
                person="客服主管", phone=COMPANY_PHONE, office="甲物业P111客服中心")  # fmt: skip
    set_contact(conn, agency="community_committee", scope_layer="community", scope_code="C11",
                person="社区主任", phone=COMMUNITY_PHONE, office="甲一社区居委会")  # fmt: skip
    set_contact(conn, agency="property_company", person="物业协会",
                phone=DISTRICT_COMPANY_LINE, office="区物业行业协会")  # fmt: skip


def rows(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    got = conn.execute(
        text("SELECT * FROM notify_message WHERE case_id = :c ORDER BY id"), {"c": case_id}
    )
    return [dict(r) for r in got.mappings()]


def test_a_refusal_tells_the_company_the_community_and_the_units(
    conn: Connection, world: dict[str, Principal], tmp_path: Path
) -> None:
    publish(conn)
    out = file_refusal(
        conn,
        principal=world["community_c11"],
        report=RefusalReport(
            lon=IN_P111[0], lat=IN_P111[1], type=ILLEGAL_BUILDING,
            said="已当面劝阻停止搭建，业主表示不予理会",
            dissuaded_at=datetime.now(UTC) - timedelta(hours=1), party="5幢顶楼住户",
        ),
    )  # fmt: skip
    msgs = [r for r in rows(conn, out["id"]) if r["template"] != "case_accepted"]
    sms = sorted((r["recipient"], r["template"]) for r in msgs if r["channel"] == "sms")
    assert sms == [(COMPANY_PHONE, "refusal_notice"), (COMMUNITY_PHONE, "refusal_notice")]
    staff = sorted((r["recipient"], r["template"]) for r in msgs if r["channel"] == "staff")
    assert staff == [("town_government/", "unit_refusal"), ("urban_management/", "unit_refusal")]
    notice = next(r for r in msgs if r["template"] == "refusal_notice")
    assert notice["recipient_masked"] == "057*****1111"
    assert "拒不改正" in notice["body"] and str(out["id"]) in notice["body"]
    assert "5幢顶楼住户" not in notice["body"]  # who was dissuaded stays inside
    sink = FileSink(tmp_path / "sink.jsonl")
    deliver_due(conn, transports={"sms": sink, "email": sink, "staff": sink},
                settings=Settings(notify_quiet_hours="off"))  # fmt: skip
    lines = [json.loads(x) for x in (tmp_path / "sink.jsonl").read_text().splitlines()]
    sent = {(m["to"], m["template"]) for m in lines}
    assert {(COMPANY_PHONE, "refusal_notice"), (COMMUNITY_PHONE, "refusal_notice")} <= sent
    assert all(m["to"] != DISTRICT_COMPANY_LINE for m in lines)


def test_a_refusal_outside_any_published_estate_tells_only_the_units(
    conn: Connection, world: dict[str, Principal]
) -> None:
    publish(conn)
    case = file_report(conn, IN_T2, ILLEGAL_BUILDING)  # T2 / C22: no contact published there
    t2 = world["town_t2"]
    version = service.get_case(conn, case_id=case["id"], principal=t2)["version"]
    service.transition(conn, case_id=case["id"], principal=t2, action="refused_to_correct",
                       payload={"note": "拒不整改"}, if_match=version)  # fmt: skip
    refusal = ("refusal_notice", "unit_refusal")
    msgs = [r for r in rows(conn, case["id"]) if r["template"] in refusal]
    assert {r["channel"] for r in msgs} == {"staff"} and len(msgs) == 2


def test_a_case_handed_to_the_estate_s_company_tells_its_published_contact(
    conn: Connection, world: dict[str, Principal]
) -> None:
    publish(conn)
    code = conn.execute(
        text("""SELECT code FROM violation_type WHERE agency = 'property_company' AND active
                AND reportable AND NOT sensitive ORDER BY code LIMIT 1""")
    ).scalar_one()
    case = file_report(conn, IN_P111, code)
    d = world["dispatcher"]
    for action in ("accept", "dispatch"):
        version = service.get_case(conn, case_id=case["id"], principal=d)["version"]
        service.transition(conn, case_id=case["id"], principal=d, action=action,
                           payload={}, if_match=version)  # fmt: skip
    got = service.get_case(conn, case_id=case["id"], principal=d)
    assert got["handler_party"] == "property_company"
    told = [r for r in rows(conn, case["id"]) if r["template"] == "estate_case"]
    assert [(r["channel"], r["recipient"]) for r in told] == [("sms", COMPANY_PHONE)]
    assert "13800000000" not in told[0]["body"] and "张三" not in told[0]["body"]
