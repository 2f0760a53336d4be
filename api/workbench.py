"""The staff's workbench pages: ``/`` (to the user's home), ``/work`` (我的待办), ``/cases``
(every visible case), ``/meetings`` (the joint meetings) and ``/admin`` (the administrator's
home). Thin: parse, authorise (the menu of :mod:`webmap.pages.nav`), call the services, render.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from abuse import service as abuse
from accounts import service as accounts
from accounts.exceptions import NotAuthenticated
from accounts.router import current_principal, page_principal
from accounts.service import Principal
from api import meeting_pages
from api.staff_pages import html_page, refusal, user_of
from incidents import report_in, worklist
from incidents import service as cases
from incidents.models import OPEN_STATUSES
from jurisdictions import catalog, service
from meetings import owners
from meetings import service as meetings
from shudi.database import db_connection
from webmap.pages import common, nav, workbench
from webmap.pages import meetings as meetings_view

router = APIRouter(include_in_schema=False, tags=["pages"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
Lang = Annotated[str | None, Query(description="`en` for English; Chinese otherwise.")]
PAGE_SIZE = 50
FORBIDDEN = {
    "zh": ("无权访问此页面", "当前账号（{role}）不能使用此页面。"),
    "en": ("You may not open this page", "This account ({role}) may not use this page."),
}


def _forbidden(p: Principal, lang: str) -> HTMLResponse:
    """403 for a page outside the role's menu: says so, with the menu to go elsewhere."""
    title, hint = FORBIDDEN[lang]
    hint = hint.replace("{role}", nav.role_name(p.role.value, lang))
    return refusal(p, title=title, hint=hint, lang=lang, status_code=403)


def _principal(request: Request, conn: Connection, here: str, key: str, lang: str) -> Any:
    """The user of page ``key``; a redirect to log in, or a 403 page outside their menu."""
    principal = page_principal(request, conn, here=here + ("?lang=en" if lang == "en" else ""))
    if not isinstance(principal, Principal):
        return principal
    if not nav.may_open(principal.role.value, key):
        return _forbidden(principal, lang)
    return principal


def _types(conn: Connection, lang: str) -> dict[str, str]:
    en = lang == "en"
    return {
        str(t["code"]): str((en and t.get("name_en")) or t.get("name_zh") or t["code"])
        for t in catalog.list_types(conn)
    }


@router.get("/", response_model=None)
def home(request: Request, conn: Conn) -> Response:
    """A logged-in user to their home (the first page of their menu); others to /report."""
    try:
        principal = current_principal(request, conn)
    except NotAuthenticated:
        return RedirectResponse("/report", status_code=303)
    return RedirectResponse(nav.home_of(principal.role.value), status_code=303)


@router.get("/work", response_model=None)
def work_page(
    request: Request,
    conn: Conn,
    bucket: Annotated[str | None, Query(pattern="^(new|accept|handle|verify|visit)?$")] = None,
    overdue: bool = False,
    type: Annotated[str | None, Query(max_length=64)] = None,
    lang: Lang = None,
) -> Response:
    """我的待办: what waits for the user or their unit, overdue first, with counts."""
    language = common.lang_of(lang)
    principal = _principal(request, conn, "/work", "work", language)
    if not isinstance(principal, Principal):
        return principal
    data = worklist.work_list(
        conn, principal=principal, bucket=bucket or None, overdue_only=overdue, type_code=type
    )
    actions = owners.owned_actions(conn, principal=principal)
    clocks = report_in.unit_clocks(  # 吹哨报到: when the unit must report in on its joint tasks
        conn, principal=principal, case_ids=[int(c["id"]) for c in data["items"]]
    )
    for c in data["items"]:
        c["report_in"] = clocks.get(int(c["id"]), [])
    html = workbench.render_worklist(
        data,
        user=user_of(principal),
        names=service.area_names(conn),
        types=_types(conn, language),
        bucket=bucket or None,
        overdue_only=overdue,
        type_code=type,
        lang=language,
        extra=meetings_view.render_owned_actions(
            actions, service.area_names(conn, layers=("town",))
        ),
    )
    return html_page(html)


@router.get("/cases", response_model=None)
def cases_page(
    request: Request,
    conn: Conn,
    status: Annotated[str | None, Query(max_length=32)] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    lang: Lang = None,
) -> Response:
    """Every case the user may see, by deadline, a page at a time."""
    language = common.lang_of(lang)
    principal = _principal(request, conn, "/cases", "cases", language)
    if not isinstance(principal, Principal):
        return principal
    chosen = status or "open"
    statuses = {"all": None, "open": list(OPEN_STATUSES)}.get(chosen, [chosen])
    data = cases.list_cases(
        conn,
        principal=principal,
        status=statuses,
        type_code=type or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    html = workbench.render_case_list(
        data,
        user=user_of(principal),
        names=service.area_names(conn),
        types=_types(conn, language),
        status=chosen,
        type_code=type,
        page=page,
        lang=language,
    )
    return html_page(html)


@router.get("/meetings", response_model=None)
def meetings_page(request: Request, conn: Conn) -> Response:
    """The joint meetings the user may read, each linking to its page."""
    principal = _principal(request, conn, "/meetings", "meetings", "zh")
    if not isinstance(principal, Principal):
        return principal
    return meeting_pages.list_page(conn, principal)


@router.get("/admin", response_model=None)
def admin_page(request: Request, conn: Conn) -> Response:
    """The administrator's home: what is loaded, and where each thing is managed."""
    principal = _principal(request, conn, "/admin", "admin", "zh")
    if not isinstance(principal, Principal):
        return principal
    counts = (
        accounts.user_counts(conn)
        | worklist.case_counts(conn)
        | {
            "layers": len(service.generations_at(conn)),
            "bans": len(abuse.list_bans(conn)),
            "meetings": len(meetings.list_meetings(conn, principal=principal)),
        }
    )
    return html_page(workbench.render_admin_home(user=user_of(principal), counts=counts))
