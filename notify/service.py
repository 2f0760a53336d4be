"""The outbox's use cases: enqueue the messages a case change causes (in its transaction),
show a case's messages, opt out, and the operator's status / retry / purge.

Recipients are stored sealed (shudi.pii, column ``notify_recipient``) with a masked form for
staff and a keyed digest for rate caps and opt-outs; bodies never carry a phone or e-mail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from notify import estate_notices, follow, follow_limits, hotline, unit_contacts
from notify import templates as tpl
from notify.exceptions import CaseUnknown, MessageNotFound
from notify.message_rows import message_row, reseal_column
from shudi.pii import Cipher, get_cipher
from shudi.settings import Settings, get_settings

BEIJING = timezone(timedelta(hours=8))
RECIPIENT_COLUMN = "notify_recipient"
#: action -> (the resident's template, the staff template, who on the staff side)
RULES: dict[str, tuple[str | None, str | None, str]] = {
    "report": ("case_accepted", None, ""),
    "dispatch": (None, "unit_assigned", "handler"),  # 派单: the unit hears of it now
    "refer": ("case_referred", "unit_referred", "handler"),
    "joint": ("case_joint", "unit_joint", "tasks"),
    "postpone": ("case_postponed", None, ""),
    "resolve": ("case_resolved", None, ""),
    "complete_task": ("case_resolved", None, ""),
    "verify": ("case_closed", None, ""),
    "reject": ("case_rejected", None, ""),
    "reopen": (None, "unit_reopened", "handler"),
    "fail_verification": (None, "unit_reopened", "handler"),
    "dispute": (None, "unit_reopened", "handler"),
    "followup_reopen": (None, "unit_reopened", "handler"),
    "reminder": (None, "deadline", "handler"),
    "task_reminder": (None, "deadline", "task"),  # 吹哨报到: a called unit's report-in / completion
    "refused_to_correct": (None, None, ""),  # notify.estate_notices: company, community, units
}
DEADLINE_ZH = {"respond_due_at": "响应", "stop_due_at": "制止", "due_at": "办结",
               "report_due_at": "联合执法报到", "complete_due_at": "联合执法完成"}  # fmt: skip

#: The case and its reporters' sealed addresses in one round trip.
CASE = text("""SELECT c.id, c.tracking_code, c.status, c.type_code, vt.name_zh AS type_name,
    c.handler_party, c.handler_unit_code, c.handler_name, c.due_at, c.address_text,
    c.routing, c.urgency,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('code', r.tracking_code, 'phone', r.phone,
                                                  'email', r.email) ORDER BY r.id), '[]')
       FROM case_reporter r WHERE r.case_id = c.id) AS reporters
  FROM case_file c JOIN violation_type vt ON vt.code = c.type_code WHERE c.id = :c""")
#: Every message of one event (or of a batch of events) in one statement; an opted-out
#: address's are suppressed; a key already stored is skipped (an event expanded twice).
INSERT = text("""INSERT INTO notify_message (key, case_id, channel, audience, template,
    template_version, urgent, recipient, recipient_masked, recipient_digest, subject, body,
    params, state, last_error)
  SELECT m.key, m.case_id, m.channel, m.audience, m.template, m.version, m.urgent, m.recipient,
    m.masked, m.digest, m.subject, m.body, m.params,
    CASE WHEN m.state <> '' THEN m.state
         WHEN m.audience = 'resident' AND EXISTS (SELECT 1 FROM notify_optout o
              WHERE o.recipient_digest = m.digest) THEN 'suppressed'
         ELSE 'pending' END,
    m.error
  FROM jsonb_to_recordset(:rows) AS m(key text, case_id bigint, channel text, audience text,
    template text, version int, urgent boolean, recipient text, masked text, digest text,
    subject text, body text, params jsonb, state text, error text)
  ON CONFLICT (key) DO NOTHING""").bindparams(bindparam("rows", type_=JSONB))


def beijing(value: datetime | str | None) -> str:
    """A time as residents read it: Beijing time, to the minute."""
    if value is None or value == "":
        return "—"
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _where(case: dict[str, Any]) -> tuple[str, str]:
    territory = (case["routing"] or {}).get("territory") or {}
    town = (territory.get("town") or {}).get("name", "")
    community = (territory.get("community") or {}).get("name", "")
    return town, case["address_text"] or community or town


def _params(case: dict[str, Any], data: dict[str, Any], note: str, s: Settings) -> dict[str, Any]:
    town, address = _where(case)
    base = s.notify_public_url.rstrip("/")
    return {
        "code": case["tracking_code"],
        "type": case["type_name"],
        "handler": case["handler_name"],
        "town": town,
        "address": address,
        "due": beijing(data.get("due_at") or case["due_at"]),
        "note": note or "—",
        "reason": note or "—",
        "case": str(case["id"]),
        "case_link": f"{base}/cases/{case['id']}",
    }


def _staff_targets(case: dict[str, Any], who: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(recipient, label) of the units told: ``party/unit`` codes, no personal data."""
    if who == "tasks":
        return [(f"{t['party']}/", str(t.get("unit") or t["party"])) for t in data.get("tasks", [])]
    if who == "task":  # one called unit of a joint task
        return [
            (f"{data['party']}/{data.get('unit_code') or ''}", str(data.get("unit_name") or ""))
        ]
    return [(f"{case['handler_party']}/{case['handler_unit_code'] or ''}", case["handler_name"])]


