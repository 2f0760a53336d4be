"""Users, passwords (Argon2), bearer tokens and API keys."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import Connection, text

from accounts.exceptions import AccountError, NotAuthenticated
from accounts.models import Role
from accounts.passwords import check_password
from shudi.database import current_request_id

TOKEN_TTL = timedelta(hours=8)
_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal names.


@cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown users (same time as a real check), made once."""
    return _hasher.hash("not a password")


@dataclass(frozen=True)
class Principal:
    """Who is acting: a staff user with a role and the scope it works in."""

    user_id: int
    username: str
    role: Role
    agency: str | None = None
    agency_unit: str | None = None
    town_code: str | None = None
    community_code: str | None = None
    company: str | None = None

    @property
    def label(self) -> str:
        """How events name the actor."""
        return f"{self.username} ({self.role.value})"


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_user(
    conn: Connection,
    *,
    username: str,
    password: str,
    role: str,
    agency: str | None = None,
    agency_unit: str | None = None,
    town_code: str | None = None,
    community_code: str | None = None,
    company: str | None = None,
    display_name: str = "",
) -> int:
    """Add a staff user; the role decides which scope fields are required."""
    try:
        role_ = Role(role)
    except ValueError as exc:
        raise AccountError(
            f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}",
            reason="unknown_role",
        ) from exc
    needs = {
        Role.agency_officer: ("agency", agency),
        Role.town_coordinator: ("town", town_code),
        Role.community_worker: ("community", community_code),
        Role.property_company: ("company", company),
    }
    if role_ in needs and not needs[role_][1]:
        raise AccountError(f"a {role_.value} needs --{needs[role_][0]}", reason="scope_missing")
    check_password(password, role=role_, username=username)
    exists = conn.execute(text("SELECT 1 FROM app_user WHERE username = :u"), {"u": username})
    if exists.first():
        raise AccountError(f"user {username!r} exists already", reason="exists")
    if (
        agency
        and not conn.execute(text("SELECT 1 FROM agency WHERE code = :a"), {"a": agency}).first()
    ):
        raise AccountError(f"unknown agency {agency!r}", reason="unknown_agency")
    return int(
        conn.execute(
            text("""INSERT INTO app_user (username, display_name, password_hash, role, agency,
                    agency_unit, town_code, community_code, company)
                VALUES (:u, :d, :h, :r, :a, :au, :t, :c, :co) RETURNING id"""),
            {
                "u": username,
                "d": display_name,
                "h": _hasher.hash(password),
                "r": role_.value,
                "a": agency,
                "au": agency_unit,
                "t": town_code,
                "c": community_code,
                "co": company,
            },
        ).scalar_one()
    )


def set_password(conn: Connection, *, username: str, password: str) -> bool:
    """Replace a user's password (and end its sessions); False when there is no such user."""
    role = conn.execute(
        text("SELECT role FROM app_user WHERE username = :u"), {"u": username}
    ).scalar_one_or_none()
    if role is None:
        return False
    check_password(password, role=role, username=username)
    row = conn.execute(
        text("UPDATE app_user SET password_hash = :h WHERE username = :u RETURNING id"),
        {"h": _hasher.hash(password), "u": username},
    ).first()
    if row is None:
        return False
    conn.execute(text("DELETE FROM auth_token WHERE user_id = :i"), {"i": row.id})
    return True


def authenticate(conn: Connection, *, username: str, password: str) -> Principal:
    """Check a password; raise :class:`NotAuthenticated` on any mismatch."""
    row = (
        conn.execute(text("SELECT * FROM app_user WHERE username = :u AND active"), {"u": username})
        .mappings()
        .first()
    )
    try:
        _hasher.verify(row["password_hash"] if row else _dummy_hash(), password)
    except (VerifyMismatchError, InvalidHashError) as exc:
        raise NotAuthenticated("wrong user name or password") from exc
    if row is None:
        raise NotAuthenticated("wrong user name or password")
    return _principal(row)


