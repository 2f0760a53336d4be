"""Internal notes other domains leave on cases' histories (e.g. a joint meeting's action on
the cases it discussed): a non-public event on each case, its status unchanged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import store


def note_on_cases(
    conn: Connection,
    *,
    case_ids: Sequence[int],
    action: str,
    actor: Principal | None,
    data: Mapping[str, Any],
    note: str = "",
) -> int:
    """Record ``action`` on the history of each case (the system's when no actor); how many
    cases got the note."""
    rows = conn.execute(
        text("SELECT id, status FROM case_file WHERE id = ANY(:ids) ORDER BY id"),
        {"ids": list(case_ids)},
    ).all()
    events = [
        store.event_row(
            case_id=row.id,
            actor=actor,
            action=action,
            from_status=row.status,
            to_status=row.status,
            note=note,
            data=data,
            public=False,
            role=None if actor else "system",
        )
        for row in rows
    ]
    store.add_events(conn, rows=events)
    return len(events)
