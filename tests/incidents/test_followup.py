"""回访 and satisfaction (issue #16): the survey link in the "resolved" message, the resident's
answer (once), "not solved" reopens, the dispatcher's 回访 of a phone report, and the reviewed
exclusion of an unreasonable rating — on the real workflow and PostGIS."""

from __future__ import annotations

import pytest
from followup_support import PHONE, resolved_case
from sqlalchemy import Connection, text
from support import IN_P111, app_client, file_report, type_of

from incidents import followup, followup_review, tasks, worklist
from incidents.exceptions import FollowupNotOpen, TransitionForbidden


def status(conn: Connection, cid: int) -> str:
    return str(
        conn.execute(text("SELECT status FROM case_file WHERE id = :c"), {"c": cid}).scalar()
    )


def test_survey_link_in_the_resolved_message_carries_the_code_not_the_phone(
    conn: Connection, world: dict
) -> None:
    case = resolved_case(conn, world)
    rows = conn.execute(
        text("""SELECT channel, subject, body, params::text AS params FROM notify_message
                WHERE case_id = :c AND template = 'case_resolved'"""),
        {"c": case["id"]},
    ).all()
    assert rows, "the resolution enqueues the resident's message"
    for row in rows:
        assert f"/track/{case['code']}/survey" in row.body
        for field in (row.subject, row.body, row.params):
            assert PHONE not in field and PHONE[-4:] not in field


def test_survey_answer_is_stored_once_and_not_solved_reopens(conn: Connection, world: dict) -> None:
    case = resolved_case(conn, world)
    assert followup.survey_state(conn, tracking_code=case["code"])["open"] is True
    first = followup.answer_survey(
        conn, tracking_code=case["code"], resolved=False, satisfaction=2, comment="违建仍在"
    )
    assert first["repeated"] is False and first["resolved"] is False
    assert status(conn, case["id"]) == "reopened"
    ev = conn.execute(
        text("""SELECT action, from_status, to_status, note, actor_role FROM case_event
                WHERE case_id = :c ORDER BY id DESC LIMIT 1"""),
        {"c": case["id"]},
    ).one()
    assert (ev.action, ev.from_status, ev.to_status) == ("followup_reopen", "resolved", "reopened")
    assert "问题未解决" in ev.note and "违建仍在" in ev.note and ev.actor_role == "resident"
    # Asked again (a double tap, a retry): the stored answer, nothing reopened twice.
    again = followup.answer_survey(
        conn, tracking_code=case["code"], resolved=True, satisfaction=5, comment=""
    )
    assert again["repeated"] is True and again["resolved"] is False and again["satisfaction"] == 2
    n = conn.execute(
        text("SELECT count(*) FROM case_followup WHERE case_id = :c"), {"c": case["id"]}
    ).scalar()
    reopened = conn.execute(
        text("SELECT count(*) FROM case_event WHERE case_id = :c AND action = 'followup_reopen'"),
        {"c": case["id"]},
    ).scalar()
    assert (n, reopened) == (1, 1)
    # The handler hears the case is back (the outbox, in the same transaction).
    told = conn.execute(
        text("""SELECT count(*) FROM notify_message WHERE case_id = :c
                AND template = 'unit_reopened'"""),
        {"c": case["id"]},
    ).scalar()
    assert told == 1


def test_survey_api_json_errors_and_idempotency(conn: Connection, world: dict) -> None:
    case = resolved_case(conn, world)
    code = type_of(conn, agency="urban_management", scope="enforcement")
    fresh = file_report(conn, IN_P111, code)
    url = f"/api/v1/track/{case['code']}/survey"
    with app_client(conn) as client:
        bad = client.post(url, json={"resolved": True, "satisfaction": 6})
        assert bad.status_code == 422 and bad.json()["code"] and bad.json()["message"]
        no_reason = client.post(url, json={"resolved": False, "satisfaction": 1})
        assert no_reason.status_code == 422 and no_reason.json()["code"] == "missing_field"
        early = client.post(f"/api/v1/track/{fresh['tracking_code']}/survey",
                            json={"resolved": True})  # fmt: skip
        assert early.status_code == 409 and early.json()["code"] == "followup_not_open"
        unknown = client.post("/api/v1/track/ZZZZZZZZZZZZ/survey", json={"resolved": True})
        assert unknown.status_code == 404 and unknown.json()["code"] == "case_not_found"
        ok = client.post(url, json={"resolved": True, "satisfaction": 4, "comment": "好"})
        assert ok.status_code == 201 and ok.json()["satisfaction"] == 4
        same = client.post(url, json={"resolved": True, "satisfaction": 4, "comment": "好"})
        assert same.status_code == 200 and same.json()["repeated"] is True
        page = client.get(f"/track/{case['code']}/survey")
        assert page.status_code == 200 and "您已填写过问卷" in page.text and PHONE not in page.text
    assert status(conn, case["id"]) == "resolved"  # solved: the workflow goes on as it was


