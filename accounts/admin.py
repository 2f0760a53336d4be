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
from accounts.exceptions import AccountError, Forbidden, UserNotFound
from accounts.models import Role
from accounts.service import Principal, create_user, set_password

#: The scope fields each role keeps (the others are cleared when a role changes).
SCOPE_FIELDS: dict[Role, tuple[str, ...]] = {
    Role.agency_officer: ("agency", "agency_unit"),
    Role.town_coordinator: ("town_code",),
    Role.community_worker: ("community_code",),
    Role.property_company: ("company",),
}
#: Which active boundary layer each coded scope field must name.
_SCOPE_LAYER = {"town_code": "town", "community_code": "community", "agency_unit": "agency_unit"}
_ACTIVE_CODE = text("""
SELECT 1 FROM boundary b JOIN generation_period p
  ON p.generation_id = b.generation_id AND p.valid_to IS NULL
WHERE b.layer = :layer AND b.code = :code
  AND (:layer <> 'agency_unit' OR b.agency = :agency) LIMIT 1""")


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
        text("""SELECT u.id, u.username, u.display_name, u.role, u.agency, u.agency_unit,
                       u.town_code, u.community_code, u.company, u.active,
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


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        raise AccountError(f"unknown role {role!r}", reason="unknown_role") from exc


def scope_of(conn: Connection, *, role: str, **given: str | None) -> dict[str, str | None]:
    """The scope fields ``role`` keeps, checked: each required one given, each area code an
    area of the active boundaries (an agency unit of the given agency); the rest None."""
    role_ = _role(role)
    keep = SCOPE_FIELDS.get(role_, ())
    scope: dict[str, str | None] = {
        k: ((given.get(k) or "").strip() or None) if k in keep else None
        for k in ("agency", "agency_unit", "town_code", "community_code", "company")
    }
    required = keep[:1]
    for field in required:
        if not scope[field]:
            raise AccountError(
                f"a {role_.value} needs {field}", reason="scope_missing", field=field
            )
    if (
        scope["agency"]
        and not conn.execute(
            text("SELECT 1 FROM agency WHERE code = :a"), {"a": scope["agency"]}
        ).first()
    ):
        raise AccountError(f"unknown agency {scope['agency']!r}", reason="unknown_agency")
    for field, layer in _SCOPE_LAYER.items():
        code = scope[field]
        params = {"layer": layer, "code": code, "agency": scope["agency"] or ""}
        if code and not conn.execute(_ACTIVE_CODE, params).first():
            raise AccountError(
                f"no active {layer} with code {code!r}", reason="unknown_area", field=field
            )
    return scope


def add_user(
    conn: Connection,
    *,
    username: str,
    role: str,
    password: str | None = None,
    display_name: str = "",
    **scope: str | None,
) -> dict[str, Any]:
    """Add a staff user with a checked role and scope; a random password when none is given
    (returned once, never stored in clear)."""
    checked = scope_of(conn, role=role, **scope)
    new = password or secrets.token_urlsafe(12)
    uid = create_user(
        conn,
        username=username.strip(),
        password=new,
        role=role,
        display_name=display_name.strip(),
        **checked,
    )
    return {"id": uid, "username": username.strip(), "password": None if password else new}


def change_access(
    conn: Connection, *, principal: Principal, username: str, role: str, **scope: str | None
) -> dict[str, Any]:
    """Give ``username`` a new role and scope (fields the role does not use are cleared) and
    end its sessions, so its next request runs with the new rights; an administrator cannot
    change its own role."""
    uid = _user_id(conn, username)
    if uid == principal.user_id and _role(role) is not Role.admin:
        raise Forbidden("an administrator cannot take away its own rights", reason="self")
    checked = scope_of(conn, role=role, **scope)
    conn.execute(
        text("""UPDATE app_user SET role = :r, agency = :agency, agency_unit = :agency_unit,
                town_code = :town_code, community_code = :community_code, company = :company
                WHERE id = :i"""),
        {"r": role, "i": uid, **checked},
    )
    ended = revoke_sessions(conn, username=username)
    return {"username": username, "role": role, **checked, "sessions_ended": ended}
