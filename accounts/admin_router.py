"""Administrators' routes to revoke access: disable/enable users, reset passwords, end
sessions, list and revoke Open311 API keys. Thin: :mod:`accounts.admin` does the work."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from accounts import admin
from accounts.exceptions import Forbidden
from accounts.models import Role
from accounts.router import CurrentPrincipal
from accounts.service import Principal
from shudi.database import db_connection

router = APIRouter(prefix="/api/v1", tags=["admin"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
NO_STORE = {"Cache-Control": "no-store"}


def administrator(principal: CurrentPrincipal) -> Principal:
    """The current user when an administrator; 403 otherwise."""
    if principal.role is not Role.admin:
        raise Forbidden("only an administrator manages accounts and API keys")
    return principal


Admin = Annotated[Principal, Depends(administrator)]


@router.get("/users")
def users(conn: Conn, _who: Admin) -> list[dict[str, Any]]:
    """Every staff user, whether active, and its live sessions."""
    return admin.list_users(conn)


class Scope(BaseModel):
    """A role and the scope fields it uses (the others are ignored and cleared)."""

    role: str = Field(max_length=32)
    agency: str | None = Field(default=None, max_length=64)
    agency_unit: str | None = Field(default=None, max_length=64)
    town_code: str | None = Field(default=None, max_length=64)
    community_code: str | None = Field(default=None, max_length=64)
    company: str | None = Field(default=None, max_length=200)


class NewUser(Scope):
    """A staff account to add; a random password (shown once) when none is given."""

    username: str = Field(pattern=r"^[A-Za-z0-9_.@-]{3,64}$")
    password: str | None = Field(default=None, max_length=200)
    display_name: str = Field(default="", max_length=100)


@router.post("/users", status_code=201)
def add_user(conn: Conn, _who: Admin, body: NewUser) -> dict[str, Any]:
    """Add a staff user with its role and scope (agency and unit, town, community, or
    property company); the password must pass the strength rule."""
    return admin.add_user(conn, **body.model_dump())


@router.put("/users/{username}/access")
def change_access(conn: Conn, who: Admin, username: str, body: Scope) -> dict[str, Any]:
    """Change a user's role and scope; its sessions end (it logs in again with the new
    rights)."""
    return admin.change_access(conn, principal=who, username=username, **body.model_dump())


@router.post("/users/{username}/disable")
def disable(conn: Conn, who: Admin, username: str) -> dict[str, Any]:
    """Disable a user: it can no longer log in, and every session it has ends now."""
    if username == who.username:
        raise Forbidden("an administrator cannot disable itself", reason="self")
    ended = admin.set_active(conn, username=username, active=False)
    return {"username": username, "active": False, "sessions_ended": ended}


@router.post("/users/{username}/enable")
def enable(conn: Conn, _who: Admin, username: str) -> dict[str, Any]:
    """Re-enable a disabled user."""
    admin.set_active(conn, username=username, active=True)
    return {"username": username, "active": True}


@router.post("/users/{username}/password")
def reset_password(
    conn: Conn,
    _who: Admin,
    username: str,
    password: Annotated[str | None, Body(embed=True)] = None,
) -> dict[str, Any]:
    """Set a new password (random when none is given; shown once) and end its sessions."""
    new = admin.reset_password(conn, username=username, password=password)
    return {"username": username, "password": None if password else new}


@router.delete("/users/{username}/sessions")
def end_sessions(conn: Conn, _who: Admin, username: str) -> dict[str, Any]:
    """Revoke every bearer token and session cookie of a user."""
    return {"username": username, "sessions_ended": admin.revoke_sessions(conn, username=username)}


@router.get("/apikeys")
def api_keys(conn: Conn, _who: Admin) -> list[dict[str, Any]]:
    """Every Open311 API key (never the key itself)."""
    return admin.list_api_keys(conn)


@router.post("/apikeys/{key_id}/revoke")
def revoke_api_key(conn: Conn, _who: Admin, key_id: int) -> dict[str, Any]:
    """Revoke an Open311 API key."""
    admin.revoke_api_key(conn, key_id=key_id)
    return {"id": key_id, "revoked": True}
