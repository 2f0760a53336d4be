"""The ban list over HTTP (dispatchers and admins). Thin: the service decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy import Connection

from abuse import service
from abuse.schemas import BanIn, BanOut
from accounts.exceptions import Forbidden
from accounts.models import Role
from accounts.router import CurrentPrincipal
from accounts.service import Principal
from shudi.database import db_connection

router = APIRouter(prefix="/api/v1/bans", tags=["abuse"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
BAN_ROLES = frozenset({Role.dispatcher, Role.admin})


def ban_manager(principal: CurrentPrincipal) -> Principal:
    """The acting dispatcher or admin; 403 for other roles."""
    if principal.role not in BAN_ROLES:
        raise Forbidden("the ban list is for dispatchers and admins")
    return principal


Manager = Annotated[Principal, Depends(ban_manager)]


@router.get("", response_model=list[BanOut])
def list_bans(conn: Conn, _who: Manager, include_expired: bool = False) -> list[dict]:
    """Bans in force (``include_expired`` for all), newest first."""
    return service.list_bans(conn, include_expired=include_expired)


@router.post("", response_model=BanOut, status_code=201)
def add_ban(conn: Conn, who: Manager, body: BanIn) -> dict:
    """Refuse reports from a client address or a phone number, with a reason."""
    return service.add_ban(
        conn,
        kind=body.kind,
        value=body.value,
        reason=body.reason,
        created_by=who.label,
        days=body.days,
    )


@router.delete("/{ban_id}", status_code=204)
def lift_ban(conn: Conn, _who: Manager, ban_id: int) -> Response:
    """Lift a ban."""
    service.lift_ban(conn, ban_id=ban_id)
    return Response(status_code=204)
