"""Followers ("me too"): anyone may follow a case by its tracking code, or an area (a town, a
community, an estate — what an owners' committee wants), and is told of its public updates by
SMS or e-mail through the outbox.

The address is sealed like a reporter's (shudi.pii) with a masked form and a keyed digest, so
the outbox's opt-outs, quiet hours and rate caps apply to it as to residents; each message
carries a stop link with the follow's random token, never the address. Followers hear only
what the track page shows anyone: the type in plain words, the status, the town or community —
never a reporter's data, never a case of a sensitive type or a hidden one.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from jurisdictions.service import latest_area_name
from notify import templates as tpl
from notify.exceptions import FollowError, FollowNotFound, TemplateError
from shudi.pii import Cipher, get_cipher
from shudi.settings import Settings

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


def _address(contact: str) -> tuple[str, str, str]:
    """(channel, normalised address, masked) of a phone number or an e-mail address."""
    value = contact.strip()
    if PHONE.match(value):
        return "sms", value, tpl.mask_phone(value)
    if EMAIL.match(value):
        return "email", value.lower(), tpl.mask_email(value)
    raise FollowError("请填写手机号码或电子邮箱 (a mainland mobile number or an e-mail address)")


def _insert(conn: Connection, target: dict[str, Any], contact: str) -> dict[str, Any]:
    channel, address, masked = _address(contact)
    cipher = get_cipher()
    row = {
        "token": secrets.token_urlsafe(24),
        "channel": channel,
        "recipient": cipher.seal(address, column="notify_recipient"),
        "masked": masked,
        "digest": cipher.digest(address, purpose="notify"),
        "case_id": None,
        "code": None,
        "layer": None,
        "area": None,
    } | target
    conn.execute(
        text("""INSERT INTO notify_follow (token, case_id, tracking_code, area_layer, area_code,
                    channel, recipient, recipient_masked, recipient_digest)
                VALUES (:token, :case_id, :code, :layer, :area, :channel, :recipient, :masked,
                        :digest)
                ON CONFLICT DO NOTHING"""),
        row,
    )
    return {"channel": channel, "recipient": masked}


def follow_case(conn: Connection, *, tracking_code: str, contact: str) -> dict[str, Any]:
    """Follow the case of ``tracking_code`` ("me too"): its public updates go to ``contact``
    (a phone or an e-mail); following twice is following once."""
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
    return _insert(conn, {"case_id": case_id, "code": code}, contact) | {"case": code}


def area_name(conn: Connection, *, layer: str, code: str) -> str:
    """The name of an area one may follow; FollowError when there is none."""
    if layer not in LAYERS:
        raise FollowError(f"an area is one of {', '.join(LAYERS)}")
    name = latest_area_name(conn, layer=layer, code=code)
    if name is None:
        raise FollowError(f"没有编码为 {code} 的{LAYER_ZH[layer]} (no {layer} {code})")
    return name


def follow_area(conn: Connection, *, layer: str, code: str, contact: str) -> dict[str, Any]:
    """Follow every public case of an area (town, community, estate)."""
    name = area_name(conn, layer=layer, code=code)
    told = _insert(conn, {"layer": layer, "area": code}, contact)
    return told | {"area": {"layer": layer, "code": code, "name": name}}


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


def _followers(conn: Connection, case: dict[str, Any]) -> list[Any]:
    return list(
        conn.execute(
            text("""SELECT token, tracking_code, area_layer, area_code, channel, recipient,
                       recipient_masked, recipient_digest
                FROM notify_follow
                WHERE case_id = :c
                   OR (area_layer = 'town' AND area_code = :town)
                   OR (area_layer = 'community' AND area_code = :community)
                   OR (area_layer = 'property_area' AND area_code = :estate)
                ORDER BY id"""),
            {
                "c": case["id"],
                "town": case["town_code"],
                "community": case["community_code"],
                "estate": case["property_area_code"],
            },
        )
    )


def rows_for_event(
    conn: Connection, *, case_id: int, action: str, params: dict[str, Any], s: Settings,
    cipher: Cipher,
) -> list[dict[str, Any]]:  # fmt: skip
    """The outbox rows telling the case's and its areas' followers of ``action`` (one per
    follower, however many of its follows match); [] for non-public actions and cases."""
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
    for f in _followers(conn, case):
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
        used = {k: tpl.clean(p[k]) for k in sorted(template.variables)}
        out: dict[str, Any] = {
            "key": secrets.token_hex(16),
            "channel": f.channel,
            "audience": template.audience,
            "template": template.name,
            "version": template.version,
            "urgent": False,
            "recipient": f.recipient,  # sealed already
            "masked": f.recipient_masked,
            "digest": f.recipient_digest,
            "params": used,
            "subject": "",
            "state": "",
            "error": "",
        }
        if f.channel == "sms":
            try:
                out["body"] = tpl.render_sms(
                    template, p, sign=s.notify_sms_sign_name, max_segments=s.notify_sms_max_segments
                )
            except TemplateError as exc:  # an unrenderable message never stops a case
                out |= {"body": "", "state": "dead", "error": str(exc)}
        else:
            out["subject"], out["body"] = tpl.render_email(template, p)
        rows.append(out)
    return rows


def reseal(conn: Connection, *, cipher: Cipher) -> int:
    """Seal followers' addresses under the current key (key rotation); a count."""
    rows = conn.execute(text("SELECT id, recipient FROM notify_follow")).all()
    stale = [r for r in rows if not cipher.is_current(r.recipient)]
    if stale:
        col = "notify_recipient"
        conn.execute(
            text("UPDATE notify_follow SET recipient = :r WHERE id = :i"),
            [{"i": r.id, "r": cipher.seal(cipher.open(r.recipient, column=col), column=col)}
             for r in stale],
        )  # fmt: skip
    return len(stale)


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
