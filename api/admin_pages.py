"""The administrator's pages: ``/admin/users``, ``/admin/contacts``, ``/admin/bans``,
``/admin/boundaries`` and ``/admin/boundaries/{id}``. Thin: authorise (the menu of
:mod:`webmap.pages.nav`), read through the use cases, render; every change is made by the
page's forms through the JSON API (``accounts/admin_router.py``, ``abuse/router.py``,
``api/boundaries_admin.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from abuse import service as abuse
from accounts import admin
from accounts.service import Principal
from api.staff_pages import html_page, user_of
from api.workbench import _principal
from jurisdictions import generations, layer_upload, pickers
from shudi.database import db_connection
from webmap.pages import admin_bans, admin_boundaries, admin_contacts, admin_users

router = APIRouter(include_in_schema=False, tags=["pages"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]


@router.get("/admin/users", response_model=None)
def users_page(
    request: Request, conn: Conn, edit: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """用户管理 (with ``edit``: that user's role and scope form open)."""
    who = _principal(request, conn, "/admin/users", "users", "zh")
    if not isinstance(who, Principal):
        return who
    html = admin_users.render_users(
        admin.list_users(conn), choices=pickers.scope_choices(conn), user=user_of(who), edit=edit
    )
    return html_page(html)


@router.get("/admin/contacts", response_model=None)
def contacts_page(
    request: Request,
    conn: Conn,
    area: Annotated[str, Query(max_length=100, pattern=r"^[a-z_]*:[^:]*$")] = ":",
) -> Response:
    """联系人 of one area (``layer:code``; ``:`` for the district-wide ones)."""
    who = _principal(request, conn, "/admin/contacts", "contacts", "zh")
    if not isinstance(who, Principal):
        return who
    layer, _, code = area.partition(":")
    html = admin_contacts.render_contacts(
        pickers.list_contacts(conn, scope_layer=layer, scope_code=code),
        choices=pickers.scope_choices(conn),
        counts=pickers.contact_counts(conn),
        area=area,
        user=user_of(who),
    )
    return html_page(html)


@router.get("/admin/bans", response_model=None)
def bans_page(request: Request, conn: Conn) -> Response:
    """封禁管理."""
    who = _principal(request, conn, "/admin/bans", "bans", "zh")
    if not isinstance(who, Principal):
        return who
    return html_page(admin_bans.render_bans(abuse.list_bans(conn), user=user_of(who)))


@router.get("/admin/boundaries", response_model=None)
def boundaries_page(request: Request, conn: Conn) -> Response:
    """边界图层: the generations and the upload form."""
    who = _principal(request, conn, "/admin/boundaries", "boundaries", "zh")
    if not isinstance(who, Principal):
        return who
    html = admin_boundaries.render_generations(
        generations.list_generations(conn), choices=pickers.scope_choices(conn), user=user_of(who)
    )
    return html_page(html)


@router.get("/admin/boundaries/{generation_id}", response_model=None)
def generation_page(request: Request, conn: Conn, generation_id: int) -> Response:
    """One generation: preview, comparison with the active one, activation."""
    here = f"/admin/boundaries/{generation_id}"
    who = _principal(request, conn, here, "boundaries", "zh")
    if not isinstance(who, Principal):
        return who
    html = admin_boundaries.render_generation(
        layer_upload.describe(conn, generation_id=generation_id),
        layer_upload.compare_with_active(conn, generation_id=generation_id),
        choices=pickers.scope_choices(conn),
        user=user_of(who),
    )
    return html_page(html)
