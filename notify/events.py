"""Notification events: store first, expand later.

A case change that tells people (today: a report filed, :func:`incidents.intake.create_case`)
writes one small ``notify_event`` row — the case and the kind of change — in its own
transaction. The sender (:func:`notify.sender.deliver_due`) expands due events into the
per-recipient, templated, sealed ``notify_message`` rows (:func:`notify.service.message_rows`)
and deletes them, in one transaction: a crash before that commit leaves the event to expand
again, after it the messages exist. Each message's key is derived from its event and
recipient, so an event expanded twice (a batch rolled back after its messages were sent)
writes the same keys again — the channel drops the repeat, as for any retried message.

This keeps the rendering, the sealing and four statements off the report's request path; the
messages follow the case's state when the sender reads it (within a poll interval).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from notify import service

RECORD = text("INSERT INTO notify_event (case_id, action) VALUES (:c, :a)")
#: The same for a case being inserted (incidents.store.insert_case's ``also``: ``c``).
WITH_NEW_CASE = "INSERT INTO notify_event (case_id, action) SELECT id, :notify_action FROM c"
RECORD_FULL = text(
    "INSERT INTO notify_event (case_id, action, data, note) VALUES (:c, :a, :d, :n)"
).bindparams(bindparam("d", type_=JSONB))
#: Due events, oldest first, taken by this transaction (another sender skips them).
CLAIM = text("""DELETE FROM notify_event WHERE id IN (
    SELECT id FROM notify_event ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)
  RETURNING id, case_id, action, data, note, created_at""")
#: One case's events, whoever holds them (waits for a sender expanding them to commit).
CLAIM_CASE = text("""DELETE FROM notify_event WHERE case_id = :c
  RETURNING id, case_id, action, data, note, created_at""")
#: The cases of a batch with their reporters (notify.service.CASE for many).
CASES = text(str(service.CASE).replace("WHERE c.id = :c", "WHERE c.id = ANY(:ids)"))
#: Which cases of a batch someone follows (the case, or its town, community or estate).
FOLLOWED = text("""SELECT DISTINCT c.id FROM case_file c JOIN notify_follow f
    ON f.case_id = c.id
    OR (f.area_layer = 'town' AND f.area_code = c.town_code)
    OR (f.area_layer = 'community' AND f.area_code = c.community_code)
    OR (f.area_layer = 'property_area' AND f.area_code = c.property_area_code)
  WHERE c.id = ANY(:ids)""")  # (made after the event or not: message_rows checks)


def record(
    conn: Connection,
    *,
    case_id: int,
    action: str,
    data: dict[str, Any] | None = None,
    note: str = "",
) -> None:
    """Note, in the caller's transaction, that ``action`` on case ``case_id`` is to be told
    (one INSERT); the sender writes its messages."""
    if data or note:
        conn.execute(RECORD_FULL, {"c": case_id, "a": action, "d": data or {}, "n": note})
    else:
        conn.execute(RECORD, {"c": case_id, "a": action})


def with_new_case(action: str) -> dict[str, dict[str, Any]]:
    """:func:`record` for a case being stored, inside its INSERT (no round trip of its own):
    ``also`` for :func:`incidents.store.insert_case`."""
    return {WITH_NEW_CASE: {"notify_action": action}}


def message_key(event_id: int, row: dict[str, Any]) -> str:
    """A message's idempotency key: the same for the same event, channel, template and
    recipient, however often the event is expanded."""
    who = row.get("digest") or row.get("recipient") or ""
    raw = f"notify_event:{event_id}:{row['channel']}:{row['template']}:{who}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def expand_due(conn: Connection, *, limit: int = 200) -> int:
    """Expand up to ``limit`` due events into their messages and delete them, in ``conn``'s
    transaction; how many events. A few statements per batch: the events, their cases and
    reporters, who follows them, one INSERT of every message (plus an estate's contacts for
    the actions that concern it)."""
    return _expand(conn, conn.execute(CLAIM, {"n": limit}).all())


def expand_case(conn: Connection, *, case_id: int) -> int:
    """Expand case ``case_id``'s events now, before a later change of it writes its own
    messages (so a case's messages keep the order of its changes); how many events."""
    return _expand(conn, conn.execute(CLAIM_CASE, {"c": case_id}).all())


def _expand(conn: Connection, claimed: Sequence[Any]) -> int:
    events = sorted(claimed, key=lambda e: e.id)
    if not events:
        return 0
    ids = sorted({e.case_id for e in events})
    cases = {r["id"]: dict(r) for r in conn.execute(CASES, {"ids": ids}).mappings()}
    followed = set(conn.execute(FOLLOWED, {"ids": ids}).scalars())
    rows: list[dict[str, Any]] = []
    for e in events:
        case = cases.get(e.case_id)
        if case is None:  # deleted since (retention): nobody to tell
            continue
        for row in service.message_rows(
            conn,
            case_id=e.case_id,
            action=e.action,
            data=dict(e.data or {}),
            note=e.note,
            case=case,
            followers=e.case_id in followed,
            at=e.created_at,
        ):
            rows.append(row | {"key": message_key(e.id, row)})
    service.insert_messages(conn, rows=rows)
    return len(events)
