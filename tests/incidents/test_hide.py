"""Dispatchers hide a malicious report from public views, with a reason kept on the record."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from support import IN_P111, file_report, type_of

from incidents import open311, open311_requests, service
from incidents.exceptions import InvalidReport, MissingField, TransitionForbidden


def test_hide_and_unhide(conn: Connection, world: dict) -> None:
    d, urban = world["dispatcher"], world["urban"]
    out = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))
    cid = out["id"]

    def act(who, action: str, **payload: str) -> dict:  # type: ignore[no-untyped-def]
        version = service.get_case(conn, case_id=cid, principal=d)["version"]
        return service.transition(
            conn, case_id=cid, principal=who, action=action, payload=payload, if_match=version
        )

    def public() -> set[str]:
        return {r["service_request_id"] for r in open311_requests.list_requests(conn, params={})}

    assert str(cid) in public()
    with pytest.raises(MissingField):
        act(d, "hide")
    with pytest.raises(TransitionForbidden):
        act(urban, "hide", note="x")
    assert act(d, "hide", note="针对邻居的不实举报")["hidden"] is True
    with pytest.raises(InvalidReport):
        act(d, "hide", note="again")
    assert str(cid) not in public()
    with pytest.raises(open311.NotFound):
        open311_requests.get_request(conn, request_id=str(cid), params={})
    event = conn.execute(
        text("""SELECT note, public, actor_role FROM case_event
                WHERE case_id = :c AND action = 'hide'"""),
        {"c": cid},
    ).one()
    assert event.note == "针对邻居的不实举报" and not event.public
    assert event.actor_role == "dispatcher"
    tracked = service.track(conn, tracking_code=out["tracking_code"])
    assert "hide" not in [e["action"] for e in tracked["events"]]
    assert act(d, "unhide", note="核实后恢复")["hidden"] is False
    assert str(cid) in public()
