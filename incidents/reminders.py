"""Deadline reminders (督办): each open case whose response, stop or resolution deadline is near
(within ``within``) or has passed gets a reminder event and a notice to its handling unit in the
outbox (the work-notice channel, and the unit's duty mobiles and e-mails: notify.unit_contacts);
likewise each unit called to a joint enforcement (吹哨报到) whose report-in or completion
deadline is near or passed. Once per case (or called unit), deadline and threshold: the
"near" notice and the "passed" one are two thresholds, each sent once; a run again sends
nothing new, and a moved deadline is a new one. Concurrent runs are serialised by an advisory
lock, so two schedulers never send a reminder twice.

Run by the outbox sender's loop every ``notify_remind_every_s`` (so by ``shudi serve`` and the
compose file's ``notify`` service) and by ``shudi cases remind`` (cron, by hand).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from incidents.store import add_event
from notify.service import DEADLINE_ZH, beijing, enqueue_for_event
from shudi.settings import Settings, get_settings

LOCK = 0x5D0D_B4_01  # pg_advisory_xact_lock key of the reminder run
#: Which deadline applies while a case is in which states.
DEADLINES = (
    ("respond_due_at", ("reported",), "响应"),
    ("stop_due_at", ("reported", "accepted", "dispatched", "referred", "reopened"), "制止"),
    (
        "due_at",
        (
            "reported",
            "accepted",
            "dispatched",
            "in_progress",
            "referred",
            "joint",
            "postponed",
            "reopened",
        ),
        "办结",
    ),
)
#: Threshold of a deadline at :now: 'true' once passed (compared with the event's data).
PASSED = "CASE WHEN {col} <= :now THEN 'true' ELSE 'false' END"

DUE = f"""
SELECT c.id, c.status, c.handler_name, c.{{column}} AS deadline, c.{{column}}::text AS stamp
FROM case_file c
WHERE c.status = ANY(:states) AND c.{{column}} IS NOT NULL AND c.{{column}} <= :horizon
  AND NOT EXISTS (SELECT 1 FROM case_event e WHERE e.case_id = c.id AND e.action = 'reminder'
                  AND e.data ->> 'deadline' = :column AND e.data ->> 'at' = c.{{column}}::text
                  AND e.data ->> 'overdue' = {PASSED.format(col="c.{column}")})
ORDER BY c.{{column}}, c.id
"""

TASKS_DUE = f"""
SELECT t.id AS task_id, t.case_id, t.party, t.unit_code, t.unit_name, c.status,
       r.{{column}} AS deadline, r.{{column}}::text AS stamp
FROM task_response r JOIN case_task t ON t.id = r.task_id JOIN case_file c ON c.id = t.case_id
WHERE t.kind = 'joint' AND NOT t.done AND c.status = 'joint' AND {{open}}
  AND r.{{column}} <= :horizon
  AND NOT EXISTS (SELECT 1 FROM case_event e WHERE e.case_id = t.case_id
                  AND e.action = 'task_reminder' AND e.data ->> 'task_id' = t.id::text
                  AND e.data ->> 'deadline' = :column AND e.data ->> 'at' = r.{{column}}::text
                  AND e.data ->> 'overdue' = {PASSED.format(col="r.{column}")})
ORDER BY r.{{column}}, t.id
"""
#: (column, the clock still running, label): a report-in until the unit reports in, the
#: completion until its task is done.
TASK_DEADLINES = (
    ("report_due_at", "r.reported_at IS NULL"),
    ("complete_due_at", "TRUE"),
)


def send_reminders(
    conn: Connection, *, within: timedelta = timedelta(hours=4), now: datetime | None = None
) -> list[dict[str, Any]]:
    """Remind the handling unit of each case deadline passed or due within ``within`` (once
    per deadline and threshold); what was sent."""
    now = now or datetime.now(UTC)
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK})
    sent = []
    for column, states, label in DEADLINES:
        rows = (
            conn.execute(
                text(DUE.format(column=column)),
                {"states": list(states), "horizon": now + within, "column": column, "now": now},
            )
            .mappings()
            .all()
        )
        for row in rows:
            overdue = row["deadline"] <= now
            note = f"{label}期限{'已超时' if overdue else '将至'}：{beijing(row['deadline'])}"
            data = {
                "deadline": column,
                "at": row["stamp"],
                "overdue": overdue,
                "handler": row["handler_name"],
            }
            add_event(
                conn,
                case_id=row["id"],
                actor=None,
                action="reminder",
                from_status=row["status"],
                to_status=row["status"],
                note=note,
                public=False,
                role="system",
                data=data,
            )
            enqueue_for_event(conn, case_id=row["id"], action="reminder", data=data)
            sent.append(
                {
                    "case": row["id"],
                    "deadline": column,
                    "overdue": overdue,
                    "handler": row["handler_name"],
                }
            )
    return sent


def send_task_reminders(
    conn: Connection,
    *,
    report_within: timedelta = timedelta(minutes=10),
    complete_within: timedelta = timedelta(hours=4),
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Remind each unit called to a joint enforcement of its report-in deadline (near within
    ``report_within``, or passed, while it has not reported in) and of its completion deadline
    (near within ``complete_within``, or passed, while its task is open); what was sent."""
    now = now or datetime.now(UTC)
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK})
    sent = []
    for column, still_open in TASK_DEADLINES:
        within = report_within if column == "report_due_at" else complete_within
        rows = conn.execute(
            text(TASKS_DUE.format(column=column, open=still_open)),
            {"horizon": now + within, "column": column, "now": now},
        ).mappings()
        for row in list(rows):
            overdue = row["deadline"] <= now
            data = {
                "task_id": row["task_id"],
                "party": row["party"],
                "unit_code": row["unit_code"] or "",
                "unit_name": row["unit_name"] or "",
                "deadline": column,
                "at": row["stamp"],
                "overdue": overdue,
            }
            when = beijing(row["deadline"])
            add_event(
                conn,
                case_id=row["case_id"],
                actor=None,
                action="task_reminder",
                from_status=row["status"],
                to_status=row["status"],
                note=f"督办 {row['unit_name'] or row['party']}：{DEADLINE_ZH[column]}期限"
                f"{'已超时' if overdue else '将至'}：{when}",
                public=False,
                role="system",
                data=data,
            )
            enqueue_for_event(conn, case_id=row["case_id"], action="task_reminder", data=data)
            sent.append({"case": row["case_id"], "task": row["task_id"], "deadline": column,
                         "overdue": overdue, "unit": row["unit_name"]})  # fmt: skip
    return sent


def run_due(engine: Engine, *, settings: Settings | None = None) -> str:
    """One reminder run in its own transaction, with the windows of the settings (the sender
    loop's job); a one-line summary, '' when nothing was due."""
    s = settings or get_settings()
    with engine.begin() as conn:
        cases = send_reminders(conn, within=timedelta(hours=s.notify_remind_within_h))
        tasks = send_task_reminders(
            conn,
            report_within=timedelta(minutes=s.notify_remind_report_in_min),
            complete_within=timedelta(hours=s.notify_remind_within_h),
        )
    if not cases and not tasks:
        return ""
    return f"{len(cases)} case deadline reminder(s), {len(tasks)} joint-task reminder(s)"
