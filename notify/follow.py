"""Followers ("me too"): anyone may follow a case by its tracking code, or an area (a town, a
community, an estate — what an owners' committee wants), and is told of its public updates by
SMS or e-mail through the outbox.

The address is sealed like a reporter's (shudi.pii) with a masked form and a keyed digest, so
the outbox's opt-outs, quiet hours and rate caps apply to it as to residents; each message
carries a stop link with the follow's random token, never the address. Followers hear only
what the track page shows anyone: the type in plain words, the status, the town or community —
never a reporter's data, never a case of a sensitive type or a hidden one.

Nobody can subscribe someone else: a follow is used only once confirmed with the code (or the
link) sent to its address, and requests are rate-limited per client, per address and per case
or area (:mod:`notify.follow_limits`, HTTP 429). A request answers the same whether the
address followed already or not.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from jurisdictions.active import ACTIVE_BOUNDARIES
from jurisdictions.service import latest_area_name
from notify import follow_limits
from notify import templates as tpl
from notify.exceptions import FollowError, FollowNotFound
from notify.message_rows import message_row, rendered, reseal_column
from shudi.pii import Cipher, get_cipher
from shudi.settings import Settings, get_settings

LAYERS = ("town", "community", "property_area")
LAYER_ZH = {"town": "镇街", "community": "社区", "property_area": "小区"}
TEMPLATE = "follow_update"
PHONE = re.compile(r"^1[3-9]\d{9}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
#: What each public action means to a follower (Chinese, English); others tell no follower.
WHAT: dict[str, tuple[str, str]] = {
    "report": ("有新的反映", "newly reported"),
    "refer": ("已转交{handler}办理", "referred to {handler}"),
    "joint": ("已启动多部门联合处置", "joint action by several departments"),
    "postpone": ("办理期限延至{due}", "deadline moved to {due}"),
    "resolve": ("已办结", "resolved"),
    "complete_task": ("已办结", "resolved"),
    "verify": ("已核查结案", "closed after verification"),
    "reject": ("不予受理", "not taken up"),
    "reopen": ("已重新办理", "reopened"),
}
#: The case as the public sees it, with the areas it lies in.
CASE = text("""SELECT c.id, c.status, c.hidden, vt.sensitive, vt.name_zh AS type_name,
    c.handler_name, c.due_at, c.town_code, c.community_code, c.property_area_code,
    c.routing->'territory'->'town'->>'name' AS town_name,
    c.routing->'territory'->'community'->>'name' AS community_name,
    c.routing->'property_area'->>'name' AS property_area_name
  FROM case_file c JOIN violation_type vt ON vt.code = c.type_code WHERE c.id = :c""")


def parse_contact(contact: str) -> tuple[str, str, str]:
    """(channel, normalised address, masked) of a phone number or an e-mail address."""
    value = contact.strip()
    if PHONE.match(value):
        return "sms", value, tpl.mask_phone(value)
    if EMAIL.match(value):
        return "email", value.lower(), tpl.mask_email(value)
    raise FollowError("请填写手机号码或电子邮箱 (a mainland mobile number or an e-mail address)")


CONFIRM_TEMPLATE = "follow_confirm"
CONFIRM_VALID = timedelta(hours=24)
MAX_TRIES = 5
#: A follow asked for, or asked again: a fresh code and ref each time, confirmed or not.
UPSERT = text("""INSERT INTO notify_follow AS f (token, case_id, tracking_code, area_layer,
        area_code, channel, recipient, recipient_masked, recipient_digest, confirm_hash,
        confirm_ref, confirm_sent_at, confirm_tries)
    VALUES (:token, :case_id, :code, :layer, :area, :channel, :recipient, :masked, :digest,
            :hash, :ref, now(), 0)
    ON CONFLICT (coalesce(case_id, 0), coalesce(area_layer, ''), coalesce(area_code, ''),
                 recipient_digest)
    DO UPDATE SET confirm_hash = :hash, confirm_ref = :ref, confirm_sent_at = now(),
                  confirm_tries = 0, recipient = :recipient
    RETURNING f.token""")
MESSAGE = text("""INSERT INTO notify_message (key, channel, audience, template, template_version,
    urgent, recipient, recipient_masked, recipient_digest, subject, body, params, state,
    last_error)
  VALUES (:key, :channel, 'resident', :template, :version, true, :recipient, :masked, :digest,
          :subject, :body, CAST(:params AS jsonb),
          CASE WHEN :state <> '' THEN :state
               WHEN EXISTS (SELECT 1 FROM notify_optout o WHERE o.recipient_digest = :digest)
               THEN 'suppressed' ELSE 'pending' END, :error)""")


def _code_hash(ref: str, code: str) -> str:
    return get_cipher().digest(f"{ref}:{code.strip()}", purpose="follow confirm")


def _request(
    conn: Connection, target: dict[str, Any], contact: str, what: str, *, ip: str | None,
    s: Settings,
) -> dict[str, Any]:  # fmt: skip
    """Store (or refresh) the follow as unconfirmed and send its address a confirmation code
    and link; the follow is used only once confirmed (:func:`confirm`). The answer is the same
    whether the address followed already or not (it tells nobody who follows what)."""
    channel, address, masked = parse_contact(contact)
    cipher = get_cipher()
    digest = cipher.digest(address, purpose="notify")
    where = (
        f"case:{target['code']}" if target.get("code") else f"{target['layer']}:{target['area']}"
    )
    follow_limits.check(conn, s=s, ip=ip, contact_digest=digest, target=where)
    ref, code = secrets.token_urlsafe(16), f"{secrets.randbelow(10**6):06d}"
    sealed = cipher.seal(address, column="notify_recipient")
    conn.execute(
        UPSERT,
        {"token": secrets.token_urlsafe(24), "case_id": None, "code": None, "layer": None,
         "area": None} | target | {"channel": channel, "recipient": sealed, "masked": masked,
         "digest": digest, "hash": _code_hash(ref, code), "ref": ref},
    )  # fmt: skip
    template = tpl.get_template(CONFIRM_TEMPLATE)
    base = s.notify_public_url.rstrip("/")
    p = {"target": what, "vcode": code, "confirm": f"{base}/follow/confirm/{ref}?code={code}"}
    conn.execute(
        MESSAGE,
        rendered(template, p, channel=channel, s=s)
        | {"key": secrets.token_hex(16), "channel": channel, "template": template.name,
           "version": template.version, "recipient": sealed, "masked": masked,
           "digest": digest, "params": json.dumps({"target": tpl.clean(what)})},
    )  # fmt: skip
    return {"channel": channel, "recipient": masked, "status": "pending", "confirm_ref": ref}


def follow_case(
    conn: Connection, *, tracking_code: str, contact: str, ip: str | None = None,
    s: Settings | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Ask to follow the case of ``tracking_code`` ("me too"): its public updates go to
    ``contact`` (a phone or an e-mail) once confirmed with the code sent there."""
    code = tracking_code.strip().upper()
    case_id = conn.execute(
        text("""WITH RECURSIVE up(id, merged_into, depth) AS (  -- merges: the surviving case
                  SELECT c.id, c.merged_into, 0 FROM case_reporter r
                    JOIN case_file c ON c.id = r.case_id WHERE r.tracking_code = :t
                  UNION ALL SELECT c.id, c.merged_into, up.depth + 1 FROM up
                    JOIN case_file c ON c.id = up.merged_into WHERE up.depth < 10)
                SELECT id FROM up WHERE merged_into IS NULL LIMIT 1"""),
        {"t": code},
    ).scalar()
    row = conn.execute(CASE, {"c": case_id}).mappings().first() if case_id else None
    if row is None or row["hidden"] or row["sensitive"]:
        raise FollowNotFound("没有这个查询码的案件 (no case with that tracking code)")
    what = f"查询码{code}的问题"
    told = _request(conn, {"case_id": case_id, "code": code}, contact, what, ip=ip,
                    s=s or get_settings())  # fmt: skip
    return told | {"case": code}


