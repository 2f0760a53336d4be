"""A hotline platform's credentials and the signature of its requests (docs/hotline.md).

A platform is an API key (the ``api_key`` table, as Open311 clients are) with a signing
secret beside it (``hotline_key``, sealed like personal data: the secret must be readable to
check an HMAC, unlike the key, of which only the hash is kept).

Each request carries ``X-Api-Key``, ``X-Timestamp`` (Unix seconds) and ``X-Signature:
sha256=<hex>``, where hex = HMAC-SHA256(secret, timestamp + "." + raw body bytes). A timestamp
more than ``hotline_max_skew_s`` (300 s) from the server's clock is refused (replay window);
an order replayed inside the window is harmless: orders are idempotent on their number.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlalchemy import Connection, text

from accounts.exceptions import NotAuthenticated
from accounts.service import create_api_key
from shudi.pii import Cipher, get_cipher
from shudi.settings import get_settings

SECRET_COLUMN = "hotline_secret"


class HotlineAuthFailed(NotAuthenticated):
    """The request's key, timestamp or signature does not check out (401)."""

    code = "hotline_auth_failed"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def string_to_sign(timestamp: str, body: bytes) -> bytes:
    """What is signed: the timestamp as sent, a full stop, the body's bytes as sent."""
    return timestamp.encode() + b"." + body


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Signature`` (and ``X-Hotline-Signature``) value."""
    mac = hmac.new(secret.encode(), string_to_sign(timestamp, body), hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def create_platform(conn: Connection, *, name: str) -> dict[str, object]:
    """A new platform's API key and signing secret: the one time either is shown."""
    key = create_api_key(conn, name=name)
    key_id = conn.execute(
        text("SELECT id FROM api_key WHERE key_hash = :h"),
        {"h": hashlib.sha256(key.encode()).hexdigest()},
    ).scalar_one()
    secret = secrets.token_urlsafe(32)
    conn.execute(
        text("INSERT INTO hotline_key (api_key_id, secret) VALUES (:k, :s)"),
        {"k": key_id, "s": get_cipher().seal(secret, column=SECRET_COLUMN)},
    )
    return {"id": key_id, "name": name, "api_key": key, "secret": secret}


def authenticate(
    conn: Connection,
    *,
    api_key: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float | None = None,
) -> int:
    """The platform (its ``api_key`` id) that signed ``body``, or :class:`HotlineAuthFailed`."""
    if not api_key or not timestamp or not signature:
        raise HotlineAuthFailed(
            "hotline_credentials_missing",
            "X-Api-Key, X-Timestamp and X-Signature are all required",
        )
    row = conn.execute(
        text("""SELECT k.id, h.secret FROM api_key k JOIN hotline_key h ON h.api_key_id = k.id
                WHERE k.key_hash = :h AND NOT k.revoked"""),
        {"h": hashlib.sha256(api_key.encode()).hexdigest()},
    ).first()
    if row is None:
        raise HotlineAuthFailed("hotline_key_invalid", "the API key is unknown or revoked")
    if not timestamp.isdigit():
        raise HotlineAuthFailed("hotline_timestamp_invalid", "X-Timestamp is Unix seconds")
    skew = get_settings().hotline_max_skew_s
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > skew:
        raise HotlineAuthFailed(
            "hotline_timestamp_stale",
            f"X-Timestamp is more than {skew} s from the server's clock (replay refused)",
        )
    secret = get_cipher().open(row.secret, column=SECRET_COLUMN)
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip()):
        raise HotlineAuthFailed(
            "hotline_signature_invalid",
            "X-Signature is not HMAC-SHA256(secret, timestamp + '.' + body)",
        )
    return int(row.id)


def reseal_secrets(conn: Connection, *, cipher: Cipher) -> int:
    """Seal the platforms' secrets under the current key (key rotation); how many."""
    rows = conn.execute(text("SELECT api_key_id, secret FROM hotline_key")).all()
    stale = [r for r in rows if not cipher.is_current(r.secret)]
    for r in stale:
        plain = cipher.open(r.secret, column=SECRET_COLUMN)
        conn.execute(
            text("UPDATE hotline_key SET secret = :s WHERE api_key_id = :k"),
            {"s": cipher.seal(plain, column=SECRET_COLUMN), "k": r.api_key_id},
        )
    return len(stale)
