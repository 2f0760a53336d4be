"""Intake: a report becomes a case — resolved, routed, given deadlines — in one transaction.

Store first, notify later: the case, its reporter, photos and first event are committed
together, and only then is the answer (with the tracking code) given.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, text

from abuse import service as abuse
from accounts.models import Role
from accounts.service import Principal, name_actor
from gis.coords import CoordSystem
from incidents import idempotency, store
from incidents.deadlines import load_policy
from incidents.exceptions import InvalidReport
from incidents.photos import PhotoRejected, SanitizedPhoto, sanitize_photos
from incidents.placement import StorePoint, place, store_point
from incidents.tasks import add_task
from jurisdictions import catalog
from notify import events as notify_events
from shudi.pii import get_cipher
from shudi.settings import get_settings

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


class Report(BaseModel):
    """What a report says: where (in the reporter's coordinate system), what, and who."""

    model_config = ConfigDict(frozen=True)
    lon: float
    lat: float
    type: str = Field(min_length=1, max_length=64)
    crs: CoordSystem = CoordSystem.WGS84
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    address_text: str = Field(default="", max_length=500)
    contact_name: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=32)
    email: str = Field(default="", max_length=254)
    urgency: Literal["emergency", "urgent", "ordinary", "complex"] | None = None
    channel: str = "resident"


