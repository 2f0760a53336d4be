"""The work list (我的待办): what waits for each staff role, worked out by hand from the
mechanism's text — the handler takes up a dispatched case, the community verifies a resolved
one in its area, a town coordinator watches its town's new reports and joint enforcement."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, text
from support import IN_P111, IN_T2, file_report, type_of

from accounts.service import Principal
from incidents import service, worklist
from incidents.workflow import allowed_actions, weight


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> dict:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    return service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def waiting(conn: Connection, who: Principal, **filters: Any) -> dict[int, str]:
    """Case id → bucket, in the list's order."""
    found = worklist.work_list(conn, principal=who, **filters)
    return {int(c["id"]): str(c["bucket"]) for c in found["items"]}


def test_each_role_sees_what_waits_for_it(conn: Connection, world: dict) -> None:
    d, urban, c11 = world["dispatcher"], world["urban"], world["community_c11"]
    t1, t2, police = world["town_t1"], world["town_t2"], world["police_ps1"]
    code = type_of(conn, agency="urban_management", scope="enforcement")
    new = file_report(conn, IN_P111, code)["id"]  # T1 / C11, urban management
    taken = file_report(conn, IN_P111, code)["id"]
    done = file_report(conn, IN_P111, code)["id"]
    elsewhere = file_report(conn, IN_T2, code)["id"]  # T2 / C22
    for cid in (taken, done):
        act(conn, d, cid, "accept")
        act(conn, d, cid, "dispatch")
    act(conn, urban, done, "start")
    act(conn, urban, done, "resolve", note="已拆除")

    # The handler: the dispatched case to take up, the new one routed to it; not the
    # resolved one (that waits for verification by others).
    mine = waiting(conn, urban)
    assert mine[taken] == "accept" and mine[new] == "new" and mine[elsewhere] == "new"
    assert done not in mine
    # The community verifies the resolved case in its area and watches its new reports;
    # the case dispatched to urban management is not the community's to do.
    assert waiting(conn, c11) == {new: "new", done: "verify"}
    # A town coordinator watches the new reports of its own town only.
    assert waiting(conn, t1) == {new: "new"}
    assert waiting(conn, t2) == {elsewhere: "new"}
    # A police officer has nothing of urban management's.
    assert waiting(conn, police) == {}
    # The dispatcher: new reports to accept, resolved ones to verify.
    every = waiting(conn, d)
    assert every[new] == "new" and every[done] == "verify" and every[elsewhere] == "new"

    # Overdue first, whatever the bucket; the counts say how many are late.
    conn.execute(
        text("UPDATE case_file SET due_at = now() - interval '1 hour' WHERE id = :i"),
        {"i": taken},
    )
    found = worklist.work_list(conn, principal=urban)
    assert found["items"][0]["id"] == taken and found["items"][0]["overdue"] is True
    assert found["counts"]["accept"] == {"n": 1, "late": 1} and found["overdue"] == 1
    assert waiting(conn, urban, overdue_only=True) == {taken: "accept"}
    assert waiting(conn, urban, bucket="new") == {new: "new", elsewhere: "new"}
    with pytest.raises(ValueError):
        worklist.work_list(conn, principal=urban, bucket="nonsense")

    # Joint enforcement waits for the coordinator of the case's town.
    act(conn, d, new, "accept")
    act(conn, d, new, "joint", parties=["urban_management", "public_security"])
    assert waiting(conn, t1)[new] == "handle"
    assert new in waiting(conn, police)  # it holds an open task of the joint enforcement


def test_hide_and_unhide_are_offered_only_when_they_apply(conn: Connection, world: dict) -> None:
    d = world["dispatcher"]
    cid = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]
    offered = service.get_case(conn, case_id=cid, principal=d)["allowed_actions"]
    assert "hide" in offered and "unhide" not in offered  # never hidden: nothing to restore
    act(conn, d, cid, "hide", note="不实举报")
    offered = service.get_case(conn, case_id=cid, principal=d)["allowed_actions"]
    assert "unhide" in offered and "hide" not in offered
    # Without the case, the table alone still lists both (the API's other callers).
    assert {"hide", "unhide"} <= set(allowed_actions("reported", {"dispatcher"}))
    assert weight("accept") == "primary" and weight("reject") == "destructive"
    assert weight("comment") == "secondary" and weight("an_action_added_later") == "secondary"
