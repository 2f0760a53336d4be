"""Helpers of the 回访 tests: a case taken through the real workflow to "resolved"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from support import IN_P111, file_report, type_of

from accounts.service import Principal
from incidents import service
from incidents.intake import Report, submit, using

PHONE = "13800000000"


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> dict:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    return service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def resolved_case(conn: Connection, world: dict, *, by_phone: bool = False) -> dict[str, Any]:
    """A case in T1 handled by urban management, taken to "resolved"; id and tracking code."""
    code = type_of(conn, agency="urban_management", scope="enforcement")
    if by_phone:  # a dispatcher takes the call (channel ``phone``)
        _, filed = submit(
            reader=using(conn), writer=using(conn), keyed=False, actor=world["dispatcher"],
            report=Report(lon=IN_P111[0], lat=IN_P111[1], type=code, description="电话反映",
                          phone=PHONE, channel="phone"),
        )  # fmt: skip
        case = filed.as_json()
    else:
        case = file_report(conn, IN_P111, code)
    cid = int(case["id"])
    d, urban = world["dispatcher"], world["urban"]
    if service.get_case(conn, case_id=cid, principal=d)["status"] == "reported":
        act(conn, d, cid, "accept")
    act(conn, d, cid, "dispatch")
    act(conn, urban, cid, "start")
    act(conn, urban, cid, "resolve", note="已拆除")
    return {"id": cid, "code": str(case["tracking_code"])}