def _principal(row: Mapping[Any, Any]) -> Principal:
    return Principal(
        user_id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        agency=row["agency"],
        agency_unit=row["agency_unit"],
        town_code=row["town_code"],
        community_code=row["community_code"],
        company=row["company"],
    )


def name_actor(conn: Connection, *, principal: Principal) -> None:
    """The audit trigger names ``principal`` (label and user id) and the current request
    (``X-Request-Id``) as the actor of whatever this transaction changes (transaction-local
    settings, one statement)."""
    conn.execute(
        text("""SELECT set_config('shudi.actor', :a, true), set_config('shudi.actor_id', :i, true),
                       set_config('shudi.request_id', :r, true)"""),
        {"a": principal.label, "i": str(principal.user_id), "r": current_request_id() or ""},
    )


def issue_token(conn: Connection, *, principal: Principal) -> tuple[str, int]:
    """A new bearer token for the principal and its lifetime in seconds."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        text("""INSERT INTO auth_token (token_hash, user_id, expires_at)
                VALUES (:h, :u, now() + make_interval(secs => :ttl))"""),
        {"h": _sha(token), "u": principal.user_id, "ttl": TOKEN_TTL.total_seconds()},
    )
    conn.execute(text("DELETE FROM auth_token WHERE expires_at < now() - interval '1 day'"))
    return token, int(TOKEN_TTL.total_seconds())


_TOKEN_USER = text("""SELECT u.* FROM auth_token t JOIN app_user u ON u.id = t.user_id
    WHERE t.token_hash = :h AND t.expires_at > now() AND u.active""")
#: The same look-up naming the user as the transaction's actor in the same round trip (the
#: settings :func:`name_actor` makes; set only when a live token matched, as the select list
#: is computed for the rows returned only).
_TOKEN_ACTOR = text("""SELECT u.*,
        set_config('shudi.actor', u.username || ' (' || u.role || ')', true) AS _actor,
        set_config('shudi.actor_id', u.id::text, true) AS _actor_id,
        set_config('shudi.request_id', :r, true) AS _request_id
    FROM auth_token t JOIN app_user u ON u.id = t.user_id
    WHERE t.token_hash = :h AND t.expires_at > now() AND u.active""")


def principal_for_token(conn: Connection, *, token: str, act: bool = False) -> Principal:
    """The principal behind a live token; :class:`NotAuthenticated` otherwise. With ``act``
    (in a writing transaction) it is also named the actor of whatever the transaction changes,
    as :func:`name_actor` does, in the same statement."""
    if act:
        found = conn.execute(_TOKEN_ACTOR, {"h": _sha(token), "r": current_request_id() or ""})
    else:
        found = conn.execute(_TOKEN_USER, {"h": _sha(token)})
    row = found.mappings().first()
    if row is None:
        raise NotAuthenticated("the token is unknown or has expired; log in again")
    return _principal(row)


def revoke_token(conn: Connection, *, token: str) -> None:
    """Log out."""
    conn.execute(text("DELETE FROM auth_token WHERE token_hash = :h"), {"h": _sha(token)})


def create_api_key(conn: Connection, *, name: str) -> str:
    """A new Open311 API key; only its hash is kept, so this is the one time it is shown."""
    key = secrets.token_urlsafe(24)
    conn.execute(
        text("INSERT INTO api_key (name, key_hash) VALUES (:n, :h)"), {"n": name, "h": _sha(key)}
    )
    return key


def api_key_name(conn: Connection, *, key: str) -> str | None:
    """The client name of a valid API key, or None."""
    row = conn.execute(
        text("SELECT name FROM api_key WHERE key_hash = :h AND NOT revoked"), {"h": _sha(key)}
    ).first()
    return row.name if row else None


def user_counts(conn: Connection) -> dict[str, int]:
    """How many staff accounts there are, and how many are active (the admin's home)."""
    row = conn.execute(
        text("SELECT count(*) AS users, count(*) FILTER (WHERE active) AS active FROM app_user")
    ).one()
    return {"users": int(row.users), "active_users": int(row.active)}
