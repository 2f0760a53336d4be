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
from incidents import access, tasks

BUCKETS = ("new", "accept", "handle", "verify", "visit")
#: An open 回访 call of the case (the dispatchers' own).
VISIT_SQL = """(:dispatcher AND c.id IN (SELECT rv.case_id FROM case_task rv
    WHERE rv.kind = 'return_visit' AND NOT rv.done))"""
LIMIT = 200

BUCKET_SQL = """CASE WHEN c.status = 'reported' THEN 'new'
    WHEN {visit} THEN 'visit'
    WHEN c.status = 'resolved' THEN 'verify'
    WHEN c.status IN ('accepted', 'dispatched', 'referred', 'reopened') THEN 'accept'
    ELSE 'handle' END"""
OVERDUE_SQL = """(c.due_at IS NOT NULL AND c.due_at < now()
    AND c.status NOT IN ('resolved', 'closed', 'rejected'))"""

#: Who waits for it, among the cases of one part of the principal's visibility.
WAITS = """({visit} OR (c.status = 'reported' AND (:watch_new OR {mine}))
      OR (c.status = 'resolved' AND :verifier)
      OR (c.status NOT IN ('reported', 'resolved') AND {mine})
      OR (:dispatcher AND (c.status = 'accepted' OR {overdue})))"""
#: The waiting cases' keys, part by part: the open ones (from the partial index of open
#: cases, ``ix_case_file_waiting``), then the closed ones whose 回访 call is still to make.
KEYS = """(SELECT c.id, {bucket} AS bucket, {overdue} AS overdue, c.due_at, c.type_code
    FROM case_file c WHERE ({visible}) AND c.merged_into IS NULL
      AND c.status NOT IN ('closed', 'rejected') AND {waits})
  UNION ALL
  (SELECT c.id, 'visit', false, c.due_at, c.type_code
    FROM case_file c WHERE ({visible}) AND c.merged_into IS NULL
      AND c.status IN ('closed', 'rejected') AND {visit})"""

#: One statement: the counts per bucket (every waiting case, from the index alone) and the
#: page of them in order, the page's cases read by id.
WORK_LIST = """WITH w AS MATERIALIZED ({keys}),
counts AS (SELECT coalesce(json_object_agg(bucket, json_build_array(n, late)), '{{}}') AS c
  FROM (SELECT w.bucket, count(*) AS n, count(*) FILTER (WHERE w.overdue) AS late
        FROM w GROUP BY w.bucket) b),
page AS (SELECT w.* FROM w
  WHERE (CAST(:bucket AS text) IS NULL OR w.bucket = :bucket)
    AND (NOT :overdue_only OR w.overdue)
    AND (CAST(:type AS text) IS NULL OR w.type_code = :type)
  ORDER BY w.overdue DESC, array_position(CAST(:order AS text[]), w.bucket),
           w.due_at NULLS LAST, w.id
  LIMIT :limit)
SELECT counts.c AS counts, c.id, c.tracking_code, c.type_code, vt.name_zh AS type_name,
    c.status, c.urgency, c.address_text, c.town_code, c.community_code, c.handler_party,
    c.handler_name, c.created_at, c.due_at, c.hidden, p.bucket, p.overdue
  FROM counts LEFT JOIN (page p JOIN case_file c ON c.id = p.id
    JOIN violation_type vt ON vt.code = c.type_code) ON true
  ORDER BY p.overdue DESC, array_position(CAST(:order AS text[]), p.bucket),
           p.due_at NULLS LAST, p.id"""


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
    tasked = tasks.tasked_cases(conn, principal=principal)
    parts, params = access.visibility_parts(principal, tasked=tasked)
    mine, mine_params = access.mine(principal)
    keys = "\n  UNION ALL\n  ".join(
        KEYS.format(
            bucket=BUCKET_SQL.format(visit=VISIT_SQL),
            overdue=OVERDUE_SQL,
            visible=part,
            waits=WAITS.format(visit=VISIT_SQL, mine=mine, overdue=OVERDUE_SQL),
            visit=VISIT_SQL,
        )
        for part in parts
    )
    params = (
        params
        | mine_params
        | {
            "watch_new": principal.role in access.WATCH_NEW,
            "verifier": principal.role in access.VERIFIERS,
            "dispatcher": principal.role is Role.dispatcher,
            "bucket": bucket,
            "overdue_only": overdue_only,
            "type": type_code,
            "order": list(BUCKETS),
            "limit": limit,
        }
    )
    rows = conn.execute(text(WORK_LIST.format(keys=keys)), params).mappings().all()
    counts = {b: {"n": 0, "late": 0} for b in BUCKETS}
    for b, (n, late) in (rows[0]["counts"] if rows else {}).items():
        counts[b] = {"n": int(n), "late": int(late)}
    items = [{k: v for k, v in r.items() if k != "counts"} for r in rows if r["id"] is not None]
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