def _resident_rows(
    reporters: list[dict[str, str]], template: tpl.Template, params: dict[str, Any],
    cipher: Cipher, s: Settings,
) -> list[dict[str, Any]]:  # fmt: skip
    base = s.notify_public_url.rstrip("/")
    rows = []
    for rep in reporters:
        p = params | {"code": rep["code"], "link": f"{base}/track/{rep['code']}"}
        p["survey"] = f"{base}/track/{rep['code']}/survey"
        p["optout"] = f"{base}/track/{rep['code']}/optout"
        phone = cipher.open(rep["phone"], column="phone")
        email = cipher.open(rep["email"], column="email")
        for channel, to, masked in (
            ("sms", phone, tpl.mask_phone(phone)), ("email", email, tpl.mask_email(email))
        ):  # fmt: skip
            if to:
                rows.append(message_row(
                    template, p, channel=channel, s=s, masked=masked,
                    recipient=cipher.seal(to, column=RECIPIENT_COLUMN),
                    digest=cipher.digest(to.strip().lower(), purpose="notify"),
                ))  # fmt: skip
    return rows


def enqueue_for_event(
    conn: Connection,
    *,
    case_id: int,
    action: str,
    data: dict[str, Any] | None = None,
    note: str | dict[str, Any] = "",
) -> int:
    """Store the messages ``action`` on case ``case_id`` causes, in the caller's transaction
    (so they exist exactly when the change does); how many. ``note`` is the actor's note, or
    the action's payload holding it."""
    from notify.events import expand_case  # (notify.events builds on this module)

    expand_case(conn, case_id=case_id)  # the report's messages come before this change's
    callbacks = hotline.enqueue_callback(  # a hotline order's milestones go back to the platform
        conn, case_id=case_id, action=action, payload=note if isinstance(note, dict) else None
    )
    rows = message_rows(conn, case_id=case_id, action=action, data=data, note=note)
    insert_messages(conn, rows=rows)
    return callbacks + len(rows)


def message_rows(
    conn: Connection,
    *,
    case_id: int,
    action: str,
    data: dict[str, Any] | None = None,
    note: str | dict[str, Any] = "",
    case: dict[str, Any] | None = None,
    followers: bool = True,
    at: datetime | None = None,
) -> list[dict[str, Any]]:
    """The outbox rows (each with its ``case_id``) ``action`` on a case causes, not stored;
    ``case``: its :data:`CASE` row when already read; ``followers=False`` when it is known that
    nobody follows the case or its areas; ``at``: when the change happened (an event expanded
    later tells only those who followed by then)."""
    if isinstance(note, dict):
        note = str(note.get("note") or "")
    rule = RULES.get(action)
    if rule is None:
        return []
    resident_name, staff_name, who = rule
    data = data or {}
    if case is None:
        row = conn.execute(CASE, {"c": case_id}).mappings().first()
        if row is None:
            return []
        case = dict(row)
    if action == "complete_task" and case["status"] != "resolved":
        resident_name = None  # other agencies' parts are still open
    s = get_settings()
    cipher = get_cipher()
    params = _params(case, data, note, s)
    rows: list[dict[str, Any]] = []
    if resident_name:
        told = _resident_rows(case["reporters"], tpl.get_template(resident_name), params, cipher, s)
        if case["urgency"] == "emergency":  # not held by quiet hours
            told = [r | {"urgent": True} for r in told]
        rows += told
    if staff_name:
        if staff_name == "deadline":
            staff_name = "deadline_passed" if data.get("overdue") else "deadline_near"
            params |= {"deadline": DEADLINE_ZH.get(data.get("deadline", ""), ""),
                       "due": beijing(data.get("at"))}  # fmt: skip
        staff = tpl.get_template(staff_name)
        targets = _staff_targets(case, who, data)
        for target, label in targets:  # a unit's inbox: its address is not sealed
            rows.append(message_row(
                staff, params | {"unit": label}, channel="staff", recipient=target,
                masked=label, digest=cipher.digest(target.strip().lower(), purpose="notify"), s=s,
                staff=True,
            ))  # fmt: skip
        if action in ("reminder", "task_reminder"):  # 督办: the units' duty mobiles and e-mails too
            rows += unit_contacts.rows_for(
                conn, targets=targets, template=staff, params=params, s=s, cipher=cipher
            )
    if followers:
        rows += follow.rows_for_event(  # "me too": the case's and its areas' followers
            conn, case_id=case_id, action=action, params=params, s=s, cipher=cipher, before=at
        )
    rows += estate_notices.rows_for_event(  # 三（二）: the estate's company and community
        conn, case_id=case_id, action=action, data=data, params=params, s=s, cipher=cipher
    )
    return [r | {"case_id": case_id} for r in rows]


