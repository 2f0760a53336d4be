"""The hot reads of the dispatch centre, as rewritten for speed (issue #17), give the answers
the rules give: the list's ``overdue`` filter, and tracking through merged cases."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from support import file_report, type_of

from incidents import service
from incidents.exceptions import CaseNotFound


def test_overdue_filter_splits_the_cases_as_the_rules_say(conn: Connection, world: dict) -> None:
    """Overdue: a deadline in the past and not resolved, closed or rejected. Worked by hand
    for five cases: past+in progress → overdue; past+resolved, past+closed, future+in
    progress, no deadline → not overdue."""
    d = world["dispatcher"]
    code = type_of(conn, agency="urban_management")
    setups = {
        "past_open": ("in_progress", "now() - interval '2 days'"),
        "past_resolved": ("resolved", "now() - interval '2 days'"),
        "past_closed": ("closed", "now() - interval '2 days'"),
        "future_open": ("in_progress", "now() + interval '2 days'"),
        "no_deadline": ("reported", "NULL"),
    }
    ids = {}
    for k, (name, (status, due)) in enumerate(setups.items()):
        cid = file_report(conn, (120.012 + k * 0.0001, 30.015), code)["id"]
        conn.execute(
            text(f"UPDATE case_file SET status = :s, due_at = {due} WHERE id = :i"),
            {"s": status, "i": cid},
        )
        ids[name] = cid

    def listed(overdue: bool | None) -> set[str]:
        items = service.list_cases(conn, principal=d, overdue=overdue, limit=500)["items"]
        got = {i["id"] for i in items}
        return {name for name, cid in ids.items() if cid in got}

    assert listed(True) == {"past_open"}
    assert listed(False) == set(setups) - {"past_open"}
    assert listed(None) == set(setups)
    both = service.list_cases(conn, principal=d, overdue=True, limit=500)
    assert all(item["overdue"] for item in both["items"])
    assert "routing" not in both["items"][0]  # lists never carried it


def test_tracking_follows_merges_to_the_surviving_case(conn: Connection, world: dict) -> None:
    """A → B → C merged: A's tracking code shows C (its status and events); an unknown code
    is a 404 (CaseNotFound)."""
    code = type_of(conn, agency="urban_management")
    a, b, c = (file_report(conn, (120.012 + k * 0.0001, 30.016), code) for k in range(3))
    conn.execute(
        text("UPDATE case_file SET merged_into = :b WHERE id = :a"), {"a": a["id"], "b": b["id"]}
    )
    conn.execute(
        text("UPDATE case_file SET merged_into = :c WHERE id = :b"), {"b": b["id"], "c": c["id"]}
    )
    conn.execute(text("UPDATE case_file SET status = 'accepted' WHERE id = :c"), {"c": c["id"]})
    seen = service.track(conn, tracking_code=a["tracking_code"].lower())
    assert seen["status"] == "accepted"
    assert seen["tracking_code"] == a["tracking_code"]
    own = service.track(conn, tracking_code=c["tracking_code"])
    assert {k: v for k, v in seen.items() if k != "tracking_code"} == {
        k: v for k, v in own.items() if k != "tracking_code"
    }
    assert [e["action"] for e in seen["events"]] == ["report"]
    with pytest.raises(CaseNotFound):
        service.track(conn, tracking_code="NO-SUCH-CODE")
