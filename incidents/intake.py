"""Intake: a report becomes a case — resolved, routed, given deadlines — in one transaction.

Store first, notify later: the case, its reporter, photos and first event are committed
together, and only then is the answer (with the tracking code) given.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from accounts.models import Role
from accounts.service import Principal, name_actor
from incidents.deadlines import load_policy
from incidents.exceptions import InvalidReport
from incidents.photos import SanitizedPhoto
from incidents.tasks import add_task
from jurisdictions import catalog
from jurisdictions.routing import Routing, route
from jurisdictions.service import Resolution, resolve_one
from notify.service import enqueue_for_event
from shudi.pii import get_cipher

TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read over the phone
EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
TRACKING_LENGTH = 12  # 31**12 ≈ 2**59 codes
MAX_DESCRIPTION = 4000
#: Channels and the roles that may use them (residents are anonymous: role None).
CHANNELS: dict[str, frozenset[Role | None]] = {
    "resident": frozenset({None}),
    "open311": frozenset({None}),
    "hotline": frozenset({None, Role.dispatcher}),  # incidents/hotline.py: 12345 work orders
    "phone": frozenset({Role.dispatcher}),
    "patrol_community": frozenset({Role.community_worker}),
    "patrol_property": frozenset({Role.property_company}),
    "agency": frozenset({Role.agency_officer, Role.town_coordinator}),
}


def staff_channel(role: Role) -> str | None:
    """The channel a logged-in staff member of ``role`` files through (None: no channel —
    such an account may not file reports)."""
    for channel, roles in CHANNELS.items():
        if role in roles:
            return channel
    return None


@dataclass
class Report:
    """What a report says, in the reporter's coordinate system."""

    lon: float
    lat: float
    type: str
    crs: str = "wgs84"
    description: str = ""
    address_text: str = ""
    contact_name: str = ""
    phone: str = ""
    email: str = ""
    urgency: str | None = None
    channel: str = "resident"
    photos: list[SanitizedPhoto] = field(default_factory=list)


def new_tracking_code() -> str:
    """A random, unguessable code the resident follows the case with."""
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def _check(report: Report, actor: Principal | None) -> None:
    roles = CHANNELS.get(report.channel)
    if roles is None:
        raise InvalidReport(f"unknown channel {report.channel!r}")
    if (actor.role if actor else None) not in roles:
        raise InvalidReport(f"the {report.channel} channel is not for this account")
    if len(report.description) > MAX_DESCRIPTION:
        raise InvalidReport(
            f"the description is longer than {MAX_DESCRIPTION} characters", field="description"
        )
    if report.urgency and actor is None:
        raise InvalidReport("urgency is set by staff, not in a resident's report")
    phone = report.phone.replace(" ", "").replace("-", "")
    if phone and not (phone.lstrip("+").isdigit() and 5 <= len(phone) <= 20):
        raise InvalidReport("the phone number should be digits (5 to 20)", field="phone")
    if report.email.strip() and not EMAIL.match(report.email.strip()):
        raise InvalidReport("the e-mail address should look like name@example.com", field="email")


def case_columns(res: Resolution, outcome: Routing) -> dict[str, Any]:
    """The case columns that come from where it is and who handles it."""
    unit = outcome.handler.unit or {}
    pa = res.property_area
    return {
        "lon": res.lon,
        "lat": res.lat,
        "town_code": res.town.code if res.town else None,
        "community_code": res.community.code if res.community else None,
        "property_area_code": pa.code if pa else None,
        "property_company": (pa.property_company or None) if pa else None,
        "agency_units": {k: v.code for k, v in res.agency_units.items()},
        "handler_party": outcome.handler.party,
        "handler_unit_code": unit.get("code"),
        "handler_name": f"{outcome.handler.name} {unit.get('name', '')}".strip(),
        "routing": outcome.model_dump(mode="json"),
        "generations": res.generations,
    }


#: The case, its reporter and its first event in one statement (one round trip).
INSERT_CASE = text("""
WITH c AS (
  INSERT INTO case_file (tracking_code, type_code, scope, urgency, status, channel, description,
      address_text, input_crs, lon, lat, geom, town_code, community_code, property_area_code,
      property_company, agency_units, handler_party, handler_unit_code, handler_name, routing,
      generations, created_by, respond_due_at, stop_due_at, due_at, deadline_basis, created_at,
      updated_at)
  VALUES (:tracking_code, :type_code, :scope, :urgency, 'reported', :channel, :description,
      :address_text, :input_crs, :lon, :lat, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326),
      :town_code, :community_code, :property_area_code, :property_company, :agency_units,
      :handler_party, :handler_unit_code, :handler_name, :routing, :generations, :created_by,
      :respond_due_at, :stop_due_at, :due_at, :deadline_basis, :now, :now)
  RETURNING id
), reporter AS (
  INSERT INTO case_reporter (case_id, tracking_code, contact_name, phone, email)
  SELECT id, :tracking_code, :contact_name, :phone, :email FROM c
), event AS (
  INSERT INTO case_event (case_id, actor_id, actor_role, actor_label, action, from_status,
      to_status, note, data, public)
  SELECT id, :actor_id, :actor_role, :actor_label, 'report', NULL, 'reported', '', :event, true
  FROM c
)
SELECT id FROM c
""").bindparams(
    *(bindparam(n, type_=JSONB) for n in ("agency_units", "routing", "generations", "event"))
)


