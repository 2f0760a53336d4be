"""Deadline reminders (督办): an event on each open case whose response, stop or resolution
deadline has passed or is near, once per deadline. Run by ``shudi cases remind`` (cron)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from incidents.store import add_event
from notify.service import enqueue_for_event

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

DUE = """
SELECT c.id, c.status, c.handler_name, c.{column} AS deadline, c.{column}::text AS stamp
FROM case_file c
WHERE c.status = ANY(:states) AND c.{column} IS NOT NULL AND c.{column} <= :horizon
  AND NOT EXISTS (SELECT 1 FROM case_event e WHERE e.case_id = c.id AND e.action = 'reminder'
                  AND e.data ->> 'deadline' = :column AND e.data ->> 'at' = c.{column}::text)
ORDER BY c.{column}
"""


def send_reminders(
    conn: Connection, *, within: timedelta = timedelta(hours=4), now: datetime | None = None
) -> list[dict[str, Any]]:
    """Add a reminder event for each deadline passed or due within ``within``; what was sent."""
    now = now or datetime.now(UTC)
    sent = []
    for column, states, label in DEADLINES:
        rows = (
            conn.execute(
                text(DUE.format(column=column)),
                {"states": list(states), "horizon": now + within, "column": column},
            )
            .mappings()
            .all()
        )
        for row in rows:
            overdue = row["deadline"] <= now
            when = f"{row['deadline']:%Y-%m-%d %H:%M} UTC"
            note = f"{label}期限{'已超时' if overdue else '将至'}：{when}"
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
