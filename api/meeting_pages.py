"""The joint meetings' pages: ``/meetings`` (the list, with "准备本月例会" and "召开临时会议")
and ``/meetings/{id}`` (agenda, minutes form, decisions and actions, exports).

Thin: parse, authorise (``meetings.access`` and ``meetings.service`` decide), call the use
cases, render with :mod:`webmap.pages.meetings` / :mod:`meetings.page`. A user who may
not see a meeting gets a page in Chinese (403 or 404), never the API's English message.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from accounts.router import page_principal
from accounts.service import Principal
from api.staff_pages import html_page, refusal, user_of
from jurisdictions import service as territory
from meetings import access, owners
from meetings import page as meeting_view
from meetings import service as meetings
from meetings.exceptions import MeetingForbidden, MeetingNotFound
from shudi.database import db_connection
from webmap.pages import meetings as meetings_view
from webmap.pages import nav

router = APIRouter(include_in_schema=False, tags=["pages"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
MISSING = {
    403: (
        "无权查看此会议",
        "联席会议仅供镇/街道协调员、调度员、管理员，以及承担会议决定事项的单位查看。",
    ),
    404: ("未找到该会议", "该会议不存在，或不属于您所在的镇/街道。"),
}


def _refused(p: Principal, status: int) -> HTMLResponse:
    title, hint = MISSING[status]
    return refusal(p, title=title, hint=hint, lang="zh", status_code=status)


def list_page(conn: Connection, principal: Principal) -> Response:
    """``/meetings``: the meetings the user may read, and the prepare buttons for those who
    may prepare (``api/workbench.py`` routes it, after the menu's check)."""
    html = meetings_view.render_meetings(
        meetings.list_meetings(conn, principal=principal),
        user=user_of(principal),
        towns=territory.area_names(conn, layers=("town",)),
        may_prepare=principal.role.value in ("town_coordinator", "admin"),
    )
    return html_page(html)


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
        user=user_of(principal),
        current="meetings" if nav.may_open(role, "meetings") else None,
        may_manage=manage,
        party_units=owners.party_units(conn, town=m["town_code"]) if draft else {},
        owner_units=owners.owner_units(conn, town=m["town_code"]) if draft else [],
        today=meetings.today().isoformat(),
    )
    return html_page(html)