def insert_messages(conn: Connection, *, rows: list[dict[str, Any]]) -> None:
    """Store outbox rows of :func:`message_rows` in one statement (a key already stored is
    skipped: a message is written once)."""
    if rows:
        conn.execute(
            INSERT,
            {
                "rows": [
                    r | {"state": r.get("state", ""), "error": r.get("error", "")} for r in rows
                ]
            },
        )


MESSAGE_FIELDS = """id, key, channel, audience, template, template_version, urgent,
    recipient_masked AS recipient, subject, body, state, attempts, last_error, transport,
    created_at, next_attempt_at, sent_at"""


def messages_of(conn: Connection, *, case_id: int) -> list[dict[str, Any]]:
    """A case's messages and their delivery state (recipients masked); who may see them is the
    caller's to decide (``incidents.messages.case_messages``)."""
    rows = conn.execute(
        text(f"SELECT {MESSAGE_FIELDS} FROM notify_message WHERE case_id = :c ORDER BY id"),
        {"c": case_id},
    )
    return [dict(r) for r in rows.mappings()]


def opt_out(conn: Connection, *, tracking_code: str) -> int:
    """Stop messages to the addresses the reporter of ``tracking_code`` left; how many."""
    cipher = get_cipher()
    rep = conn.execute(
        text("SELECT phone, email FROM case_reporter WHERE tracking_code = :t"),
        {"t": tracking_code.strip().upper()},
    ).first()
    if rep is None:
        raise CaseUnknown("no case with that tracking code")
    values = [cipher.open(rep.phone, column="phone"), cipher.open(rep.email, column="email")]
    digests = [cipher.digest(v.strip().lower(), purpose="notify") for v in values if v]
    if digests:
        conn.execute(
            text("""INSERT INTO notify_optout (recipient_digest) VALUES (:d)
                    ON CONFLICT DO NOTHING"""),
            [{"d": d} for d in digests],
        )
        conn.execute(
            text("""UPDATE notify_message SET state = 'suppressed', last_error = 'opted out'
                    WHERE state = 'pending' AND recipient_digest = ANY(:d)"""),
            {"d": digests},
        )
    return len(digests)


def status(conn: Connection) -> dict[str, Any]:
    """Counts per state and channel, the oldest pending message's age, the dead letters."""
    counts = conn.execute(
        text("SELECT state, channel, count(*) AS n FROM notify_message GROUP BY 1, 2 ORDER BY 1, 2")
    ).mappings()
    oldest = conn.execute(
        text("SELECT min(created_at) FROM notify_message WHERE state = 'pending'")
    ).scalar_one()
    dead = conn.execute(
        text(f"""SELECT {MESSAGE_FIELDS}, case_id FROM notify_message WHERE state = 'dead'
                 ORDER BY id DESC LIMIT 50""")
    ).mappings()
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else None
    return {
        "counts": [dict(r) for r in counts],
        "oldest_pending_s": age,
        "dead": [{k: v for k, v in r.items() if k != "body"} for r in dead],
    }


