"""Sealing and verifying the hash-chained audit log (all SQL of the audit domain).

Each sealed row's ``hash`` is ``sha256(previous hash || canonical text of the row)``, the first
row chaining from 32 zero bytes. The canonical text is a run of netstring fields
(``<byte length>:<value>,``, ``~,`` for NULL): seq, id, xid, at (UTC, microseconds), table,
operation, subject, database user, actor, payload (jsonb text), and — on rows that have either
(migration 0018) — the acting user's id and the request id. The database computes it in
``audit_canonical()`` when sealing; :func:`verify` rebuilds it here, independently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from audit.exceptions import AppRoleMissing, AuditChainBroken, InvalidHead, UnauditedEvent

APP_ROLE = "shudi_app"
GENESIS = bytes(32)
_BATCH = 20_000


@dataclass(frozen=True)
class ChainHead:
    """The last sealed row: its ``seq`` and ``hash`` (hex); ``seq`` 0 for an empty chain."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclass(frozen=True)
class Verified:
    """What :func:`verify` checked."""

    rows: int
    head: ChainHead
    unsealed: int


def _field(value: str | None) -> str:
    return "~," if value is None else f"{len(value.encode())}:{value},"


def canonical(
    *,
    seq: int,
    id: int,
    xid: str,
    at: datetime,
    table_name: str,
    op: str,
    subject: str,
    db_user: str,
    actor: str | None,
    payload: str,
    actor_id: int | None = None,
    request_id: str | None = None,
) -> bytes:
    """The bytes a row's hash covers (mirrors ``audit_canonical()`` in migrations 0006 and
    0018: the actor's id and the request id are appended only when either is set)."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields: tuple[str | None, ...] = (
        str(seq), str(id), xid, stamp, table_name, op, subject, db_user, actor, payload,
    )  # fmt: skip
    if actor_id is not None or request_id is not None:
        fields += (None if actor_id is None else str(actor_id), request_id)
    return "".join(_field(f) for f in fields).encode()


def parse_head(value: str) -> ChainHead:
    """``SEQ:HEXHASH`` (as printed by ``shudi audit verify``) as a :class:`ChainHead`."""
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64 or not _is_hex(digest):
        raise InvalidHead(f"invalid head {value!r}: expected SEQ:HASH with a 64-digit hex hash")
    return ChainHead(seq=int(seq), hash=digest.lower())


def _is_hex(value: str) -> bool:
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def seal(conn: Connection, *, max_rows: int = _BATCH, wait: bool = False) -> int:
    """Chain up to ``max_rows`` finished rows in this transaction; how many were sealed."""
    return int(
        conn.execute(
            text("SELECT audit_seal(:n, :wait)"), {"n": max_rows, "wait": wait}
        ).scalar_one()
    )


def seal_pending(engine: Engine, *, wait: bool = True, batch: int = _BATCH) -> int:
    """Seal every row that can be sealed now, one committed batch at a time."""
    total = 0
    while True:
        with engine.begin() as conn:
            n = seal(conn, max_rows=batch, wait=wait)
        total += n
        if n < batch:
            return total


def head(conn: Connection) -> ChainHead:
    """The chain's last sealed row."""
    row = conn.execute(
        text("SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1")
    ).first()
    if row is None:
        return ChainHead(seq=0, hash=GENESIS.hex())
    return ChainHead(seq=row.seq, hash=bytes(row.hash).hex())


def _sealed_rows(conn: Connection) -> Iterator[Any]:
    result = conn.execute(
        text("""SELECT seq, id, xid::text AS xid, at, table_name, op, subject, db_user, actor,
                       payload::text AS payload, actor_id, request_id, hash
                FROM audit_log WHERE seq IS NOT NULL ORDER BY seq"""),
        execution_options={"stream_results": True, "yield_per": 5_000},
    )
    yield from result


