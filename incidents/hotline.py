"""The hotline (12345) work-order link, inbound: a platform's order becomes a case, filed and
routed like any report (channel ``hotline``), idempotent on its order number, or is parked for
a dispatcher when its place cannot be told (docs/hotline.md).

Rules (the issue left them open):

* Type: an explicit ``type_code`` wins; otherwise the staff type search
  (:func:`jurisdictions.catalog.search_types`, reportable types) on the ``category``, then on
  the ``content``; the first text whose best-ranked type scores strictly above the second is
  used. Nothing clear → 422 ``hotline_category_unmapped`` (the platform resends with a code).
* Place: coordinates (in any supported CRS) are used as given. An address alone is looked up
  in the place search (:func:`places.search.search`, top 5): it is placed when exactly one
  place's name equals the address, or when no name equals it and exactly one place matches at
  all; otherwise (none, or several) the order is parked with the candidates.
* Time limit: the case's 办结 deadline is the platform's limit when that is earlier than the
  district's own policy deadline.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from accounts.exceptions import Forbidden
from accounts.models import Role
from accounts.service import Principal
from gis.coords import CoordSystem
from incidents import store
from incidents.exceptions import CaseNotFound, IdempotencyKeyInFlight, InvalidReport
from incidents.hotline_keys import reseal_secrets
from incidents.intake import Report, create_case
from jurisdictions import catalog
from places import search as places
from shudi.pii import Cipher, get_cipher

CANDIDATES = 5
EXACT = 100  # places.search's tier of a name equal to the query


class HotlineOrderConflict(IdempotencyKeyInFlight):
    """An order number already received with a different body (409)."""

    code = "hotline_order_conflict"


class HotlineOrderInvalid(InvalidReport):
    """An order that cannot become a case as sent (422)."""

    code = "hotline_order_invalid"


class HotlineCategoryUnmapped(InvalidReport):
    """No violation type follows clearly from the order's category or content (422)."""

    code = "hotline_category_unmapped"


class ParkedOrderNotFound(CaseNotFound):
    """No parked order with that id (404)."""

    code = "hotline_order_not_found"


class OrderAlreadyFiled(IdempotencyKeyInFlight):
    """The order is no longer parked: it was filed as a case (409)."""

    code = "hotline_order_already_filed"