def area_name(conn: Connection, *, layer: str, code: str) -> str:
    """The name of an area one may follow; FollowError when there is none."""
    if layer not in LAYERS:
        raise FollowError(f"an area is one of {', '.join(LAYERS)}")
    name = latest_area_name(conn, layer=layer, code=code)
    if name is None:
        raise FollowError(f"没有编码为 {code} 的{LAYER_ZH[layer]} (no {layer} {code})")
    return name


def followable_areas(conn: Connection) -> list[dict[str, Any]]:
    """The active estates and communities one may follow, by name, with the name of the area
    they lie in and a point inside each (WGS-84, for the map), estates first."""
    rows = conn.execute(
        text(f"""SELECT b.layer, b.code, b.name, coalesce(p.name, '') AS parent,
                        round(ST_X(ST_Transform(ST_PointOnSurface(b.geom), 4326))::numeric, 5)
                          AS lon,
                        round(ST_Y(ST_Transform(ST_PointOnSurface(b.geom), 4326))::numeric, 5)
                          AS lat
                 FROM {ACTIVE_BOUNDARIES} b
                 LEFT JOIN {ACTIVE_BOUNDARIES} p ON p.code = b.parent_code
                   AND p.layer = CASE b.layer WHEN 'property_area' THEN 'community'
                                              ELSE 'town' END
                 WHERE b.layer IN ('property_area', 'community')
                 ORDER BY b.layer DESC, b.name, b.code""")
    ).mappings()
    return [dict(r) | {"lon": float(r["lon"]), "lat": float(r["lat"])} for r in rows]


