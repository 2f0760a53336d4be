"""The residents' area-follow page (``/follow``). Thin: notify.follow lists the areas,
webmap.pages.follow_area renders; the page's script calls the follow API."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from api.pages import _page, current_basemap
from notify import follow
from notify.exceptions import FollowError
from shudi.database import db_connection
from webmap.pages.common import lang_of
from webmap.pages.follow_area import render_follow_area

router = APIRouter(include_in_schema=False, tags=["pages"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]


@router.get("/follow", response_class=HTMLResponse)
def follow_area_page(
    conn: Conn,
    lang: Annotated[str | None, Query(max_length=8)] = None,
    layer: Annotated[str | None, Query(max_length=32)] = None,
    code: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """Follow an estate or a community: choose it, give a phone or e-mail, confirm."""
    basemap = current_basemap()
    chosen = None
    if layer and code:
        try:
            chosen = {"layer": layer, "code": code,
                      "name": follow.area_name(conn, layer=layer, code=code)}  # fmt: skip
        except FollowError:
            chosen = None
    html = render_follow_area(
        areas=follow.followable_areas(conn),
        lang=lang_of(lang),
        tiles=[dataclasses.asdict(t) for t in basemap.layers],
        crs=basemap.coordinate_system.value,
        chosen=chosen,
    )
    return _page(html, basemap)
