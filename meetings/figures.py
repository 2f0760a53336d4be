"""The month's figures of a town, per handling agency and per community (for the agenda)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from incidents.queries import CASE_ROWS
from meetings.agenda import Window

FIGURES = """
SELECT {key} AS code, {name} AS name,
  count(*) FILTER (WHERE c.created_at >= :start AND c.created_at < :until) AS received,
  count(*) FILTER (WHERE c.closed_at >= :start AND c.closed_at < :until
                   AND c.status = 'closed') AS closed,
  count(*) FILTER (WHERE c.closed_at >= :start AND c.closed_at < :until AND c.status = 'closed'
                   AND (c.due_at IS NULL OR COALESCE(c.resolved_at, c.closed_at) <= c.due_at))
    AS closed_on_time,
  count(*) FILTER (WHERE c.status NOT IN ('resolved', 'closed', 'rejected')) AS open,
  count(*) FILTER (WHERE c.status NOT IN ('resolved', 'closed', 'rejected')
                   AND c.due_at < :as_of) AS overdue
FROM {cases} {join}
WHERE c.town_code = :town AND c.merged_into IS NULL AND c.created_at < :as_of
GROUP BY 1
HAVING count(*) FILTER (WHERE c.created_at >= :start AND c.created_at < :until
                              OR c.closed_at >= :start AND c.closed_at < :until
                              OR c.status NOT IN ('resolved', 'closed', 'rejected')) > 0
ORDER BY 1
"""

GROUPINGS = {
    "by_agency": (
        "c.handler_party",
        "min(a.name_zh)",
        "LEFT JOIN agency a ON a.code = c.handler_party",
    ),
    "by_community": (
        "COALESCE(c.community_code, '')",
        "min(c.routing->'territory'->'community'->>'name')",
        "",
    ),
}
COUNTS = ("received", "closed", "closed_on_time", "open", "overdue")


def month_figures(conn: Connection, w: Window) -> dict[str, Any]:
    """Received, closed (and on time), open and overdue cases per agency and per community.

    ``received`` and ``closed`` count the month up to the moment of preparation; ``open`` and
    ``overdue`` are the state at that moment. Closed on time: resolved (or closed) by the
    resolution deadline.
    """
    out: dict[str, Any] = {
        "period": {"from": w.start.date().isoformat(), "to": w.end.date().isoformat()},
        "as_of": w.as_of.isoformat(),
    }
    for name, (key, label, join) in GROUPINGS.items():
        rows = conn.execute(
            text(FIGURES.format(key=key, name=label, cases=CASE_ROWS, join=join)), w.params()
        ).mappings()
        out[name] = [
            {"code": r["code"], "name": r["name"] or r["code"], **{k: r[k] for k in COUNTS}}
            for r in rows
        ]
    out["totals"] = {k: sum(r[k] for r in out["by_agency"]) for k in COUNTS}
    return out
