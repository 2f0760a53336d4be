"""Open311 GeoReport v2 service requests read back: the public listing (``GET requests``), one
request, and a request by its token — from ``case_file``, ``violation_type`` and the public
events only, hidden and sensitive cases never listed, texts masked (:mod:`incidents.open311`
holds the services and the filing)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from incidents.open311 import (
    CLOSED,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    MAX_SPAN,
    MEDIA_MARKER,
    OUTCOMES,
    STATUS_NOTES,
    TZ,
    BadRequest,
    NotFound,
    all_digits,
    int_param,
    iso,
    param,
    wants_english,
)
from incidents.public_text import mask

REQUESTS = """
SELECT c.id, c.status, c.type_code, vt.name_zh, vt.name_en, c.description, c.handler_name,
       c.channel,
       c.deadline_basis, c.created_at, c.updated_at, c.closed_at, c.due_at, c.address_text,
       c.lon, c.lat, c.outcome, c.rejection_reason, c.merged_into,
       c.routing -> 'territory' AS territory, c.routing -> 'property_area' AS property_area
FROM case_file c JOIN violation_type vt ON vt.code = c.type_code
WHERE NOT c.hidden AND NOT vt.sensitive  -- drugs, vice …: in no public listing
  AND (CAST(:ids AS bigint[]) IS NULL OR c.id = ANY(CAST(:ids AS bigint[])))
  AND (CAST(:codes AS text[]) IS NULL OR c.type_code = ANY(CAST(:codes AS text[])))
  AND (CAST(:start AS timestamptz) IS NULL OR c.created_at >= CAST(:start AS timestamptz))
  AND (CAST(:end AS timestamptz) IS NULL OR c.created_at <= CAST(:end AS timestamptz))
  AND (CAST(:open AS boolean) IS NULL
       OR (c.status NOT IN ('closed', 'rejected')) = CAST(:open AS boolean))
