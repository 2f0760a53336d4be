"""``escalate`` is offered only where it can be taken (a regression the API fuzzer found: a
dispatcher was offered ``escalate`` on a case whose routing has no escalation step, and the
transition then refused it with 422 ``this case has no escalation step``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from support import IN_P111, file_report

from accounts.service import Principal
from incidents import service

# 二（三）2 违章搭建: urban management handles it, with no mediation step above it; 二（十）2 a
# property dispute: the community first, then the town's mediation.
ILLEGAL_BUILDING = "illegal_construction"
DISPUTE = "dispute_property_management"


def offered(conn: Connection, who: Principal, case_id: int) -> list[str]:
    return service.get_case(conn, case_id=case_id, principal=who)["allowed_actions"]


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> None:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def test_no_escalation_step_no_escalate(conn: Connection, world: dict) -> None:
    d = world["dispatcher"]
    out = file_report(conn, IN_P111, ILLEGAL_BUILDING)
    assert not out["routing"].get("escalation")
    assert "accept" in offered(conn, d, out["id"])  # the dispatcher may act on it
    assert "escalate" not in offered(conn, d, out["id"])
    act(conn, d, out["id"], "accept")
    assert "escalate" not in offered(conn, d, out["id"])


def test_escalate_is_offered_once(conn: Connection, world: dict) -> None:
    d, c11 = world["dispatcher"], world["community_c11"]
    cid = file_report(conn, IN_P111, DISPUTE)["id"]
    act(conn, d, cid, "accept")
    assert "escalate" in offered(conn, d, cid)
    act(conn, d, cid, "dispatch")
    act(conn, c11, cid, "start")
    act(conn, c11, cid, "escalate", note="社区调解未果")
    assert "escalate" not in offered(conn, d, cid)  # gone to the town: nothing further up