def verify(conn: Connection, *, expect: ChainHead | None = None) -> Verified:
    """Recompute the chain; raise :class:`AuditChainBroken` at the first bad ``seq``.

    A removed row shows as a gap in ``seq``, an altered one as a hash mismatch. Rows removed
    from the end leave a shorter, consistent chain: pass a head recorded earlier as ``expect``
    to catch that.
    """
    conn.execute(text("SET LOCAL statement_timeout = 0"))  # an operator's full scan
    prev = GENESIS
    expected = 1
    seen: dict[int, bytes] = {}
    for row in _sealed_rows(conn):
        if row.seq != expected:
            raise AuditChainBroken(expected, "row missing")
        digest = hashlib.sha256(
            prev
            + canonical(
                seq=row.seq,
                id=row.id,
                xid=row.xid,
                at=row.at,
                table_name=row.table_name,
                op=row.op,
                subject=row.subject,
                db_user=row.db_user,
                actor=row.actor,
                payload=row.payload,
                actor_id=row.actor_id,
                request_id=row.request_id,
            )
        ).digest()
        if digest != bytes(row.hash):
            raise AuditChainBroken(row.seq, "row altered (hash mismatch)")
        if expect is not None and row.seq == expect.seq:
            seen[row.seq] = digest
        prev = digest
        expected += 1
    last = expected - 1
    if expect is not None and expect.seq > 0:
        if expect.seq > last:
            raise AuditChainBroken(
                last + 1, f"row missing (the chain ends at {last}, a recorded head at {expect.seq})"
            )
        if seen[expect.seq].hex() != expect.hash:
            raise AuditChainBroken(expect.seq, "row differs from the recorded head")
    check_events(conn)
    unsealed = conn.execute(text("SELECT count(*) FROM audit_log WHERE seq IS NULL")).scalar_one()
    return Verified(rows=last, head=ChainHead(last, prev.hex()), unsealed=int(unsealed))


_EVENT_VS_ENTRY = text("""
SELECT a.seq, (a.payload ->> 'event_id')::bigint AS event_id, e.id IS NULL AS removed
FROM audit_log a
LEFT JOIN case_event e ON e.id = (a.payload ->> 'event_id')::bigint
WHERE a.table_name = 'case_event' AND a.seq IS NOT NULL
  AND (e.id IS NULL OR audit_event_payload(e) IS DISTINCT FROM a.payload - 'backfill')
ORDER BY a.seq LIMIT 1
""")

_EVENT_WITHOUT_ENTRY = text("""
SELECT min(id) FROM (
  SELECT id FROM case_event
  EXCEPT
  SELECT (payload ->> 'event_id')::bigint FROM audit_log WHERE table_name = 'case_event'
) AS missing
""")


def check_events(conn: Connection) -> None:
    """Every case event must match its sealed entry, and have one (sealed or not)."""
    bad = conn.execute(_EVENT_VS_ENTRY).first()
    if bad is not None:
        what = "removed" if bad.removed else "altered (differs from its entry)"
        raise AuditChainBroken(bad.seq, f"case event {bad.event_id} {what}")
    orphan = conn.execute(_EVENT_WITHOUT_ENTRY).scalar()
    if orphan is not None:
        raise UnauditedEvent(f"case event {orphan} has no audit entry (written unaudited)")


def status(conn: Connection) -> dict[str, Any]:
    """Sealed and unsealed row counts, the head, and the oldest unsealed row's time."""
    row = conn.execute(
        text("""SELECT count(*) FILTER (WHERE seq IS NULL) AS unsealed,
                       min(at) FILTER (WHERE seq IS NULL) AS oldest_unsealed
                FROM audit_log""")
    ).one()
    top = head(conn)
    return {
        "sealed": top.seq,
        "head": str(top),
        "unsealed": int(row.unsealed),
        "oldest_unsealed": row.oldest_unsealed,
    }


def entries(conn: Connection, *, subject: str | None = None, limit: int = 50) -> list[dict]:
    """The newest entries, optionally of one subject (``case:12``, ``app_user:3``)."""
    rows = conn.execute(
        text("""SELECT id, seq, at, table_name, op, subject, db_user, actor, actor_id,
                       request_id, payload
                FROM audit_log WHERE (CAST(:s AS text) IS NULL OR subject = :s)
                ORDER BY id DESC LIMIT :n"""),
        {"s": subject, "n": limit},
    )
    return [dict(r._mapping) for r in rows]


def set_app_password(conn: Connection, *, password: str) -> None:
    """Let the application role log in with ``password`` (the role comes from migration 0006)."""
    exists = conn.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}
    ).scalar()
    if not exists:
        raise AppRoleMissing(
            f"role {APP_ROLE} does not exist; "
            "run `shudi db migrate` as a user that can create roles"
        )
    # psycopg2 quotes the literal client-side; ALTER ROLE takes no server-side parameters
    conn.execute(text(f"ALTER ROLE {APP_ROLE} LOGIN PASSWORD :p"), {"p": password})