ORDER BY c.created_at DESC, c.id DESC
LIMIT :limit OFFSET :offset
"""

EVENTS = """
SELECT case_id, at, action, to_status, public_reply FROM case_event
WHERE case_id = ANY(CAST(:ids AS bigint[])) AND public ORDER BY case_id, id
"""


def _status_notes(row: Any, events: list[Any]) -> str:
    """The status in words, and the latest public reply (never a staff note), masked."""
    if row.merged_into is not None:
        return f"与第 {row.merged_into} 号诉求合并办理"
    note = STATUS_NOTES.get(row.status, row.status)
    if row.status == "closed" and row.outcome in OUTCOMES:
        note = f"{note}：{OUTCOMES[row.outcome]}"
    replies = [e.public_reply for e in events if e.public_reply]
    return f"{note}：{mask(replies[-1])}" if replies else note


PUBLIC_DIGITS = 3


def _address(row: Any) -> str | None:
    if row.address_text and row.channel == "open311":  # a resident's own words stay private
        return mask(row.address_text)
    places = [row.property_area] + [(row.territory or {}).get(k) for k in ("community", "town")]
    names = [p["name"] for p in places if p and p.get("name")]
    return "，".join(names) or None


def _request(row: Any, *, en: bool, events: list[Any], extensions: bool) -> dict[str, Any]:
    description, _, media = (row.description or "").partition(MEDIA_MARKER)
    closed = row.status in CLOSED
    notice = f"由{row.handler_name}办理" + (
        f"（{row.deadline_basis}）" if row.deadline_basis else ""
    )
    out = {
        "service_request_id": str(row.id),
        "status": "closed" if closed else "open",
        "status_notes": _status_notes(row, events),
        "service_name": row.name_en if en else row.name_zh,
        "service_code": row.type_code,
        # public: only what a 311 client filed itself; residents' own words stay private
        "description": (mask(description) or None) if row.channel == "open311" else None,
        "agency_responsible": row.handler_name or None,
        "service_notice": notice,
        "requested_datetime": iso(row.created_at),
        "updated_datetime": iso((row.closed_at if closed else None) or row.updated_at),
        "expected_datetime": iso(row.due_at),
        "address": _address(row),
        "address_id": None,
        "zipcode": None,
        "lat": round(row.lat, PUBLIC_DIGITS),  # ≈ 100 m: no exact homes in public answers
        "long": round(row.lon, PUBLIC_DIGITS),
        "media_url": (media if mask(media) == media else None) or None,
    }
    if extensions:  # public history: only the public replies, never staff notes
        notes = [
            {"datetime": iso(e.at), "type": e.action, "status": e.to_status}
            | {"description": mask(e.public_reply)}
            for e in events
        ]
        out["extended_attributes"] = {
            "detailed_status": row.status,
            "handler": row.handler_name,
            "notes": notes,
        }
    return out


def _query(conn: Connection, *, params: Mapping[str, str], **where: Any) -> list[dict[str, Any]]:
    args = {"ids": None, "codes": None, "start": None, "end": None, "open": None}
    args |= {"limit": MAX_PAGE_SIZE, "offset": 0} | where
    rows = conn.execute(text(REQUESTS), args).all()
    extensions = (param(params, "extensions") or "").lower() in ("true", "1", "yes")
    events: dict[int, list[Any]] = {r.id: [] for r in rows}
    if rows:  # the public replies: status notes, and the notes of the extensions
        for e in conn.execute(text(EVENTS), {"ids": list(events)}):
            events[e.case_id].append(e)
    en = wants_english(params)
    return [_request(r, en=en, events=events[r.id], extensions=extensions) for r in rows]


def _datetime(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    value = re.sub(r" (\d{2}:?\d{2})$", r"+\1", value)  # an unencoded "+" arrives as a space
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.min
    if not 1970 <= parsed.year <= 9000:  # also keeps the window's arithmetic in range
        raise BadRequest(f"{name} must be an ISO 8601 date-time, eg 2026-01-01T00:00:00+08:00")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TZ)


def _window(params: Mapping[str, str], now: datetime) -> tuple[datetime, datetime | None]:
    start = _datetime(param(params, "start_date"), "start_date")
    end = _datetime(param(params, "end_date"), "end_date")
    if start and end:
        if end < start:
            raise BadRequest("end_date is before start_date")
        if end - start > MAX_SPAN:
            raise BadRequest("start_date and end_date may not span more than 90 days")
        return start, end
    if start:
        return start, start + MAX_SPAN
    if end:
        return end - MAX_SPAN, end
    return now - MAX_SPAN, None


def _open_filter(value: str | None) -> bool | None:
    wanted = {s.strip().lower() for s in (value or "").split(",") if s.strip()}
    if wanted - {"open", "closed"}:
        raise BadRequest("status is open, closed or both (comma separated)")
    return None if len(wanted) != 1 else wanted == {"open"}


def list_requests(
    conn: Connection, *, params: Mapping[str, str], now: datetime | None = None
) -> list[dict[str, Any]]:
    """GET requests: by ids (which override everything else), or filtered and paged."""
    ids = param(params, "service_request_id")
    if ids:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        if len(wanted) > MAX_PAGE_SIZE:
            raise BadRequest(f"at most {MAX_PAGE_SIZE} service_request_id at once")
        numbers = [int(i) for i in wanted if all_digits(i)]
        return _query(conn, params=params, ids=numbers)
    codes = param(params, "service_code")
    start, end = _window(params, now or datetime.now(TZ))
    page = int_param(param(params, "page"), "page", 1)
    size = min(int_param(param(params, "page_size"), "page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    return _query(
        conn,
        params=params,
        codes=[c.strip() for c in codes.split(",") if c.strip()] if codes else None,
        start=start,
        end=end,
        open=_open_filter(param(params, "status")),
        limit=size,
        offset=(page - 1) * size,
    )


def get_request(
    conn: Connection, *, request_id: str, params: Mapping[str, str]
) -> list[dict[str, Any]]:
    """GET requests/{id}: a list of one, as the spec answers."""
    found = _query(conn, params=params, ids=[int(request_id)]) if all_digits(request_id) else []
    if not found:
        raise NotFound(f"no service request {request_id}")
    return found


def token(conn: Connection, *, token: str) -> list[dict[str, Any]]:
    """GET tokens/{token}: the request filed with this tracking code."""
    code = token.strip().upper()
    row = conn.execute(
        text("""SELECT r.case_id FROM case_reporter r JOIN case_file c ON c.id = r.case_id
                WHERE r.tracking_code = :t AND NOT c.hidden"""),
        {"t": code},
    ).first()
    if row is None:
        raise NotFound("no service request with that token")
    return [{"service_request_id": str(row.case_id), "token": code}]