def retry(conn: Connection, *, ids: list[int] | None = None) -> int:
    """Put dead letters (all, or these) back in the queue, attempts reset; how many."""
    if ids is not None:
        found = conn.execute(
            text("SELECT count(*) FROM notify_message WHERE id = ANY(:i)"), {"i": ids}
        ).scalar_one()
        if found != len(set(ids)):
            raise MessageNotFound("no message with one of those ids")
    return int(
        conn.execute(
            text("""UPDATE notify_message SET state = 'pending', attempts = 0,
                        next_attempt_at = now(), last_error = ''
                    WHERE state = 'dead' AND (CAST(:i AS bigint[]) IS NULL OR id = ANY(:i))"""),
            {"i": ids},
        ).rowcount
    )


def purge(conn: Connection, *, days: int) -> int:
    """Delete sent and suppressed messages older than ``days`` (dead ones stay); how many.
    The follow requests' rate-limit counters of windows long ended go too."""
    if days < 1:
        raise ValueError("keep at least one day of messages")
    follow_limits.purge(conn)
    cutoff = datetime.now(UTC) - timedelta(days=days)
    return int(
        conn.execute(
            text("""DELETE FROM notify_message WHERE state IN ('sent', 'suppressed')
                    AND created_at < :cut"""),
            {"cut": cutoff},
        ).rowcount
    )


def preview(conn: Connection, *, template: str, case_id: int) -> dict[str, Any]:
    """What ``template`` says about case ``case_id`` (nothing stored, no recipient shown)."""
    t = tpl.get_template(template)
    row = conn.execute(CASE, {"c": case_id}).mappings().first()
    if row is None:
        raise CaseUnknown(f"no case {case_id}")
    case = dict(row)
    s = get_settings()
    base = s.notify_public_url.rstrip("/")
    p = _params(case, {}, "（说明）", s)
    p |= {"link": f"{base}/track/{case['tracking_code']}", "unit": case["handler_name"]}
    p |= {"optout": f"{p['link']}/optout", "deadline": "办结", "survey": f"{p['link']}/survey"}
    out: dict[str, Any] = {"template": t.name, "version": t.version, "audience": t.audience}
    if t.audience == "resident":
        sms = tpl.render_sms(
            t, p, sign=s.notify_sms_sign_name, max_segments=s.notify_sms_max_segments
        )
        subject, body = tpl.render_email(t, p)
        out |= {"sms": sms, "sms_chars": len(sms), "sms_segments": tpl.sms_segments(sms)}
        out |= {"email_subject": subject, "email_body": body}
    else:
        out["subject"], out["body"] = tpl.render_staff(t, p)
    return out


def reseal_recipients(conn: Connection, *, cipher: Cipher) -> int:
    """Seal the stored residents' addresses under the current key (key rotation); a count."""
    where = "audience = 'resident' AND recipient <> ''"
    return (
        reseal_column(
            conn, cipher=cipher, table="notify_message", column=RECIPIENT_COLUMN, where=where
        )
        + follow.reseal(conn, cipher=cipher)
        + unit_contacts.reseal(conn, cipher=cipher)
    )


def forget_recipients(conn: Connection, *, closed_before: datetime) -> int:
    """Erase the residents' addresses of messages about cases closed before the cut-off
    (retention, with the reporters' own data); unsent ones are suppressed. The cases'
    followers go too."""
    follow.forget_closed(conn, closed_before=closed_before)
    return int(
        conn.execute(
            text("""UPDATE notify_message m SET recipient = '', recipient_masked = '***',
                        state = CASE WHEN m.state = 'pending' THEN 'suppressed' ELSE m.state END
                    FROM case_file c
                    WHERE m.case_id = c.id AND m.audience = 'resident' AND m.recipient <> ''
                      AND c.status IN ('closed', 'rejected')
                      AND COALESCE(c.closed_at, c.updated_at) < :cut"""),
            {"cut": closed_before},
        ).rowcount
    )


def discard_this_transaction(conn: Connection, *, reason: str) -> int:
    """Suppress the pending messages this transaction wrote (e.g. back-dated demo cases), and
    drop the events it wrote whose messages are not written yet (notify.events)."""
    conn.execute(text("DELETE FROM notify_event WHERE created_at = now()"))
    return int(
        conn.execute(
            text("""UPDATE notify_message SET state = 'suppressed', last_error = :r
                    WHERE state = 'pending' AND created_at = now()"""),
            {"r": reason},
        ).rowcount
    )
