"""The town coordinators' daily digest: for a town and a (Beijing) day, the cases new that day,
the overdue ones, the open disputes (纠纷) and the joint-enforcement tasks still waiting, as
one staff notice to the town (``town_government/<town>``: the staff channel the outbox uses
for units — coordinators have no address of their own in Shudi).

Idempotent per town and day: the message's key is derived from both, so running it again (the
CLI, several senders at the configured hour) adds nothing.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from notify import templates as tpl
from notify.exceptions import DigestError
from shudi.settings import Settings, get_settings

log = logging.getLogger("shudi.notify")
BEIJING = timezone(timedelta(hours=8))
TEMPLATE = "town_digest"
SHOWN = 10  # case numbers listed per heading
ENDED = "('closed', 'rejected', 'resolved')"  # no longer waiting on anyone in the town
COUNTS = text(f"""SELECT
  ARRAY(SELECT c.id FROM case_file c WHERE c.town_code = :t AND c.merged_into IS NULL
        AND c.created_at >= :start AND c.created_at < :end ORDER BY c.id) AS new,
  ARRAY(SELECT c.id FROM case_file c WHERE c.town_code = :t AND c.merged_into IS NULL
        AND c.status NOT IN {ENDED} AND c.created_at < :end AND c.due_at < :end
        ORDER BY c.due_at, c.id) AS overdue,
  ARRAY(SELECT c.id FROM case_file c JOIN violation_type vt ON vt.code = c.type_code
        WHERE c.town_code = :t AND c.merged_into IS NULL AND vt.scope = 'dispute'
        AND c.status NOT IN {ENDED} AND c.created_at < :end ORDER BY c.id) AS disputes,
  ARRAY(SELECT t.id FROM case_task t JOIN case_file c ON c.id = t.case_id
        WHERE c.town_code = :t AND t.kind = 'joint' AND NOT t.done
        AND c.status NOT IN ('closed', 'rejected') AND t.created_at < :end
        ORDER BY t.id) AS joint_waiting""")
INSERT = text("""INSERT INTO notify_message (key, channel, audience, template, template_version,
    urgent, recipient, recipient_masked, recipient_digest, subject, body, params)
  VALUES (:key, 'staff', 'staff', :template, :version, false, :to, :masked, '', :subject, :body,
          :params)
  ON CONFLICT (key) DO NOTHING""").bindparams(bindparam("params", type_=JSONB))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), BEIJING)
    return start, start + timedelta(days=1)


def town_day(conn: Connection, *, town: str, day: date) -> dict[str, Any]:
    """The digest's figures for ``town`` on ``day`` (Beijing): case ids new that day, open and
    past their deadline by its end, open disputes, and ids of joint tasks not yet done."""
    start, end = day_bounds(day)
    row = conn.execute(COUNTS, {"t": town, "start": start, "end": end}).mappings().one()
    return {k: list(v) for k, v in row.items()}


def _towns(conn: Connection, town: str | None) -> dict[str, str]:
    rows = conn.execute(
        text("""SELECT DISTINCT ON (code) code, name FROM boundary WHERE layer = 'town'
                AND (CAST(:t AS text) IS NULL OR code = :t) ORDER BY code, generation_id DESC"""),
        {"t": town},
    ).all()
    if town and not rows:
        raise DigestError(f"没有编码为 {town} 的镇街 (no town {town})")
    return {r.code: r.name for r in rows}


def _listed(ids: list[int]) -> str:
    more = f" 等{len(ids)}件" if len(ids) > SHOWN else ""
    return ("、".join(f"#{i}" for i in ids[:SHOWN]) + more) if ids else "无"


def enqueue_digest(
    conn: Connection, *, day: date, town: str | None = None, s: Settings | None = None
) -> list[dict[str, Any]]:
    """Enqueue the digest of ``day`` for ``town`` (default: every town); per town its counts
    and whether it was new (False: that town and day had one already)."""
    s = s or get_settings()
    template = tpl.get_template(TEMPLATE)
    base = s.notify_public_url.rstrip("/")
    out = []
    for code, name in _towns(conn, town).items():
        f = town_day(conn, town=code, day=day)
        p = {
            "unit": f"{name}协调员",
            "town": name,
            "day": day.isoformat(),
            "new": len(f["new"]),
            "overdue": len(f["overdue"]),
            "disputes": len(f["disputes"]),
            "joint": len(f["joint_waiting"]),
            "overdue_list": _listed(f["overdue"]),
            "dispute_list": _listed(f["disputes"]),
            "link": f"{base}/workbench",
        }
        subject, body = tpl.render_staff(template, p)
        key = hashlib.sha256(f"town_digest/{code}/{day.isoformat()}".encode()).hexdigest()[:32]
        added = conn.execute(
            INSERT,
            {
                "key": key,
                "template": template.name,
                "version": template.version,
                "to": f"town_government/{code}",
                "masked": p["unit"],
                "subject": subject,
                "body": body,
                "params": {k: tpl.clean(v) for k, v in p.items()},
            },
        ).rowcount
        counts = {k: len(v) for k, v in f.items()}
        out.append({"town": code, "day": day.isoformat(), "enqueued": bool(added)} | counts)
    return out


def due_day(now: datetime, at: str) -> date | None:
    """The day whose digest is due at ``now`` (yesterday, Beijing, once ``at`` has passed
    today); None before the hour or when ``at`` is ``off``."""
    if at.strip().lower() == "off":
        return None
    hour, _, minute = at.partition(":")
    local = now.astimezone(BEIJING)
    if (local.hour, local.minute) < (int(hour), int(minute or 0)):
        return None
    return local.date() - timedelta(days=1)


class DailyDigest:
    """The sender loop's once-a-day trigger: at ``notify_digest_at`` (Beijing) it enqueues the
    previous day's digests, once per process and day (the keys make other processes harmless)."""

    def __init__(self) -> None:
        self.done: date | None = None

    def tick(self, engine: Engine, now: datetime | None = None) -> int:
        s = get_settings()
        day = due_day(now or datetime.now(UTC), s.notify_digest_at)
        if day is None or day == self.done:
            return 0
        with engine.begin() as conn:
            made = enqueue_digest(conn, day=day, s=s)
        self.done = day
        n = sum(1 for m in made if m["enqueued"])
        if n:
            log.info("town digests of %s enqueued: %d", day.isoformat(), n)
        return n
