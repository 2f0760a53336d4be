"""Revoking access: disable or re-enable a user, reset a password, end a user's sessions
(every bearer token and session cookie), list and revoke Open311 API keys.

Each is a plain use case called alike by the admin API (``accounts/admin_router.py``) and the
CLI (``shudi users …``, ``shudi apikey …``). Changes to ``app_user`` and ``api_key`` are
copied into the audit log by their triggers.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection, text

from accounts import throttle
from accounts.exceptions import UserNotFound
from accounts.service import set_password


def _user_id(conn: Connection, username: str) -> int:
    uid = conn.execute(
        text("SELECT id FROM app_user WHERE username = :u"), {"u": username}
    ).scalar_one_or_none()
    if uid is None:
        raise UserNotFound(f"no user {username!r}")
    return int(uid)


def list_users(conn: Connection) -> list[dict[str, Any]]:
    """Every staff user: name, role, scope, whether active, live sessions."""
    rows = conn.execute(
        text("""SELECT u.id, u.username, u.role, u.agency, u.town_code, u.community_code,
                       u.company, u.active,
                       (SELECT count(*) FROM auth_token t
                        WHERE t.user_id = u.id AND t.expires_at > now()) AS sessions
                FROM app_user u ORDER BY u.username""")
    ).mappings()
    return [dict(r) for r in rows]


def revoke_sessions(conn: Connection, *, username: str) -> int:
    """End every session of ``username`` (bearer tokens and cookies); how many were live."""
    uid = _user_id(conn, username)
    return int(
        conn.execute(text("DELETE FROM auth_token WHERE user_id = :i"), {"i": uid}).rowcount or 0
    )


def set_active(conn: Connection, *, username: str, active: bool) -> int:
    """Disable (and end every session of) or re-enable a user; sessions ended."""
    uid = _user_id(conn, username)
    conn.execute(text("UPDATE app_user SET active = :a WHERE id = :i"), {"a": active, "i": uid})
    return 0 if active else revoke_sessions(conn, username=username)


def reset_password(conn: Connection, *, username: str, password: str | None = None) -> str:
    """Set a new password (a random one when none is given), end the user's sessions and
    clear its failed log-ins; returns the password."""
    new = password or secrets.token_urlsafe(12)
    if not set_password(conn, username=username, password=new):
        raise UserNotFound(f"no user {username!r}")
    throttle.clear_account(conn, username=username)
    return new


def list_api_keys(conn: Connection) -> list[dict[str, Any]]:
    """Every Open311 API key (id, client name, revoked, created); never the key."""
    rows = conn.execute(
        text("SELECT id, name, revoked, created_at FROM api_key ORDER BY id")
    ).mappings()
    return [dict(r) for r in rows]


def revoke_api_key(conn: Connection, *, key_id: int) -> None:
    """Revoke an API key by its id: requests with it are then anonymous (or refused)."""
    done = conn.execute(
        text("UPDATE api_key SET revoked = true WHERE id = :i RETURNING id"), {"i": key_id}
    ).first()
    if done is None:
        raise UserNotFound(f"no API key {key_id}")
