"""The work list (我的待办): the open cases that wait for a user or their unit.

One named query for every staff role, through :func:`incidents.access.visibility` (never a
case the user may not see) and :func:`incidents.access.mine` (the user's unit handles it or
holds an open joint-enforcement task of it). A case waits in one bucket:

* ``new`` — reported, not yet accepted: for the units it is routed to, and for dispatchers,
  town coordinators and community workers watching their area;
* ``accept`` — accepted, dispatched, referred or reopened: the handler has to take it up (a
  dispatcher has to dispatch an accepted case);
* ``handle`` — in progress, postponed, under joint enforcement: the handler is working on it;
* ``verify`` — resolved: for those who verify (dispatchers, the community's workers);
* ``visit`` — a phone report resolved or closed whose 回访 call is still to make (dispatchers;
  ``incidents.followup``).

Overdue cases come first, then by bucket and deadline. No personal data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from accounts.models import Role
from accounts.service import Principal
from incidents import access

BUCKETS = ("new", "accept", "handle", "verify", "visit")
#: An open 回访 call of the case (the dispatchers' own).
VISIT_SQL = """(:dispatcher AND EXISTS (SELECT 1 FROM case_task rv WHERE rv.case_id = c.id
    AND rv.kind = 'return_visit' AND NOT rv.done))"""
LIMIT = 200

BUCKET_SQL = """CASE WHEN c.status = 'reported' THEN 'new'
    WHEN {visit} THEN 'visit'
    WHEN c.status = 'resolved' THEN 'verify'
    WHEN c.status IN ('accepted', 'dispatched', 'referred', 'reopened') THEN 'accept'
    ELSE 'handle' END"""
OVERDUE_SQL = """(c.due_at IS NOT NULL AND c.due_at < now()
    AND c.status NOT IN ('resolved', 'closed', 'rejected'))"""

WAITING = """SELECT c.id, c.tracking_code, c.type_code, vt.name_zh AS type_name, c.status,
    c.urgency, c.address_text, c.town_code, c.community_code, c.handler_party, c.handler_name,
    c.created_at, c.due_at, c.hidden, {bucket} AS bucket, {overdue} AS overdue
  FROM case_file c JOIN violation_type vt ON vt.code = c.type_code
  WHERE {visible} AND c.merged_into IS NULL
    AND (c.status NOT IN ('closed', 'rejected') OR {visit})
    AND ({visit} OR (c.status = 'reported' AND (:watch_new OR {mine}))
      OR (c.status = 'resolved' AND :verifier)
      OR (c.status NOT IN ('reported', 'resolved') AND {mine})
      OR (:dispatcher AND (c.status = 'accepted' OR {overdue})))"""

COUNTS = """SELECT w.bucket, count(*) AS n, count(*) FILTER (WHERE w.overdue) AS late
  FROM ({waiting}) w GROUP BY w.bucket"""

ITEMS = """SELECT w.* FROM ({waiting}) w
  WHERE (CAST(:bucket AS text) IS NULL OR w.bucket = :bucket)
    AND (NOT :overdue_only OR w.overdue)
    AND (CAST(:type AS text) IS NULL OR w.type_code = :type)
  ORDER BY w.overdue DESC, array_position(CAST(:order AS text[]), w.bucket),
           w.due_at NULLS LAST, w.id
  LIMIT :limit"""


def work_list(
    conn: Connection,
    *,
    principal: Principal,
    bucket: str | None = None,
    overdue_only: bool = False,
    type_code: str | None = None,
    limit: int = LIMIT,
) -> dict[str, Any]:
    """What waits for ``principal``: counts per bucket (``n``, ``late``: overdue among them),
    and the waiting cases (filtered by ``bucket``, ``overdue_only`` and ``type_code``),
    overdue first."""
    if bucket is not None and bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}; one of {', '.join(BUCKETS)}")
    visible, params = access.visibility(principal)
    mine, mine_params = access.mine(principal)
    waiting = WAITING.format(
        bucket=BUCKET_SQL.format(visit=VISIT_SQL),
        overdue=OVERDUE_SQL,
        visible=visible,
        mine=mine,
        visit=VISIT_SQL,
    )
    params = (
        params
        | mine_params
        | {
            "watch_new": principal.role in access.WATCH_NEW,
            "verifier": principal.role in access.VERIFIERS,
            "dispatcher": principal.role is Role.dispatcher,
        }
    )
    counts = {b: {"n": 0, "late": 0} for b in BUCKETS}
    for row in conn.execute(text(COUNTS.format(waiting=waiting)), params):
        counts[row.bucket] = {"n": int(row.n), "late": int(row.late)}
    rows = conn.execute(
        text(ITEMS.format(waiting=waiting)),
        params
        | {
            "bucket": bucket,
            "overdue_only": overdue_only,
            "type": type_code,
            "order": list(BUCKETS),
            "limit": limit,
        },
    ).mappings()
    items = [dict(r) for r in rows]
    total = sum(c["n"] for c in counts.values())
    return {
        "counts": counts,
        "total": total,
        "overdue": sum(c["late"] for c in counts.values()),
        "items": items,
        "limit": limit,
    }


def case_counts(conn: Connection) -> dict[str, int]:
    """How many cases there are and how many are open: a figure for the administrator's
    home (no case itself: an administrator sees none)."""
    row = conn.execute(
        text("""SELECT count(*) AS cases, count(*) FILTER (
                  WHERE status NOT IN ('closed', 'rejected') AND merged_into IS NULL) AS open
                FROM case_file""")
    ).one()
    return {"cases": int(row.cases), "open_cases": int(row.open)}
