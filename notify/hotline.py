"""The hotline (12345) work-order link, outbound: a hotline case's milestones posted back to
the platform through the outbox (docs/hotline.md).

Milestones: ``accept`` 签收, ``reply`` 回复 (resolve, with the public reply), ``close`` 办结
(verify), ``return`` 退回 (reject, with the reason), ``postpone_request`` 申请延期 (with the
requested deadline and reason). Each is one ``notify_message`` row (channel ``hotline``) written
in the transaction of the case change; the sender posts its body as it is stored, signed:
``X-Hotline-Timestamp`` (Unix seconds) and ``X-Hotline-Signature: sha256=hex(HMAC-SHA256(
SHUDI_HOTLINE_CALLBACK_SECRET, timestamp + "." + body))``, with ``Idempotency-Key`` (also the
body's ``callback_id``) the same on every retry. Free text has digit runs of 7 or more masked:
no phone number leaves in a callback.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from notify.channels import Outgoing, _post
from notify.exceptions import ChannelConfigError
from notify.signing import webhook_signature

#: workflow action -> (milestone, its Chinese name)
MILESTONES: dict[str, tuple[str, str]] = {
    "accept": ("accept", "签收"),
    "resolve": ("reply", "回复"),
    "verify": ("close", "办结"),
    "reject": ("return", "退回"),
    "request_postpone": ("postpone_request", "申请延期"),
}
_DIGITS = re.compile(r"\d[\d\s-]{5,}\d")

_CASE = text("""SELECT o.order_no, c.id, c.tracking_code, c.status, c.handler_name, c.due_at
  FROM hotline_order o JOIN case_file c ON c.id = o.case_id WHERE o.case_id = :c""")
_INSERT = text("""INSERT INTO notify_message (key, case_id, channel, audience, template,
    template_version, recipient, recipient_masked, recipient_digest, subject, body)
  VALUES (:key, :case_id, 'hotline', 'platform', :template, 1, 'hotline', '12345 平台', :digest,
    :subject, :body)""")


def scrub(value: Any) -> str:
    """Free text as it may leave: runs of 7+ digits (phone numbers) masked."""
    return _DIGITS.sub(lambda m: m.group()[:3] + "****", str(value or "")).strip()


def _iso(value: Any) -> str | None:
    if value in (None, ""):
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.astimezone(UTC).isoformat()


def enqueue_callback(
    conn: Connection, *, case_id: int, action: str, payload: dict[str, Any] | None = None
) -> int:
    """Store the callback ``action`` on a hotline case causes, in the caller's transaction;
    how many (0 or 1)."""
    if action not in MILESTONES:
        return 0
    row = conn.execute(_CASE, {"c": case_id}).mappings().first()
    if row is None:
        return 0
    payload = payload or {}
    milestone, zh = MILESTONES[action]
    key = uuid.uuid4().hex
    body: dict[str, Any] = {
        "callback_id": key,
        "order_no": row["order_no"],
        "milestone": milestone,
        "milestone_zh": zh,
        "case_id": row["id"],
        "tracking_code": row["tracking_code"],
        "status": row["status"],
        "handler": row["handler_name"],
        "due_at": _iso(row["due_at"]),
        "at": datetime.now(UTC).isoformat(),
    }
    if milestone in ("reply", "close"):
        body["reply"] = scrub(payload.get("public_reply"))
    if milestone in ("return", "postpone_request"):
        body["reason"] = scrub(payload.get("note"))
    if milestone == "postpone_request":
        body["requested_due_at"] = _iso(payload.get("due_at"))
    conn.execute(
        _INSERT,
        {
            "key": key,
            "case_id": case_id,
            "template": f"hotline_{milestone}",
            "digest": hashlib.sha256(row["order_no"].encode()).hexdigest()[:32],
            "subject": f"{zh} {row['order_no']}",
            "body": json.dumps(body, ensure_ascii=False, sort_keys=True),
        },
    )
    return 1


class HotlineCallback:
    """Posts a callback's stored JSON to the platform, signed (see the module's docstring)."""

    name = "hotline"

    def __init__(self, url: str, secret: str | None) -> None:
        if not secret:
            raise ChannelConfigError(
                "SHUDI_HOTLINE_CALLBACK_URL needs SHUDI_HOTLINE_CALLBACK_SECRET"
            )
        self.url, self.secret = url, secret

    def send(self, msg: Outgoing) -> None:
        body = msg.body.encode()
        stamp = str(int(time.time()))
        _post(
            self.url,
            body,
            {
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": msg.key,
                "X-Hotline-Timestamp": stamp,
                "X-Hotline-Signature": webhook_signature(self.secret, stamp, body),
            },
        )
