"""Administrators' routes to revoke access: disable/enable users, reset passwords, end
sessions, list and revoke Open311 API keys. Thin: :mod:`accounts.admin` does the work."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
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


@router.post("/users/{username}/disable")
def disable(conn: Conn, who: Admin, username: str) -> dict[str, Any]:
    """Disable a user: it can no longer log in, and every session it has ends now."""
    if username == who.username:
        raise Forbidden("an administrator cannot disable itself")
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