def follow_area(
    conn: Connection, *, layer: str, code: str, contact: str, ip: str | None = None,
    s: Settings | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Ask to follow every public case of an area (town, community, estate); used once
    confirmed."""
    name = area_name(conn, layer=layer, code=code)
    told = _request(conn, {"layer": layer, "area": code}, contact, f"{name}（{LAYER_ZH[layer]}）",
                    ip=ip, s=s or get_settings())  # fmt: skip
    return told | {"area": {"layer": layer, "code": code, "name": name}}


def confirm(
    conn: Connection, *, ref: str, code: str, now: datetime | None = None
) -> dict[str, Any]:
    """Confirm a follow with the code sent to its address: ``{"confirmed": True, ...}`` with
    what is followed (and the Atom feed of an area), or ``{"confirmed": False, "reason": …,
    "tries_left": n}`` for a wrong code (counted: returned, not raised, so that the count is
    kept); FollowNotFound for an unknown, used-up or expired ref."""
    now = now or datetime.now(UTC)
    row = (
        conn.execute(
            text("""SELECT id, case_id, tracking_code, area_layer, area_code, confirm_hash,
                       confirm_sent_at, confirm_tries, recipient_masked
                FROM notify_follow WHERE confirm_ref = :r FOR UPDATE"""),
            {"r": ref},
        )
        .mappings()
        .first()
    )
    if row is None or row["confirm_tries"] >= MAX_TRIES:
        raise FollowNotFound(
            "确认链接无效或已使用，请重新申请关注 (no pending follow with that link)"
        )
    if row["confirm_sent_at"] is None or now - row["confirm_sent_at"] > CONFIRM_VALID:
        raise FollowNotFound("验证码已过期，请重新申请关注 (the code has expired)")
    if not secrets.compare_digest(row["confirm_hash"], _code_hash(ref, code)):
        tries = row["confirm_tries"] + 1
        conn.execute(
            text("UPDATE notify_follow SET confirm_tries = :n WHERE id = :i"),
            {"n": tries, "i": row["id"]},
        )
        left = MAX_TRIES - tries
        return {"confirmed": False, "tries_left": left,
                "reason": f"验证码不正确，还可以再试 {left} 次" if left else
                          "验证码错误次数过多，请重新申请关注"}  # fmt: skip
    conn.execute(
        text("""UPDATE notify_follow SET confirmed_at = coalesce(confirmed_at, :now),
                    confirm_ref = NULL, confirm_hash = '', confirm_tries = 0
                WHERE id = :i"""),
        {"now": now, "i": row["id"]},
    )
    out: dict[str, Any] = {"confirmed": True, "recipient": row["recipient_masked"]}
    if row["area_layer"]:
        name = area_name(conn, layer=row["area_layer"], code=row["area_code"])
        layer, code = row["area_layer"], row["area_code"]
        feed = f"/feeds/areas/{layer}/{code}.atom"
        out["area"] = {"layer": layer, "code": code, "name": name, "feed": feed}
    else:
        out["case"] = row["tracking_code"]
    return out


def unfollow(conn: Connection, *, token: str) -> int:
    """Stop the follow of the stop link's ``token`` and its unsent messages; 1 when it was one."""
    gone = conn.execute(
        text("DELETE FROM notify_follow WHERE token = :t RETURNING recipient_digest"),
        {"t": token},
    ).first()
    if gone is None:
        raise FollowNotFound("这个退订链接无效或已使用 (no follow with that link)")
    conn.execute(
        text("""UPDATE notify_message SET state = 'suppressed', last_error = 'unfollowed'
                WHERE state = 'pending' AND template = :tpl AND recipient_digest = :d
                  AND position(:t in params->>'optout') > 0"""),
        {"tpl": TEMPLATE, "d": gone.recipient_digest, "t": token},
    )
    return 1


def _followers(conn: Connection, case: dict[str, Any], before: datetime | None) -> list[Any]:
    return list(
        conn.execute(
            text("""SELECT token, tracking_code, area_layer, area_code, channel, recipient,
                       recipient_masked, recipient_digest
                FROM notify_follow
                WHERE confirmed_at IS NOT NULL AND (case_id = :c
                   OR (area_layer = 'town' AND area_code = :town)
                   OR (area_layer = 'community' AND area_code = :community)
                   OR (area_layer = 'property_area' AND area_code = :estate))
                  AND (CAST(:before AS timestamptz) IS NULL OR created_at <= :before)
                ORDER BY id"""),
            {
                "before": before,
                "c": case["id"],
                "town": case["town_code"],
                "community": case["community_code"],
                "estate": case["property_area_code"],
            },
        )
    )


def rows_for_event(
    conn: Connection, *, case_id: int, action: str, params: dict[str, Any], s: Settings,
    cipher: Cipher, before: datetime | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The outbox rows telling the case's and its areas' followers of ``action`` (one per
    follower, however many of its follows match); [] for non-public actions and cases.
    ``before``: only follows made by then (an event expanded after it happened)."""
    what = WHAT.get(action)
    if what is None:
        return []
    row = conn.execute(CASE, {"c": case_id}).mappings().first()
    if row is None or row["hidden"] or row["sensitive"]:
        return []
    case = dict(row)
    if action == "complete_task" and case["status"] != "resolved":
        return []
    base = s.notify_public_url.rstrip("/")
    template = tpl.get_template(TEMPLATE)
    area = case["property_area_name"] or case["community_name"] or case["town_name"] or ""
    fill = {"handler": case["handler_name"] or "", "due": params.get("due", "")}
    rows: list[dict[str, Any]] = []
    told: set[str] = set()
    for f in _followers(conn, case, before):
        if f.recipient_digest in told:
            continue
        told.add(f.recipient_digest)
        if f.area_layer:
            link = f"{base}/feeds/areas/{f.area_layer}/{f.area_code}.atom"
        else:
            link = f"{base}/track/{f.tracking_code}"
        p = {
            "type": case["type_name"],
            "area": area,
            "what": what[0].format(**fill),
            "what_en": what[1].format(**fill),
            "link": link,
            "optout": f"{base}/follow/{f.token}/stop",
        }
        rows.append(message_row(
            template, p, channel=f.channel, recipient=f.recipient,  # sealed already
            masked=f.recipient_masked, digest=f.recipient_digest, s=s,
        ) | {"urgent": False})  # fmt: skip
    return rows


def reseal(conn: Connection, *, cipher: Cipher) -> int:
    """Seal followers' addresses under the current key (key rotation); a count."""
    return reseal_column(conn, cipher=cipher, table="notify_follow", column="notify_recipient")


def forget_closed(conn: Connection, *, closed_before: datetime) -> int:
    """Drop the follows of cases closed before the cut-off (retention, with the reporters'
    data); an area's follows last until stopped by their link."""
    return int(
        conn.execute(
            text("""DELETE FROM notify_follow f USING case_file c
                    WHERE f.case_id = c.id AND c.status IN ('closed', 'rejected')
                      AND COALESCE(c.closed_at, c.updated_at) < :cut"""),
            {"cut": closed_before},
        ).rowcount
    )