@dataclass(frozen=True)
class Order:
    """A work order as the platform sends it (validated by the router's schema)."""

    order_no: str
    content: str
    address: str = ""
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    category: str = ""
    type_code: str = ""
    time_limit: datetime | None = None
    caller_phone: str = ""

    def digest(self) -> str:
        """What "the same order" means: every field, canonically (the body's key order and
        white space do not count)."""
        doc = asdict(self) | {
            "time_limit": self.time_limit.isoformat() if self.time_limit else None
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def map_type(conn: Connection, *, order: Order) -> str:
    """The violation type of ``order`` by the module's rule."""
    if order.type_code:
        return str(catalog.get_type(conn, code=order.type_code, reportable_only=True).code)
    seen: list[str] = []
    for words in (order.category, order.content):
        if not words.strip():
            continue
        ranked = catalog.search_types(conn, q=words, audience="staff", reportable=True)
        if ranked and (len(ranked) == 1 or ranked[0]["score"] > ranked[1]["score"]):
            return str(ranked[0]["code"])
        seen += [str(t["code"]) for t in ranked[:3] if t["code"] not in seen]
    raise HotlineCategoryUnmapped(
        "no violation type follows clearly from the category or content; send type_code",
        candidates=seen,
    )


def place_by_address(
    conn: Connection, *, address: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(the one place the address names, or None; the candidates found)."""
    hits = places.search(conn, q=address, limit=CANDIDATES) if address.strip() else []
    exact = [h for h in hits if h["match"] == EXACT]
    one = exact[0] if len(exact) == 1 else hits[0] if not exact and len(hits) == 1 else None
    keep = ("kind", "code", "name", "context", "lon", "lat")
    return one, [{k: h[k] for k in keep} for h in hits]


_CLAIM = text("""INSERT INTO hotline_order (api_key_id, order_no, body_digest, state, type_code,
    "order", time_limit) VALUES (:k, :n, :d, 'parked', :t, :o, :tl)
  ON CONFLICT (api_key_id, order_no) DO NOTHING RETURNING id""").bindparams(
    bindparam("o", type_=JSONB)
)
_ANSWER = text("""SELECT o.id, o.order_no, o.state, o.body_digest, o.park_reason, o.candidates,
    o.case_id, c.tracking_code, c.handler_name, c.town_code, c.due_at, c.status
  FROM hotline_order o LEFT JOIN case_file c ON c.id = o.case_id WHERE o.id = :i""")


def _answer(conn: Connection, order_id: int) -> dict[str, Any]:
    r = conn.execute(_ANSWER, {"i": order_id}).mappings().one()
    out: dict[str, Any] = {"order_no": r["order_no"], "state": r["state"], "order_id": r["id"]}
    if r["state"] == "parked":
        return out | {"reason": r["park_reason"], "candidates": r["candidates"]}
    return out | {
        "case_id": r["case_id"],
        "tracking_code": r["tracking_code"],
        "status": r["status"],
        "handler": r["handler_name"],
        "town_code": r["town_code"],
        "due_at": r["due_at"].isoformat() if r["due_at"] else None,
    }


def _file(
    conn: Connection, *, order_id: int, order: Order, type_code: str, lon: float, lat: float,
    crs: str, actor: Principal | None, address: str,
) -> None:  # fmt: skip
    report = Report(lon=lon, lat=lat, type=type_code, crs=CoordSystem(crs),
                    description=order.content, address_text=address, phone=order.caller_phone,
                    channel="hotline")  # fmt: skip
    case = create_case(conn, report=report, actor=actor)
    due = datetime.fromisoformat(case.due_at) if case.due_at else None
    limit = order.time_limit
    if limit is not None and (due is None or limit < due):  # the platform's limit binds
        store.update_case(conn, case_id=case.id, cols={"due_at": limit}, now=datetime.now(UTC))
    conn.execute(
        text("""UPDATE hotline_order SET state = 'filed', case_id = :c, filed_at = now(),
                    filed_by = :u, park_reason = '',
                    "order" = jsonb_set("order", '{caller_phone}', '""') WHERE id = :i"""),
        {"c": case.id, "u": actor.user_id if actor else None, "i": order_id},
    )


def _stored(order: Order) -> dict[str, Any]:
    doc = asdict(order) | {"time_limit": order.time_limit.isoformat() if order.time_limit else None}
    doc["caller_phone"] = get_cipher().seal(order.caller_phone.strip(), column="phone")
    return doc


def receive_order(
    conn: Connection, *, platform_id: int, order: Order
) -> tuple[int, dict[str, Any]]:
    """File (201), park (202) or recognise again (200) the platform's order: (status, answer).

    The same order number with another body is :class:`HotlineOrderConflict`."""
    if order.lon is None and order.lat is None and not order.address.strip():
        raise HotlineOrderInvalid("an order needs coordinates (lon, lat) or an address")
    if (order.lon is None) != (order.lat is None):
        raise HotlineOrderInvalid("lon and lat come together")
    type_code = map_type(conn, order=order)
    digest = order.digest()
    params = {"k": platform_id, "n": order.order_no, "d": digest, "t": type_code,
              "o": _stored(order), "tl": order.time_limit}  # fmt: skip
    order_id = conn.execute(_CLAIM, params).scalar()
    if order_id is None:  # received before (or right now, by a request that has committed)
        old = conn.execute(
            text(
                "SELECT id, body_digest FROM hotline_order WHERE api_key_id = :k AND order_no = :n"
            ),
            params,
        ).one()
        if old.body_digest != digest:
            raise HotlineOrderConflict(
                f"order {order.order_no} was received before with a different body",
                order_no=order.order_no,
            )
        return 200, _answer(conn, old.id) | {"duplicate": True}
    if order.lon is not None and order.lat is not None:
        _file(conn, order_id=order_id, order=order, type_code=type_code, lon=order.lon,
              lat=order.lat, crs=order.crs, actor=None, address=order.address)  # fmt: skip
        return 201, _answer(conn, order_id)
    one, candidates = place_by_address(conn, address=order.address)
    if one is not None:
        _file(conn, order_id=order_id, order=order, type_code=type_code, lon=one["lon"],
              lat=one["lat"], crs="wgs84", actor=None, address=order.address)  # fmt: skip
        return 201, _answer(conn, order_id)
    reason = (
        "地址未匹配到地点" if not candidates else f"地址匹配到 {len(candidates)} 个地点，需人工定位"
    )
    conn.execute(
        text("UPDATE hotline_order SET candidates = :c, park_reason = :r WHERE id = :i").bindparams(
            bindparam("c", type_=JSONB)
        ),
        {"c": candidates, "r": reason, "i": order_id},
    )
    return 202, _answer(conn, order_id)


def _dispatcher(principal: Principal, *, read: bool = False) -> None:
    allowed = {Role.dispatcher, Role.admin} if read else {Role.dispatcher}
    if principal.role not in allowed:
        raise Forbidden("parked hotline orders are for dispatchers")


def parked_orders(conn: Connection, *, principal: Principal) -> list[dict[str, Any]]:
    """The orders waiting for a dispatcher to place them, oldest first (no caller's phone)."""
    _dispatcher(principal, read=True)
    rows = conn.execute(
        text("""SELECT id, order_no, type_code, "order" AS o, candidates, park_reason,
                    time_limit, received_at FROM hotline_order WHERE state = 'parked'
                ORDER BY received_at, id""")
    ).mappings()
    return [
        {
            "id": r["id"],
            "order_no": r["order_no"],
            "type_code": r["type_code"],
            "content": r["o"]["content"],
            "address": r["o"]["address"],
            "category": r["o"]["category"],
            "reason": r["park_reason"],
            "candidates": r["candidates"],
            "time_limit": r["time_limit"].isoformat() if r["time_limit"] else None,
            "received_at": r["received_at"].isoformat(),
        }
        for r in rows
    ]


def place_parked(
    conn: Connection, *, order_id: int, lon: float, lat: float, crs: str = "wgs84",
    principal: Principal, type_code: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A dispatcher chooses the point of a parked order: it is filed as a case."""
    _dispatcher(principal)
    row = (
        conn.execute(
            text("""SELECT id, state, type_code, "order" AS o FROM hotline_order WHERE id = :i
                FOR UPDATE"""),
            {"i": order_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise ParkedOrderNotFound(f"no hotline order {order_id}")
    if row["state"] != "parked":
        raise OrderAlreadyFiled(f"hotline order {order_id} is already filed as a case")
    doc = dict(row["o"])
    tl = doc.get("time_limit")
    order = Order(**(doc | {
        "caller_phone": get_cipher().open(doc.get("caller_phone", ""), column="phone"),
        "time_limit": datetime.fromisoformat(tl) if tl else None,
    }))  # fmt: skip
    code = type_code or row["type_code"]
    if type_code:
        code = str(catalog.get_type(conn, code=type_code, reportable_only=True).code)
    _file(conn, order_id=order_id, order=order, type_code=code, lon=lon, lat=lat, crs=crs,
          actor=principal, address=order.address)  # fmt: skip
    return _answer(conn, order_id)


def order_of_case(conn: Connection, *, case_id: int) -> str | None:
    """The platform's order number a case was filed from, if any."""
    return conn.execute(
        text("SELECT order_no FROM hotline_order WHERE case_id = :c"), {"c": case_id}
    ).scalar()


def reseal(conn: Connection, *, cipher: Cipher) -> int:
    """Key rotation: the parked orders' callers' phones (a filed order keeps none: the case's
    reporter row has it) and the platforms' secrets, sealed under the current key; how many."""
    rows = conn.execute(
        text("""SELECT id, "order"->>'caller_phone' AS phone FROM hotline_order
                WHERE state = 'parked' AND "order"->>'caller_phone' <> ''""")
    ).all()
    stale = [r for r in rows if not cipher.is_current(r.phone)]
    for r in stale:
        sealed = cipher.seal(cipher.open(r.phone, column="phone"), column="phone")
        conn.execute(
            text("""UPDATE hotline_order SET "order" = jsonb_set("order", '{caller_phone}',
                        to_jsonb(CAST(:p AS text))) WHERE id = :i"""),
            {"p": sealed, "i": r.id},
        )
    return len(stale) + reseal_secrets(conn, cipher=cipher)