@dataclass(frozen=True)
class Filed:
    """The answer a reporter gets: the case, its tracking code, status, deadline and routing."""

    id: int
    tracking_code: str
    status: str
    due_at: str | None
    routing: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The answer as JSON-ready data (shallow: ``routing`` is already JSON data — a deep
        copy by ``dataclasses.asdict`` cost more than the rest of the answer)."""
        return {
            "id": self.id,
            "tracking_code": self.tracking_code,
            "status": self.status,
            "due_at": self.due_at,
            "routing": self.routing,
        }


#: Given a filing's answer (without its id), rows to store with the case, in its INSERT.
Remember = Callable[[dict[str, Any]], dict[str, dict[str, Any]]]


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


def create_case(
    conn: Connection,
    *,
    report: Report,
    actor: Principal | None = None,
    now: datetime | None = None,
    point: StorePoint | None = None,
    photos: Sequence[SanitizedPhoto] = (),
    remember: Remember | None = None,
) -> Filed:
    """Place, time and store a report in this transaction; the answer a reporter gets.

    ``point`` is the report's point already converted (by :func:`submit`); without it the
    report's own point is converted here. ``remember``: rows that store the answer with the
    case, in its INSERT (given the answer without its id: ``also`` of
    :func:`incidents.store.insert_case`)."""
    _check(report, actor)
    if actor is not None:  # staff filing: the audit log names them (a resident stays unnamed)
        name_actor(conn, principal=actor)
    vtype, agencies = catalog.type_and_agencies(
        conn, code=report.type, reportable_only=actor is None
    )
    point = point or store_point(report.lon, report.lat, report.crs)
    where = place(conn, point=point, vtype=vtype, agencies=agencies)
    now = now or datetime.now(UTC)
    dl = load_policy().deadlines_for(vtype.code, vtype.scope, report.urgency, start=now)
    code = new_tracking_code()
    cipher = get_cipher()
    answer = {
        "tracking_code": code,
        "status": "reported",
        "due_at": dl.resolve_by.isoformat() if dl.resolve_by else None,
        "routing": where.columns["routing"],
    }
    event = store.event_row(
        case_id=0,
        actor=actor,
        action="report",
        from_status=None,
        to_status="reported",
        data={
            "channel": report.channel,
            "handler": where.handler_name,
            "reasons": where.reasons_zh,
        },
    )
    case_id = store.insert_case(
        conn,
        case=where.columns
        | {
            "tracking_code": code,
            "type_code": vtype.code,
            "scope": vtype.scope,
            "urgency": dl.urgency,
            "status": "reported",
            "channel": report.channel,
            "description": report.description,
            "address_text": report.address_text,
            "input_crs": point.crs.value,
            "created_by": actor.user_id if actor else None,
            "respond_due_at": dl.respond_by,
            "stop_due_at": dl.stop_by,
            "due_at": dl.resolve_by,
            "deadline_basis": dl.basis_zh,
            "created_at": now,
            "updated_at": now,
        },
        reporter={
            "tracking_code": code,
            "contact_name": cipher.seal(report.contact_name.strip(), column="contact_name"),
            "phone": cipher.seal(report.phone.strip(), column="phone"),
            "email": cipher.seal(report.email.strip(), column="email"),
        },
        event={k: v for k, v in event.items() if k != "case_id"},
        # notify/: one event row with the case; the sender writes its messages (notify.events)
        also=notify_events.with_new_case("report") | (remember(answer) if remember else {}),
    )
    store.add_photos(conn, case_id=case_id, photos=photos)
    town = where.resolution.town
    if where.routing.joint and town:  # 三（二）: the town is asked to coordinate joint enforcement
        add_task(
            conn,
            case_id=case_id,
            party="town_government",
            unit_code=town.code,
            unit_name=town.name,
            kind="joint_proposal",
            note="; ".join(
                r.zh for r in where.routing.reasons if r.rule == "joint_enforcement_proposed"
            ),
        )
    return Filed(id=case_id, **answer)


Connect = Callable[[], AbstractContextManager[Connection]]


def using(conn: Connection) -> Connect:
    """A connection already open (a test's, the demo's, a request's) as :func:`submit`'s
    reader or writer: the filing joins its transaction."""
    return lambda: nullcontext(conn)


def admit(conn: Connection, *, ip: str | None, idempotency_key: str | None) -> None:
    """The first check of an anonymous filing, before its body is read: the address's rate
    limit and ban (one autocommitted statement)."""
    policy = abuse.Policy.from_settings(get_settings())
    abuse.check_report(
        conn,
        policy=replace(policy, per_phone=None, per_cell=None),
        ip=ip,
        phone="",
        lon=0.0,
        lat=0.0,
        type_code="",
        idempotency_key=idempotency_key,
    )


def submit(
    *,
    reader: Connect,
    writer: Connect,
    report: Report,
    actor: Principal | None = None,
    files: Sequence[tuple[str, bytes]] = (),
    idempotency_key: str | None = None,
    keyed: bool = True,
    ip: str | None = None,
    now: datetime | None = None,
    count_ip: bool = False,
) -> tuple[int, Filed]:
    """File a report; the status code and the answer.

    The point is converted and checked once; an anonymous filing is counted against the phone
    and map-cell limits and checked against the bans (of ``ip`` too, when given; the address's
    own limit is :func:`admit`'s, before the body is read — or, ``count_ip``, counted here in
    the same statement, and by :func:`admit` when the point is refused); photos are decoded;
    then, in one transaction of ``writer``, the Idempotency-Key is claimed (``keyed``: one is
    required; a replay answers as before) and the case stored with its answer."""
    try:
        point = store_point(report.lon, report.lat, report.crs)
    except Exception:
        if count_ip and actor is None:  # a refused filing still counts against its address
            with reader() as conn:
                admit(conn, ip=ip, idempotency_key=idempotency_key)
        raise
    if actor is None:  # only a valid staff token exempts a filing from limits and bans
        policy = abuse.Policy.from_settings(get_settings())
        with reader() as conn:
            abuse.check_report(
                conn,
                policy=policy if count_ip else replace(policy, per_ip=None),
                ip=ip,
                phone=report.phone,
                lon=point.lon,
                lat=point.lat,
                type_code=report.type,
                idempotency_key=idempotency_key,
            )
    try:
        photos = sanitize_photos(list(files)) if files else []
    except PhotoRejected as exc:
        raise InvalidReport(str(exc), photo_error=exc.code) from exc
    fingerprint = idempotency.request_hash(
        {"report": report.model_dump(mode="json"), "photos": [p.original_sha256 for p in photos]}
    )
    with writer() as conn:
        if keyed or idempotency_key:
            replay = idempotency.begin(
                conn, key=idempotency_key, scope="reports", fingerprint=fingerprint
            )
            if replay:
                return replay.status_code, Filed(**replay.body)
        remember = None
        if idempotency_key is not None:  # the answer stored in the case's own INSERT
            key = idempotency_key

            def remember(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
                return idempotency.with_new_case(
                    key=key, scope="reports", fingerprint=fingerprint, status_code=201, body=answer
                )

        filed = create_case(
            conn,
            report=report,
            actor=actor,
            now=now,
            point=point,
            photos=photos,
            remember=remember,
        )
        return 201, filed


def submit_json(
    *,
    reader: Connect,
    writer: Connect,
    raw: bytes,
    parse: Callable[[bytes], Report],
    idempotency_key: str | None,
    ip: str | None,
) -> tuple[int, Filed]:
    """An anonymous JSON filing, read already, in one call (one thread-pool hop, one abuse
    statement): ``parse`` it, then :func:`submit` counts it against the address, phone and
    map-cell limits at once. A body that does not parse is counted against the address
    (:func:`admit`) before it is refused, as when the address is checked before reading."""
    try:
        report = parse(raw)
    except Exception:
        with reader() as conn:
            admit(conn, ip=ip, idempotency_key=idempotency_key)
        raise
    return submit(
        reader=reader,
        writer=writer,
        report=report,
        idempotency_key=idempotency_key,
        ip=ip,
        count_ip=True,
    )


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
