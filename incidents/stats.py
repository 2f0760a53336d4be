"""Counts of the case store for monitoring (no personal data, no per-case detail)."""

from __future__ import annotations

from sqlalchemy import Connection, text

from incidents.models import STATUSES


def cases_by_status(conn: Connection) -> dict[str, int]:
    """How many cases stand in each status (every status, 0 when none)."""
    rows = conn.execute(text("SELECT status, count(*) FROM case_file GROUP BY status"))
    return dict.fromkeys(STATUSES, 0) | {status: int(n) for status, n in rows}
