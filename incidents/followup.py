"""回访 and satisfaction, kept apart from the workflow's "resolved" (issue #16).

When a case is resolved, the resident's "resolved" message carries a survey link (the tracking
code, never the phone: ``notify`` template ``case_resolved``); a case reported by phone gets a
``return_visit`` task on the dispatchers' work list as well. Each answer — the resident's survey
(once per reporter) or the dispatcher's call (once per task when the resident was reached) —
is a row of ``case_followup`` with what the resident says: solved or not, satisfied 1–5, a
comment. "Not solved" reopens the case with the reason (workflow action ``followup_reopen``).

This module owns the writes to ``case_followup``; ``assessment.satisfaction`` counts them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Row, RowMapping, text

from accounts.models import Role
from accounts.service import Principal
from incidents import tasks as worklist
from incidents.exceptions import (
    CaseNotFound,
    FollowupNotOpen,
    InvalidReport,
    MissingField,
    TaskNotFound,
    TransitionForbidden,
)

#: Channels whose reporters are called back by a dispatcher (they may have no SMS or e-mail).
PHONE_CHANNELS = ("phone", "hotline")
#: Statuses in which a case can be followed up: resolved (being checked) or closed.
OPEN_TO_FOLLOWUP = ("resolved", "closed")
#: Actions after which a case may have become resolved.
RESOLVING = ("resolve", "complete_task")
VISIT_UNIT = "受理中心回访"
BEIJING = timezone(timedelta(hours=8))
ANSWER_FIELDS = """id, case_id, source, reached, resolved, satisfaction, comment, created_at,
    task_id"""


def after_action(conn: Connection, *, case_id: int, action: str) -> int | None:
    """Called in the transaction of every workflow action: when ``action`` resolved a case
    reported by phone, put a 回访 task on the dispatchers' work list; the task's id."""
    if action not in RESOLVING:
        return None
    case = conn.execute(
        text("""SELECT id, status, channel, handler_party, handler_unit_code FROM case_file
                WHERE id = :c"""),
        {"c": case_id},
    ).first()
    if case is None or case.status != "resolved" or case.channel not in PHONE_CHANNELS:
        return None
    open_task = conn.execute(
        text("""SELECT 1 FROM case_task WHERE case_id = :c AND kind = 'return_visit'
                AND NOT done"""),
        {"c": case_id},
    ).first()
    if open_task is not None:
        return None
    return worklist.add_task(
        conn,
        case_id=case_id,
        party=case.handler_party,
        unit_code=case.handler_unit_code,
        unit_name=VISIT_UNIT,
        kind="return_visit",
        note="办结后电话回访：问题是否解决、是否满意",
    )


def _check_answer(resolved: Any, satisfaction: Any, comment: str) -> tuple[bool, int | None]:
    if not isinstance(resolved, bool):
        raise MissingField(
            "say whether the problem is solved (resolved: true/false)", field="resolved"
        )
    if satisfaction is not None and (
        isinstance(satisfaction, bool)
        or not isinstance(satisfaction, int)
        or not 1 <= satisfaction <= 5
    ):
        raise InvalidReport("satisfaction is a whole number from 1 to 5")
    if not resolved and not comment.strip():
        raise MissingField("say what is still wrong: the case will be reopened", field="comment")
    if len(comment) > 2000:
        raise InvalidReport("the comment is longer than 2000 characters")
    return resolved, satisfaction


def _insert(conn: Connection, row: dict[str, Any], conflict: str) -> dict[str, Any] | None:
    got = (
        conn.execute(
            text(f"""INSERT INTO case_followup (case_id, source, reporter_id, task_id, reached,
                        resolved, satisfaction, comment, recorded_by)
                    VALUES (:case_id, :source, :reporter_id, :task_id, :reached, :resolved,
                        :satisfaction, :comment, :recorded_by)
                    ON CONFLICT {conflict} DO NOTHING RETURNING {ANSWER_FIELDS}"""),
            row,
        )
        .mappings()
        .first()
    )
    return dict(got) if got else None


def _reopen(
    conn: Connection, *, case_id: int, principal: Principal | None, source: str, comment: str
) -> None:
    from incidents.service import followup_action  # the workflow engine sits above this module

    who = "群众回访评价" if source == "survey" else "电话回访"
    followup_action(
        conn,
        case_id=case_id,
        principal=principal,
        payload={"note": f"{who}：问题未解决。{comment.strip()}"},
    )


def answer_survey(
    conn: Connection,
    *,
    tracking_code: str,
    resolved: Any,
    satisfaction: Any = None,
    comment: str = "",
) -> dict[str, Any]:
    """A resident's survey answer, authorised by the tracking code alone; stored once per
    reporter (asking again returns the stored answer with ``repeated`` true)."""
    resolved, satisfaction = _check_answer(resolved, satisfaction, comment)
    rep, stored = _survey_of(conn, tracking_code, lock=True)
    if stored is not None:
        return _public(dict(stored)) | {"repeated": True}
    if rep.status not in OPEN_TO_FOLLOWUP:
        raise FollowupNotOpen("the survey opens once the case is resolved")
    row = _insert(
        conn,
        {
            "case_id": rep.case_id,
            "source": "survey",
            "reporter_id": rep.id,
            "task_id": None,
            "reached": True,
            "resolved": resolved,
            "satisfaction": satisfaction,
            "comment": comment.strip(),
            "recorded_by": None,
        },
        "(case_id, reporter_id) WHERE source = 'survey'",
    )
    if row is None:  # a concurrent answer won
        return answer_survey(
            conn,
            tracking_code=tracking_code,
            resolved=resolved,
            satisfaction=satisfaction,
            comment=comment,
        )
    if not resolved:
        _reopen(conn, case_id=rep.case_id, principal=None, source="survey", comment=comment)
    return _public(row) | {"repeated": False}


def _survey_of(
    conn: Connection, tracking_code: str, *, lock: bool = False
) -> tuple[Row[Any], RowMapping | None]:
    """The reporter of ``tracking_code`` (id, case id, the case's status; the case locked with
    ``lock``) and the survey answer already stored for them, if any."""
    rep = conn.execute(
        text(f"""SELECT r.id, r.case_id, c.status FROM case_reporter r
                JOIN case_file c ON c.id = r.case_id WHERE r.tracking_code = :t
                {"FOR UPDATE OF c" if lock else ""}"""),
        {"t": tracking_code.strip().upper()},
    ).first()
    if rep is None:
        raise CaseNotFound("no case with that tracking code")
    stored = (
        conn.execute(
            text(f"""SELECT {ANSWER_FIELDS} FROM case_followup
                 WHERE source = 'survey' AND case_id = :c AND reporter_id = :r"""),
            {"c": rep.case_id, "r": rep.id},
        )
        .mappings()
        .first()
    )
    return rep, stored


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("resolved", "satisfaction", "comment", "created_at")}


def survey_state(conn: Connection, *, tracking_code: str) -> dict[str, Any]:
    """Whether the survey of ``tracking_code`` is open, and the answer once given."""
    rep, stored = _survey_of(conn, tracking_code)
    return {
        "code": tracking_code.strip().upper(),
        "open": rep.status in OPEN_TO_FOLLOWUP and stored is None,
        "answer": _public(dict(stored)) if stored else None,
    }


def record_visit(
    conn: Connection,
    *,
    principal: Principal,
    task_id: int,
    reached: bool,
    resolved: Any = None,
    satisfaction: Any = None,
    comment: str = "",
) -> dict[str, Any]:
    """A dispatcher records a 回访 call. Not reached: kept on record, the task stays open for
    another call. Reached: the answer is stored, the task done, and "not solved" reopens."""
    if principal.role is not Role.dispatcher:
        raise TransitionForbidden("return visits are recorded by dispatchers")
    task = conn.execute(
        text("""SELECT t.id, t.case_id, t.kind, t.done, c.status FROM case_task t
                JOIN case_file c ON c.id = t.case_id WHERE t.id = :id
                FOR UPDATE OF t, c"""),
        {"id": task_id},
    ).first()
    if task is None or task.kind != "return_visit":
        raise TaskNotFound(f"no return-visit task {task_id}")
    if task.done:
        raise FollowupNotOpen("this return visit is already recorded")
    now = datetime.now(UTC)
    base = {
        "case_id": task.case_id,
        "source": "visit",
        "reporter_id": None,
        "task_id": task_id,
        "recorded_by": principal.user_id,
    }
    if not reached:
        row = _insert(
            conn,
            base
            | {
                "reached": False,
                "resolved": None,
                "satisfaction": None,
                "comment": comment.strip()[:2000],
            },
            "",
        )
        conn.execute(
            text("UPDATE case_task SET note = :n WHERE id = :id"),
            {"n": f"未接通（{now.astimezone(BEIJING):%Y-%m-%d %H:%M}），待再次回访", "id": task_id},
        )
        return {"task_id": task_id, "reached": False, "answer": row}
    resolved, satisfaction = _check_answer(resolved, satisfaction, comment)
    if task.status not in OPEN_TO_FOLLOWUP:
        raise FollowupNotOpen("the case is no longer resolved: no return visit to record")
    row = _insert(
        conn,
        base
        | {
            "reached": True,
            "resolved": resolved,
            "satisfaction": satisfaction,
            "comment": comment.strip(),
        },
        "(task_id) WHERE source = 'visit' AND reached",
    )
    if row is None:
        raise FollowupNotOpen("this return visit is already recorded")
    said = "问题已解决" if resolved else "问题未解决"
    rating = f"，满意度{satisfaction}分" if satisfaction else ""
    worklist.mark_done(conn, task_id=task_id, note=f"已回访：{said}{rating}", now=now)
    if not resolved:
        _reopen(conn, case_id=task.case_id, principal=principal, source="visit", comment=comment)
    return {"task_id": task_id, "reached": True, "answer": row}


def case_followups(conn: Connection, *, case_id: int) -> list[dict[str, Any]]:
    """A case's survey answers and return visits, oldest first (no personal data)."""
    rows = conn.execute(
        text(f"""SELECT {ANSWER_FIELDS}, recorded_by FROM case_followup WHERE case_id = :c
                 ORDER BY created_at, id"""),
        {"c": case_id},
    )
    return [dict(r) for r in rows.mappings()]
