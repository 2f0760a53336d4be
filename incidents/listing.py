"""The staff's list of cases: visible cases, filtered, a page at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import access, disclosure, tasks
from incidents.queries import UNFINISHED, UNSHOWN
from incidents.store import CASE
from jurisdictions.bbox import parse_bbox

#: The orders of :func:`list_cases`.
LIST_ORDERS = {"due": "c.due_at NULLS LAST, c.id", "newest": "c.created_at DESC, c.id DESC"}
#: Lists count their matches up to this many (``total_capped`` says when there are more; the
#: pages show "1000+"). A list is a work queue, not a statistic (the assessment and the
#: statistics count exactly): counting 10,000 took most of the database's time under the
#: dispatch centre's load (issue #17: 10.5 → 3.7 ms per list on a table autovacuum had not
#: caught up with, 1.6 → 1.1 ms on one it had).
TOTAL_CAP = 1_000
#: The longest page.
MAX_PAGE = 500


#: What a list shows of each case: the case views' columns (:data:`incidents.queries.CASE_FIELDS`)
#: but the routing (a kilobyte of JSON per case that no list item carries).
_LISTED = [col.name for col in CASE.c if col.name not in UNSHOWN | {"routing"}]
LIST_FIELDS = f"""{", ".join("c." + name for name in _LISTED)},
    vt.name_zh AS type_name,
    (c.due_at IS NOT NULL AND c.due_at < now() AND {UNFINISHED}) AS overdue"""
#: The ``overdue`` filter spelled so that PostgreSQL can use an index (the partial index of
#: the unfinished cases by deadline, migration 0032) rather than test an expression on every
#: row: overdue is ``due_at < now()`` and not resolved, closed or rejected.
OVERDUE_FILTER = {
    None: "TRUE",
    True: "(c.due_at < now() AND c.status NOT IN ('resolved', 'closed', 'rejected'))",
    False: """(c.due_at IS NULL OR c.due_at >= now()
               OR c.status IN ('resolved', 'closed', 'rejected'))""",
}


class CaseListQuery(BaseModel):
    """The filters and the page of the staff's list (the query of ``GET /api/v1/cases``, and
    the keyword arguments of :func:`list_cases`)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    status: list[str] | None = None
    type_code: str | None = Field(default=None, alias="type")
    agency: str | None = None
    town: str | None = None
    community: str | None = None
    overdue: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    bbox: str | None = None
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0)
    order: Literal["due", "newest"] = Field(
        default="due",
        description="`due`: soonest deadline first; `newest`: latest reported first.",
    )


def list_cases(
    conn: Connection, *, principal: Principal, query: CaseListQuery | None = None, **filters: Any
) -> dict[str, Any]:
    """Visible cases, filtered, a page and the total: by deadline (soonest first), or with
    ``order="newest"`` the latest reported first (the dispatcher's queue of new cases)."""
    q = query or CaseListQuery(**filters)
    tasked = tasks.tasked_cases(conn, principal=principal)
    parts, params = access.visibility_parts(principal, tasked=tasked)
    xmin, ymin, xmax, ymax = parse_bbox(q.bbox) if q.bbox else (None, None, None, None)
    condition = f"""(CAST(:status AS text[]) IS NULL OR c.status = ANY(CAST(:status AS text[])))
        AND (CAST(:type AS text) IS NULL OR c.type_code = :type)
        AND (CAST(:agency AS text) IS NULL OR c.handler_party = :agency)
        AND (CAST(:town AS text) IS NULL OR c.town_code = :town)
        AND (CAST(:community AS text) IS NULL OR c.community_code = :community)
        AND (CAST(:since AS timestamptz) IS NULL OR c.created_at >= :since)
        AND (CAST(:until AS timestamptz) IS NULL OR c.created_at < :until)
        AND (CAST(:xmin AS float8) IS NULL
             OR c.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326))
        AND {OVERDUE_FILTER[q.overdue]}"""
    params |= {
        "status": q.status,
        "type": q.type_code,
        "agency": q.agency,
        "town": q.town,
        "community": q.community,
        "since": q.since,
        "until": q.until,
        "xmin": xmin,
        "ymin": ymin,
        "xmax": xmax,
        "ymax": ymax,
    }
    order = LIST_ORDERS[q.order]

    def each_part(select: str, tail: str = "") -> str:  # the visible cases, part by part
        return "\n UNION ALL ".join(
            f"({select} FROM case_file c WHERE ({part}) AND {condition}{tail})" for part in parts
        )

    total = conn.execute(  # counted up to TOTAL_CAP: an exact count would scan everything
        text(f"SELECT count(*) FROM ({each_part('SELECT 1')} LIMIT :cap) n"),
        params | {"cap": TOTAL_CAP + 1},
    ).scalar_one()
    if len(parts) == 1:
        cases, where = "case_file c", f"WHERE ({parts[0]}) AND {condition}"
    else:  # each part's first offset + limit (its own index, in order), merged
        cases, where = f"({each_part('SELECT c.*', f' ORDER BY {order} LIMIT :end')}) c", ""
    rows = (
        conn.execute(
            text(f"""SELECT {LIST_FIELDS} FROM {cases}
                 JOIN violation_type vt ON vt.code = c.type_code {where}
                 ORDER BY {order} LIMIT :limit OFFSET :offset"""),
            params | {"limit": q.limit, "offset": q.offset, "end": q.offset + q.limit},
        )
        .mappings()
        .all()
    )
    return {
        "total": min(total, TOTAL_CAP),
        "total_capped": total > TOTAL_CAP,
        "limit": q.limit,
        "offset": q.offset,
        "items": [_list_item(principal, r) for r in rows],
    }


def _list_item(principal: Principal, row: Any) -> dict[str, Any]:
    if access.limited_view(principal, row):
        return access.limited_item(principal, row)
    return disclosure.shown(dict(row), principal)
