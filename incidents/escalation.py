"""Automatic escalation (二（十）2 → 二（九）3): a dispute the community committee has not settled
within its time limit goes to the town's mediation, with both steps on the case's history.
Run with the reminders by ``shudi cases remind`` (cron)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, text

from incidents.service import system_action
from incidents.workflow import BY_ACTION

NOTE = "社区居委会在办理时限内未能化解，自动提交镇/街道调解（二（九）3）"

DUE = text("""
SELECT id FROM case_file
WHERE status = ANY(:states) AND due_at IS NOT NULL AND due_at < :now
  AND routing -> 'escalation' ->> 'party' IS NOT NULL
  AND routing -> 'escalation' ->> 'party' <> handler_party
ORDER BY due_at, id
""")


def escalate_overdue(conn: Connection, *, now: datetime | None = None) -> list[int]:
    """Escalate every open case whose handler's time limit passed and that has an escalation
    step not yet taken; the ids escalated."""
    states = list(BY_ACTION["escalate"].sources)
    ids = [
        int(r.id) for r in conn.execute(DUE, {"states": states, "now": now or datetime.now(UTC)})
    ]
    for case_id in ids:
        system_action(conn, case_id=case_id, action="escalate", payload={"note": NOTE})
    return ids