def test_phone_report_gets_a_return_visit_for_the_dispatcher(conn: Connection, world: dict) -> None:
    d, urban = world["dispatcher"], world["urban"]
    web = resolved_case(conn, world)
    case = resolved_case(conn, world, by_phone=True)
    visits = [t for t in tasks.work_list(conn, principal=d) if t["kind"] == "return_visit"]
    assert [t["case_id"] for t in visits] == [case["id"]]  # not for the web report
    assert web["id"] not in [t["case_id"] for t in visits]
    assert all(t["kind"] != "return_visit" for t in tasks.work_list(conn, principal=urban))
    task_id = visits[0]["id"]
    # 我的待办: the dispatcher's call waits in its own bucket; the handler's list has no trace.
    buckets = {int(c["id"]): c["bucket"] for c in worklist.work_list(conn, principal=d)["items"]}
    assert buckets[case["id"]] == "visit" and buckets[web["id"]] == "verify"
    assert case["id"] not in {
        int(c["id"]) for c in worklist.work_list(conn, principal=urban)["items"]
    }
    with pytest.raises(TransitionForbidden):
        followup.record_visit(conn, principal=urban, task_id=task_id, reached=True, resolved=True)
    missed = followup.record_visit(conn, principal=d, task_id=task_id, reached=False)
    assert missed["reached"] is False
    assert [t["id"] for t in tasks.work_list(conn, principal=d) if t["kind"] == "return_visit"] == [
        task_id
    ]  # still to call
    done = followup.record_visit(
        conn, principal=d, task_id=task_id, reached=True, resolved=False, satisfaction=1,
        comment="噪音还在",
    )  # fmt: skip
    assert done["answer"]["resolved"] is False
    assert status(conn, case["id"]) == "reopened"
    ev = conn.execute(
        text("""SELECT action, actor_id, note FROM case_event WHERE case_id = :c
                ORDER BY id DESC LIMIT 1"""),
        {"c": case["id"]},
    ).one()
    assert ev.action == "followup_reopen" and ev.actor_id == d.user_id and "噪音还在" in ev.note
    with pytest.raises(FollowupNotOpen):
        followup.record_visit(conn, principal=d, task_id=task_id, reached=True, resolved=True)


def test_exclusion_is_reviewed_by_another_person_and_audited(conn: Connection, world: dict) -> None:
    d, t1, t2 = world["dispatcher"], world["town_t1"], world["town_t2"]
    case = resolved_case(conn, world)
    with pytest.raises(FollowupNotOpen):  # nothing to exclude yet
        followup_review.propose(conn, principal=d, case_id=case["id"], reason="无理诉求")
    followup.answer_survey(conn, tracking_code=case["code"], resolved=True, satisfaction=1)
    with pytest.raises(TransitionForbidden):
        followup_review.propose(conn, principal=t1, case_id=case["id"], reason="无理诉求")
    ex = followup_review.propose(conn, principal=d, case_id=case["id"], reason="要求赔偿，超出职责")
    assert ex["state"] == "pending" and ex["proposed_by"] == "dispatcher"
    assert followup_review.listing(conn, principal=t2) == []  # another town's coordinator
    with pytest.raises(TransitionForbidden):
        followup_review.review(conn, principal=d, exclusion_id=ex["id"], approve=True)
    done = followup_review.review(conn, principal=t1, exclusion_id=ex["id"], approve=True,
                                  note="同意")  # fmt: skip
    assert (done["state"], done["reviewed_by"]) == ("approved", "town_t1")
    audited = conn.execute(
        text("""SELECT op, payload->'new'->>'state' AS state FROM audit_log
                WHERE table_name = 'followup_exclusion' AND subject = :s ORDER BY id"""),
        {"s": f"followup_exclusion:{ex['id']}"},
    ).all()
    assert [(a.op, a.state) for a in audited] == [("INSERT", "pending"), ("UPDATE", "approved")]
