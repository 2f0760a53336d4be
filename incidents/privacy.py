"""Residents' personal data over time: key rotation and anonymisation after the retention period.

Names and phone numbers are kept sealed (:mod:`shudi.pii`) for as long as a case may need a
call back; once a case has been closed for the retention period they are erased, and the case
records that they were (a system event). See docs/privacy.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import hotline, store
from notify import service as notify
from shudi.pii import Cipher, get_cipher

BATCH = 1000


def reporters(conn: Connection, *, case_id: int, principal: Principal) -> list[dict[str, Any]]:
    """The reporters' names and phones, opened, and this read recorded (``pii_access``)."""
    rows = conn.execute(
        text("""SELECT contact_name, phone, email, created_at FROM (
            SELECT r.id, r.contact_name, r.phone, r.email, r.created_at
            FROM case_reporter r WHERE r.case_id = :c
            UNION ALL  -- and the reporters of the cases merged into this one
            SELECT r.id, r.contact_name, r.phone, r.email, r.created_at
            FROM case_file m JOIN case_reporter r ON r.case_id = m.id WHERE m.merged_into = :c
        ) both_ ORDER BY id"""),
        {"c": case_id},
    ).all()
    if not any(r.contact_name or r.phone or r.email for r in rows):
        return [dict(r._mapping) for r in rows]
    conn.execute(
        text("""INSERT INTO pii_access (case_id, actor_id, actor, purpose)
                VALUES (:c, :a, :l, 'case view')"""),
        {"c": case_id, "a": principal.user_id, "l": principal.label},
    )
    cipher = get_cipher()
    return [
        {
            "contact_name": cipher.open(r.contact_name, column="contact_name"),
            "phone": cipher.open(r.phone, column="phone"),
            "email": cipher.open(r.email, column="email"),
            "created_at": r.created_at,
        }
        for r in rows
    ]


def reseal(
    conn: Connection, *, cipher: Cipher, progress: Callable[[int, int], None] | None = None
) -> int:
    """Seal every stored name and phone under the current key (older keys, or none); a count."""
    todo = conn.execute(
        text("""SELECT id, contact_name, phone, email FROM case_reporter
                WHERE contact_name <> '' OR phone <> '' OR email <> '' ORDER BY id""")
    ).all()
    stale = [
        r for r in todo if not all(cipher.is_current(v) for v in (r.contact_name, r.phone, r.email))
    ]
    for start in range(0, len(stale), BATCH):
        rows = stale[start : start + BATCH]
        conn.execute(
            text(
                "UPDATE case_reporter SET contact_name = :n, phone = :p, email = :e WHERE id = :i"
            ),
            [
                {
                    "i": r.id,
                    "n": cipher.seal(
                        cipher.open(r.contact_name, column="contact_name"), column="contact_name"
                    ),
                    "p": cipher.seal(cipher.open(r.phone, column="phone"), column="phone"),
                    "e": cipher.seal(cipher.open(r.email, column="email"), column="email"),
                }
                for r in rows
            ],
        )
        if progress:
            progress(start + len(rows), len(stale))
    resealed = notify.reseal_recipients(conn, cipher=cipher)
    return len(stale) + resealed + hotline.reseal(conn, cipher=cipher)  # 12345 orders, secrets


ANONYMISE = store.insert_select(
    store.EVENT,
    before="""WITH due AS (
  SELECT DISTINCT c.id FROM case_file c JOIN case_reporter r ON r.case_id = c.id
  WHERE c.status IN ('closed', 'rejected')
    AND COALESCE(c.closed_at, c.updated_at) < CAST(:cutoff AS timestamptz)
    AND (r.contact_name <> '' OR r.phone <> '' OR r.email <> '')
), erased AS (
  UPDATE case_reporter r SET contact_name = '', phone = '', email = ''
  FROM due WHERE r.case_id = due.id
  RETURNING r.case_id
), logged AS (
""",
    values={
        "case_id": "id",
        "actor_id": "NULL",
        "actor_role": "'system'",
        "actor_label": "'retention'",
        "action": "'anonymise'",
        "from_status": "NULL",
        "to_status": "NULL",
        "note": "'个人信息已按保存期限删除'",
        "data": "jsonb_build_object('retention_days', CAST(:days AS int))",
        "public": "false",
    },
    source="FROM due",
    after="""
)
SELECT count(*) FROM due""",
)


def anonymise(conn: Connection, *, days: int, now: datetime | None = None) -> int:
    """Erase the reporters' names and phones of cases closed more than ``days`` ago."""
    if days < 1:
        raise ValueError("the retention period is at least one day")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    n = store.write_from(conn, ANONYMISE, {"cutoff": cutoff, "days": days})
    notify.forget_recipients(conn, closed_before=cutoff)  # the outbox's copies go too
    return n