def add_event(
    conn: Connection,
    *,
    case_id: int,
    actor: Principal | None,
    action: str,
    from_status: str | None,
    to_status: str | None,
    note: str = "",
    data: dict[str, Any] | None = None,
    public: bool = True,
    role: str | None = None,
    public_reply: str = "",
) -> None:
    """Append one event to a case's history (``role`` names a non-user actor: system).

    ``note`` is the staff's; ``public_reply`` is what the public may read (public events only).
    """
    conn.execute(
        text("""INSERT INTO case_event (case_id, actor_id, actor_role, actor_label, action,
                    from_status, to_status, note, data, public, public_reply)
                VALUES (:c, :a, :r, :l, :act, :f, :t, :n, :d, :p, :pr)""").bindparams(
            bindparam("d", type_=JSONB)
        ),
        {
            "c": case_id,
            "a": actor.user_id if actor else None,
            "r": role or (actor.role.value if actor else "resident"),
            "l": actor.label if actor else "",
            "act": action,
            "f": from_status,
            "t": to_status,
            "n": note,
            "d": data or {},
            "p": public,
            "pr": public_reply if public else "",
        },
    )


def create_case(
    conn: Connection, *, report: Report, actor: Principal | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Resolve, route, time and store a report; the answer a reporter gets."""
    _check(report, actor)
    if actor is not None:  # staff filing: the audit log names them (a resident stays unnamed)
        name_actor(conn, principal=actor)
    vtype, agencies = catalog.type_and_agencies(
        conn, code=report.type, reportable_only=actor is None
    )
    res = resolve_one(conn, lon=report.lon, lat=report.lat, crs=report.crs)
    outcome = route(resolution=res, vtype=vtype, agencies=agencies)
    now = now or datetime.now(UTC)
    dl = load_policy().deadlines_for(vtype.code, vtype.scope, report.urgency, start=now)
    code = new_tracking_code()
    cols = case_columns(res, outcome)
    cipher = get_cipher()
    case_id = conn.execute(
        INSERT_CASE,
        cols
        | {
            "tracking_code": code,
            "type_code": vtype.code,
            "scope": vtype.scope,
            "urgency": dl.urgency,
            "channel": report.channel,
            "description": report.description,
            "address_text": report.address_text,
            "input_crs": report.crs,
            "created_by": actor.user_id if actor else None,
            "respond_due_at": dl.respond_by,
            "stop_due_at": dl.stop_by,
            "due_at": dl.resolve_by,
            "deadline_basis": dl.basis_zh,
            "now": now,
            "contact_name": cipher.seal(report.contact_name.strip(), column="contact_name"),
            "phone": cipher.seal(report.phone.strip(), column="phone"),
            "email": cipher.seal(report.email.strip(), column="email"),
            "actor_id": actor.user_id if actor else None,
            "actor_role": actor.role.value if actor else "resident",
            "actor_label": actor.label if actor else "",
            "event": {
                "channel": report.channel,
                "handler": cols["handler_name"],
                "reasons": [r.zh for r in outcome.reasons],
            },
        },
    ).scalar_one()
    for photo in report.photos:
        conn.execute(
            text("""INSERT INTO case_photo (case_id, content, mime, width, height, sha256,
                        taken_at) VALUES (:c, :b, :m, :w, :h, :s, :t)"""),
            {
                "c": case_id,
                "b": photo.content,
                "m": photo.mime,
                "w": photo.width,
                "h": photo.height,
                "s": photo.sha256,
                "t": photo.taken_at,
            },
        )
    if outcome.joint and res.town:  # 三（二）: the town is asked to coordinate joint enforcement
        add_task(
            conn,
            case_id=case_id,
            party="town_government",
            unit_code=res.town.code,
            unit_name=res.town.name,
            kind="joint_proposal",
            note="; ".join(r.zh for r in outcome.reasons if r.rule == "joint_enforcement_proposed"),
        )
    enqueue_for_event(conn, case_id=case_id, action="report")  # notify/: the outbox
    return {
        "id": case_id,
        "tracking_code": code,
        "status": "reported",
        "due_at": dl.resolve_by.isoformat() if dl.resolve_by else None,
        "routing": cols["routing"],
    }


#: Public positions: coordinates snapped to this grid (degrees), as Open311 rounds them.
PUBLIC_GRID = 0.001


def likely_duplicates(
    conn: Connection,
    *,
    lon: float,
    lat: float,
    type_code: str,
    radius_m: float = 100,
    days: int = 14,
    exclude: int | None = None,
    public: bool = False,
) -> list[dict[str, Any]]:
    """Open cases of the same type nearby and recent (store coordinates).

    ``public`` (an anonymous caller): cases are found and measured from their *public*
    position — snapped to the 0.001° grid, as Open311 and the public map round them — so no
    number of calls locates a case more precisely than that; sensitive types are left out.
    """
    geom = f"ST_SnapToGrid(c.geom, {PUBLIC_GRID})" if public else "c.geom"
    margin = 120 if public else 0  # snapping moves a point by at most ~80 m
    rows = conn.execute(
        text(f"""
        SELECT c.id, c.status, c.created_at,
               ST_Distance({geom}::geography,
                           ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography) AS distance_m
        FROM case_file c JOIN violation_type vt ON vt.code = c.type_code
        WHERE c.type_code = :t AND c.merged_into IS NULL AND NOT c.hidden
          AND NOT (CAST(:public AS boolean) AND vt.sensitive)
          AND c.status NOT IN ('closed', 'rejected')
          AND c.created_at > now() - make_interval(days => :days)
          AND (CAST(:ex AS bigint) IS NULL OR c.id <> :ex)
          AND c.geom && ST_Expand(ST_SetSRID(ST_MakePoint(:x, :y), 4326), (:r + :m) / 90000.0)
          AND ST_DWithin({geom}::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, :r)
        ORDER BY distance_m, c.id LIMIT 10"""),
        {
            "x": lon,
            "y": lat,
            "t": type_code,
            "r": radius_m,
            "m": margin,
            "days": days,
            "ex": exclude,
            "public": public,
        },
    )
    return [dict(r._mapping) for r in rows]
