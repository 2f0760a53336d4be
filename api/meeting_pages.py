"""The joint meetings' pages: ``/meetings`` (the list, with "准备本月例会" and "召开临时会议")
and ``/meetings/{id}`` (agenda, minutes form, decisions and actions, exports).

Thin: parse, authorise (``meetings.access`` and ``meetings.service`` decide), call the use
cases, render with :mod:`webmap.pages.meetings` / :mod:`meetings.page`. A user who may
not see a meeting gets a page in Chinese (403 or 404), never the API's English message.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from accounts.router import page_principal
from accounts.service import Principal
from jurisdictions import service as territory
from meetings import access, owners
from meetings import page as meeting_view
from meetings import service as meetings
from meetings.exceptions import MeetingForbidden, MeetingNotFound
from shudi.database import db_connection
from webmap.assets import localize
from webmap.pages import common, nav
from webmap.pages import meetings as meetings_view

router = APIRouter(include_in_schema=False, tags=["pages"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
MISSING = {
    403: (
        "无权查看此会议",
        "联席会议仅供镇/街道协调员、调度员、管理员，以及承担会议决定事项的单位查看。",
    ),
    404: ("未找到该会议", "该会议不存在，或不属于您所在的镇/街道。"),
}


def _html(html: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        localize(html), status_code=status_code, headers={"Cache-Control": "no-cache"}
    )


def _user(p: Principal) -> dict[str, Any]:
    return {"username": p.username, "role": p.role.value, "town_code": p.town_code}


def _refused(p: Principal, status: int) -> HTMLResponse:
    title, hint = MISSING[status]
    body = (
        f"{nav.nav_bar(_user(p), None, 'zh')}<main class='workbench' id='main'>"
        f"<section class='card error' role='alert' data-testid='error'>"
        f"<p class='error-title'>{common.esc(title)}</p><p class='hint'>{common.esc(hint)}</p>"
        f"</section><p><a class='btn primary' href='{nav.home_of(p.role.value)}'>回到首页</a>"
        "</p></main>"
    )
    return _html(common.plain_page(lang="zh", title=title, body=body), status)


def list_page(conn: Connection, principal: Principal) -> Response:
    """``/meetings``: the meetings the user may read, and the prepare buttons for those who
    may prepare (``api/workbench.py`` routes it, after the menu's check)."""
    html = meetings_view.render_meetings(
        meetings.list_meetings(conn, principal=principal),
        user=_user(principal),
        towns=territory.area_names(conn, layers=("town",)),
        may_prepare=principal.role.value in ("town_coordinator", "admin"),
    )
    return _html(html)


@router.get("/meetings/{meeting_id}", response_model=None)
def meeting_page(request: Request, conn: Conn, meeting_id: int) -> Response:
    """A meeting: for its town's coordinator (and an administrator) with the minutes form while
    a draft; read-only for dispatchers and for the owners of its actions, who close theirs."""
    principal = page_principal(request, conn, here=f"/meetings/{meeting_id}")
    if not isinstance(principal, Principal):
        return principal
    try:
        m = meetings.load(conn, meeting_id=meeting_id, principal=principal)
    except MeetingForbidden:
        return _refused(principal, 403)
    except MeetingNotFound:
        return _refused(principal, 404)
    manage = access.may_manage(principal, m["town_code"])
    for item in m["items"]:
        for a in item["actions"]:
            a["mine"] = access.owns(principal, a)
            a["may_close"] = a["done_on"] is None and (a["mine"] or manage)
    draft = manage and m["status"] == "draft"
    role = principal.role.value
    html = meeting_view.render_meeting(
        m,
        user=_user(principal),
        current="meetings" if nav.may_open(role, "meetings") else None,
        may_manage=manage,
        party_units=owners.party_units(conn, town=m["town_code"]) if draft else {},
        owner_units=owners.owner_units(conn, town=m["town_code"]) if draft else [],
        today=meetings.today().isoformat(),
    )
    return _html(html)
