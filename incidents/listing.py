"""The staff's list of cases: visible cases, filtered, a page at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import access, disclosure
from incidents.queries import CASE_FIELDS

#: The orders of :func:`list_cases`.
LIST_ORDERS = {"due": "c.due_at NULLS LAST, c.id", "newest": "c.created_at DESC, c.id DESC"}
#: Lists count their matches up to this many (``total_capped`` says when there are more).
TOTAL_CAP = 10_000


def list_cases(
    conn: Connection,
    *,
    principal: Principal,
    status: list[str] | None = None,
    type_code: str | None = None,
    agency: str | None = None,
    town: str | None = None,
    community: str | None = None,
    overdue: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 100,
    offset: int = 0,
    order: str = "due",
) -> dict[str, Any]:
    """Visible cases, filtered, a page and the total: by deadline (soonest first), or with
    ``order="newest"`` the latest reported first (the dispatcher's queue of new cases)."""
    if order not in LIST_ORDERS:
        raise ValueError(f"unknown order {order!r}; one of {', '.join(LIST_ORDERS)}")
    where, params = access.visibility(principal)
    xmin, ymin, xmax, ymax = bbox or (None, None, None, None)
    filters = f"""{where}
        AND (CAST(:status AS text[]) IS NULL OR c.status = ANY(CAST(:status AS text[])))
        AND (CAST(:type AS text) IS NULL OR c.type_code = :type)
        AND (CAST(:agency AS text) IS NULL OR c.handler_party = :agency)
        AND (CAST(:town AS text) IS NULL OR c.town_code = :town)
        AND (CAST(:community AS text) IS NULL OR c.community_code = :community)
        AND (CAST(:since AS timestamptz) IS NULL OR c.created_at >= :since)
        AND (CAST(:until AS timestamptz) IS NULL OR c.created_at < :until)
        AND (CAST(:xmin AS float8) IS NULL
             OR c.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326))
        AND (CAST(:overdue AS boolean) IS NULL OR (c.due_at IS NOT NULL AND c.due_at < now()
             AND c.status NOT IN ('resolved', 'closed', 'rejected')) = :overdue)"""
    params |= {
        "status": status,
        "type": type_code,
        "agency": agency,
        "town": town,
        "community": community,
        "since": since,
        "until": until,
        "xmin": xmin,
        "ymin": ymin,
        "xmax": xmax,
        "ymax": ymax,
        "overdue": overdue,
    }
    total = conn.execute(  # counted up to TOTAL_CAP: an exact count would scan everything
        text(f"SELECT count(*) FROM (SELECT 1 FROM case_file c WHERE {filters} LIMIT :cap) n"),
        params | {"cap": TOTAL_CAP + 1},
    ).scalar_one()
    rows = (
        conn.execute(
            text(f"""SELECT {CASE_FIELDS} FROM case_file c
                 JOIN violation_type vt ON vt.code = c.type_code WHERE {filters}
                 ORDER BY {LIST_ORDERS[order]} LIMIT :limit OFFSET :offset"""),
            params | {"limit": limit, "offset": offset},
        )
        .mappings()
        .all()
    )
    return {
        "total": min(total, TOTAL_CAP),
        "total_capped": total > TOTAL_CAP,
        "limit": limit,
        "offset": offset,
        "items": [_list_item(principal, r) for r in rows],
    }


def _list_item(principal: Principal, row: Any) -> dict[str, Any]:
    if access.limited_view(principal, row):
        return access.limited_item(principal, row)
    return disclosure.shown({k: v for k, v in row.items() if k != "routing"}, principal)
