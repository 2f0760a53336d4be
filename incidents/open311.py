"""Open311 GeoReport v2 over the case store: functions of a connection, no HTTP.

Services are the reportable violation types; a service request is a case, filed on the
``open311`` channel like a resident's report. Answers are the spec's JSON shapes (the router
renders XML from the same data), read from ``case_file`` and ``violation_type`` only: the
reporter's name and phone are stored apart and never answered, nor is the tracking code, which
serves as the *token* of ``GET tokens/{token}`` and is told once, in the POST's notice.
Choices where the spec leaves room are listed in :mod:`incidents.open311_router`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import Connection, text

from accounts.service import api_key_name
from incidents import intake
from incidents.intake import MAX_DESCRIPTION, Report
from jurisdictions import catalog
from jurisdictions.service import resolve_points, to_store_coordinates
from shudi.exceptions import DomainError

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: Bump when the services (violation types) or their definitions change.
CHANGESET = "2026-11-25T00:00:00+08:00"
FORMATS = {"xml": "text/xml", "json": "application/json"}
TZ = timezone(timedelta(hours=8), "Asia/Shanghai")  # China keeps no daylight saving
MAX_SPAN = timedelta(days=90)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MEDIA_MARKER = "\n\n[media_url] "
CLOSED = ("closed", "rejected")
ADDRESS_ONLY = (
    "this service locates every request by its point: send lat and long (WGS-84); "
    "an address_string or address_id alone cannot be placed"
)
#: Service definition attributes per service code (none yet: every service has metadata false).
ATTRIBUTES: dict[str, list[dict[str, Any]]] = {}

#: Status notes: the Shudi statuses, and the outcomes of closed cases.
# fmt: off
STATUS_NOTES = {
    "reported": "已登记，待受理", "accepted": "已受理", "dispatched": "已派单至责任单位",
    "in_progress": "办理中", "resolved": "已办结，待核查", "closed": "已结案",
    "rejected": "不予受理", "referred": "已转交责任单位",
    "joint": "多部门联合执法，由镇/街道协调", "postponed": "已批准延期办理",
    "reopened": "已重新办理",
}
OUTCOMES = {
    "fixed": "已整改", "not_fixed": "未整改", "duplicate": "重复诉求",
    "not_our_matter": "不属物业管理执法联动机制职责",
}
# fmt: on


class Open311Error(DomainError):
    """An Open311 request that cannot be answered; ``status`` is its HTTP status."""

    code, status = "open311_error", 400


class BadRequest(Open311Error):
    status = 400


class InvalidApiKey(Open311Error):
    status = 403


class NotFound(Open311Error):
    status = 404


def iso(value: datetime | None) -> str | None:
    """W3C date-time in Beijing time, e.g. ``2026-01-02T09:30:00+08:00``."""
    return value.astimezone(TZ).isoformat(timespec="seconds") if value else None


def param(params: Mapping[str, str], name: str) -> str | None:
    """An optional argument: empty counts as absent, as the spec says."""
    value = params.get(name)
    return (value.strip() or None) if isinstance(value, str) else None


def _float(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise BadRequest(f"{name} must be a number (WGS-84 degrees), got {value!r}")
    return number


def all_digits(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= 9


def int_param(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    if not all_digits(value) or int(value) < 1:
        raise BadRequest(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


def wants_english(params: Mapping[str, str]) -> bool:
    return (param(params, "lang") or "").lower().startswith("en")


def discovery(base_url: str) -> dict[str, Any]:
    """The Service Discovery document; ``base_url`` is where this server is reached."""
    return {
        "changeset": CHANGESET,
        "contact": "属地 Shudi 物业管理执法联动机制受理平台；接入问题请联系本区平台管理员。",
        "key_service": "api_key 由本区平台管理员发放（shudi apikey create <客户端名称>）；"
        "only POST requests needs an api_key.",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url.rstrip("/") + "/open311/v2",
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS.values()),
            }
        ],
    }


def services(conn: Connection, *, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """One service per reportable violation type; ``lat``/``long`` keep those that apply there.

    Outside the district nothing applies (``[]``); inside, every service does (the handler
    follows from the point, so no type is refused by place).
    """
    lat, lon = param(params, "lat"), param(params, "long")
    if (lat is None) != (lon is None):
        raise BadRequest("lat and long go together: send both or neither")
    if lat is not None and lon is not None:
        x, y = to_store_coordinates(_float(lon, "long"), _float(lat, "lat"))
        if not resolve_points(conn, lons=[x], lats=[y], with_nearest=False)[0].inside:
            return []
    en = wants_english(params)
    agencies = {a["code"]: a for a in catalog.list_agencies(conn)}
    out = []
    for t in catalog.list_types(conn, reportable=True):
        agency = agencies.get(t["agency"], {})
        name = t["name_en"] if en else t["name_zh"]
        group = agency.get("name_en" if en else "name_zh") or t["agency"]
        out.append(
            {
                "service_code": t["code"],
                "service_name": name,
                "description": f"{name} ({group})" if en else f"{name}（{group}）",
                "metadata": bool(ATTRIBUTES.get(t["code"])),
                "type": "realtime",
                "keywords": ",".join(t["keywords"] or []),
                "group": group,
            }
        )
    return out


def _reportable(conn: Connection, code: str) -> bool:
    try:
        catalog.get_type(conn, code=code, reportable_only=True)
    except catalog.UnknownViolationType:
        return False
    return True


def service_definition(conn: Connection, *, code: str) -> dict[str, Any]:
    """The attributes of one service (none yet); 404 for a code that is not a service."""
    if not _reportable(conn, code):
        raise NotFound(f"no service {code!r}; see GET services")
    return {"service_code": code, "attributes": ATTRIBUTES.get(code, [])}


def _contact_name(first: str, last: str) -> str:
    if first and last and not (first.isascii() and last.isascii()):
        return last + first  # 张 + 三: Chinese order, family name first, no space
    return " ".join(p for p in (first, last) if p)


def _media_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
        raise BadRequest("media_url must be an http(s) URL (it is stored as given, not fetched)")
    return value


@contextmanager
def _savepoint(conn: Connection) -> Iterator[Connection]:
    with conn.begin_nested():
        yield conn


def submit(
    conn: Connection,
    *,
    form: Mapping[str, str],
    now: datetime | None = None,
    ip: str | None = None,
) -> list[dict[str, Any]]:
    """POST requests: check the key and the arguments, then file the case with
    :func:`incidents.intake.submit` (the bans of the phone and of ``ip``, and the per-phone
    and per-cell limits, as for the resident's form; not the per-address limit: a key's client
    files for many callers); answer its id."""
    key = param(form, "api_key")
    if key is None or api_key_name(conn, key=key) is None:
        raise InvalidApiKey("api_key is missing or invalid: POST requests needs a valid key")
    code = param(form, "service_code")
    if code is None:
        raise BadRequest("service_code is required; see GET services")
    if not _reportable(conn, code):
        raise BadRequest(f"unknown service_code {code!r}; see GET services")
    lat, lon = param(form, "lat"), param(form, "long")
    if lat is None or lon is None:
        alone = lat is None and lon is None
        if alone and (param(form, "address_string") or param(form, "address_id")):
            raise BadRequest(ADDRESS_ONLY)
        raise BadRequest("a location is required: lat and long (WGS-84), both")
    description = (form.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise BadRequest(f"description is longer than {MAX_DESCRIPTION} characters")
    media = param(form, "media_url")
    if media:
        description += MEDIA_MARKER + _media_url(media)
        if len(description) > MAX_DESCRIPTION:
            raise BadRequest(
                f"description and media_url together are longer than {MAX_DESCRIPTION} characters"
            )
    try:
        report = Report(
            lon=_float(lon, "long"),
            lat=_float(lat, "lat"),
            type=code,
            description=description,
            address_text=param(form, "address_string") or "",
            contact_name=_contact_name(
                param(form, "first_name") or "", param(form, "last_name") or ""
            ),
            phone=param(form, "phone") or "",
            email=param(form, "email") or "",
            channel="open311",
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadRequest(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc
    _, created = intake.submit(
        reader=intake.using(conn),
        writer=lambda: _savepoint(conn),  # nothing stays behind when the report is refused
        report=report,
        keyed=False,
        ip=ip,
        now=now,
    )
    row = conn.execute(
        text("SELECT handler_name, due_at, deadline_basis FROM case_file WHERE id = :i"),
        {"i": created.id},
    ).one()
    notice = f"已登记，由{row.handler_name}办理"
    if row.due_at:
        notice += f"，预计 {iso(row.due_at)} 前办结（{row.deadline_basis}）"
    notice += f"。跟踪码 {created.tracking_code}：凭此码查询进度、评价办理结果。"
    return [{"service_request_id": str(created.id), "service_notice": notice, "account_id": None}]
