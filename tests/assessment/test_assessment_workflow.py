"""The figures from cases moved through the real workflow (events as the product writes them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from support import IN_P111, file_report, type_of

from accounts.service import Principal
from assessment import service
from assessment.period import period as make_period
from incidents import service as cases


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> None:
    version = cases.get_case(conn, case_id=case_id, principal=who)["version"]
    cases.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def test_a_case_through_the_workflow(conn: Connection, world: dict[str, Principal]) -> None:
    d, police = world["dispatcher"], world["police_ps1"]
    done = file_report(conn, IN_P111, type_of(conn, agency="public_security"))
    cid = done["id"]
    act(conn, d, cid, "accept")
    act(conn, d, cid, "dispatch")
    act(conn, police, cid, "start")
    act(conn, police, cid, "resolve", note="已劝离")
    act(conn, d, cid, "fail_verification", note="仍有")
    act(conn, police, cid, "start")
    act(conn, police, cid, "resolve", note="已处理")
    act(conn, d, cid, "verify", outcome="fixed")
    cases.resident_action(
        conn,
        tracking_code=done["tracking_code"],
        action="rate",
        payload={"satisfaction": "satisfied"},
    )
    referred = file_report(conn, IN_P111, type_of(conn, agency="public_security"))["id"]
    act(conn, d, referred, "accept")
    act(conn, d, referred, "dispatch")
    act(conn, police, referred, "refer", to_party="urban_management", note="非治安")

    now = datetime.now(UTC)
    p = make_period(first=(now - timedelta(days=1)).date(), last=(now + timedelta(days=1)).date())
    got = {(u["kind"], u["unit"]): u for u in service.assess(conn, p=p)["units"]}
    ps1 = got[("agency_unit", "PS1")]
    assert ps1["received"] == 1 and ps1["resolved"] == 1 and ps1["resolved_on_time"] == 1
    assert ps1["responded_on_time"] == 1 and ps1["rework_rate"] == 1.0
    assert ps1["satisfaction"] == 1.0
    assert ps1["referred_out"] == 1 and ps1["referred_correct"] == 1
    urban = got[("agency", "urban_management")]
    assert urban["received"] == 1 and urban["referred_in"] == 1 and urban["open"] == 1
    audit = service.audit(conn, p=p, kind="agency_unit", unit="PS1", figure="referred_out")
    assert audit["case_ids"] == [referred]
