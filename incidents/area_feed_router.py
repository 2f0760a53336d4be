"""The Atom feed of an area's public cases: ``GET /feeds/areas/{layer}/{code}.atom``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from incidents.area_feed import area_atom
from shudi.database import db_connection
from shudi.settings import get_settings

router = APIRouter(tags=["feeds"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]


@router.get("/feeds/areas/{layer}/{code}.atom", response_class=Response)
def area_feed(conn: Conn, request: Request, layer: str, code: str) -> Response:
    """The public cases of a town, community or estate (``layer``: town, community,
    property_area) as Atom: type, status, public replies, times, ~100 m position; no personal
    data, no sensitive types."""
    base = get_settings().notify_public_url or str(request.base_url)
    body = area_atom(conn, layer=layer, code=code, base_url=base)
    return Response(
        body,
        media_type="application/atom+xml; charset=utf-8",
        headers={"Cache-Control": "public, max-age=60"},
    )
