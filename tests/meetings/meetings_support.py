"""Helpers of the joint-meeting tests: places in the mini district and workflow steps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import service

OUTSIDE_ESTATES = (120.008, 30.018)  # T1 / C11, in no estate
ALSO_OUTSIDE = (120.0085, 30.0135)  # T1 / C11, in no estate, another 100 m cell
REPEAT_SPOTS = ((120.002, 30.002), (120.003, 30.003), (120.0035, 30.0025))  # all in P111


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> dict:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    return service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def make_overdue(conn: Connection, case_id: int) -> None:
    conn.execute(
        text("UPDATE case_file SET due_at = now() - interval '1 day' WHERE id = :i"),
        {"i": case_id},
    )
