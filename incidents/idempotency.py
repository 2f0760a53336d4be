"""Idempotency-Key handling (IETF draft semantics), in the same transaction as the work.

Same key and same request → the stored answer again; same key and another request → 422;
a request with that key still being processed → 409; keys are kept 24 hours. A transaction-
scoped advisory lock marks a key in flight, so concurrent retries never create two cases.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import JSONB

from incidents.exceptions import (
    IdempotencyKeyInFlight,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
)

KEEP_HOURS = 24
MAX_KEY_LENGTH = 255
LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext(:s), hashtext(:k))")
STORED = text(f"""SELECT request_hash, status_code, response FROM idempotency_key
                  WHERE key = :k AND scope = :s
                    AND created_at > now() - interval '{KEEP_HOURS} hours'""")
REMEMBER = text("""INSERT INTO idempotency_key (key, scope, request_hash, status_code, response)
    VALUES (:k, :s, :h, :c, :r)
    ON CONFLICT (key, scope) DO UPDATE SET request_hash = EXCLUDED.request_hash,
        status_code = EXCLUDED.status_code, response = EXCLUDED.response, created_at = now()""")
#: :func:`finish` for a new case, inside its INSERT (``also`` of
#: :func:`incidents.store.insert_case`; ``c``: the new case): the answer gets the case's id.
WITH_NEW_CASE = """INSERT INTO idempotency_key (key, scope, request_hash, status_code, response)
    SELECT :idem_k, :idem_s, :idem_h, :idem_c,
           jsonb_set(CAST(:idem_r AS jsonb), '{id}', to_jsonb(id)) FROM c
    ON CONFLICT (key, scope) DO UPDATE SET request_hash = EXCLUDED.request_hash,
        status_code = EXCLUDED.status_code, response = EXCLUDED.response, created_at = now()"""


@dataclass(frozen=True)
class Replay:
    """A stored answer to send again."""

    status_code: int
    body: dict[str, Any]


def request_hash(payload: Any) -> str:
    """A stable fingerprint of a request (canonical JSON, photos by their digests)."""
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def begin(conn: Connection, *, key: str | None, scope: str, fingerprint: str) -> Replay | None:
    """Claim ``key`` for this transaction; a Replay when it was answered before."""
    if not key or not key.strip():
        raise IdempotencyKeyMissing("an Idempotency-Key header is required for this request")
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyMissing(f"the Idempotency-Key is longer than {MAX_KEY_LENGTH}")
    locked = conn.execute(LOCK, {"s": scope, "k": key}).scalar_one()
    if not locked:
        raise IdempotencyKeyInFlight("a request with this Idempotency-Key is still in progress")
    row = conn.execute(STORED, {"k": key, "s": scope}).first()
    if row is None:  # new, or expired (``finish`` overwrites an expired row)
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for a different request; use a new key"
        )
    return Replay(status_code=row.status_code, body=row.response)


def finish(
    conn: Connection,
    *,
    key: str,
    scope: str,
    fingerprint: str,
    status_code: int,
    body: dict[str, Any],
) -> None:
    """Store the answer with the work, in the same transaction."""
    conn.execute(
        REMEMBER,
        {
            "k": key,
            "s": scope,
            "h": fingerprint,
            "c": status_code,
            "r": json.dumps(body, ensure_ascii=False, default=str),
        },
    )


def with_new_case(
    *, key: str, scope: str, fingerprint: str, status_code: int, body: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """:func:`finish` for a case being stored, inside its INSERT (no round trip of its own):
    ``also`` for :func:`incidents.store.insert_case`; ``body`` without ``id``, which the
    stored answer takes from the new case."""
    return {
        WITH_NEW_CASE: {
            "idem_k": key,
            "idem_s": scope,
            "idem_h": fingerprint,
            "idem_c": status_code,
            "idem_r": json.dumps(body, ensure_ascii=False, default=str),
        }
    }


def purge(conn: Connection) -> int:
    """Forget keys older than the retention window."""
    return conn.execute(
        text(
            f"DELETE FROM idempotency_key WHERE created_at < now() - interval '{KEEP_HOURS} hours'"
        )
    ).rowcount


_ = JSONB
