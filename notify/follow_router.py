"""HTTP routes of followers: follow a case ("me too", by tracking code) or an area, and stop a
follow by the link each message carries. Thin: notify.follow decides."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from notify import follow
from notify.exceptions import FollowError, FollowNotFound
from notify.router import PAGE
from shudi.database import db_connection

router = APIRouter(tags=["notify"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]


class FollowIn(BaseModel):
    """A case by its tracking code, or an area (layer and code); a phone or an e-mail."""

    tracking_code: str | None = Field(default=None, max_length=32)
    area_layer: str | None = Field(default=None, max_length=32)
    area_code: str | None = Field(default=None, max_length=64)
    contact: str = Field(max_length=254)


class FollowOut(BaseModel):
    channel: str
    recipient: str  # masked
    case: str | None = None
    area: dict[str, str] | None = None


def _follow(conn: Connection, body: FollowIn) -> dict:
    if body.tracking_code and not (body.area_layer or body.area_code):
        return follow.follow_case(conn, tracking_code=body.tracking_code, contact=body.contact)
    if body.area_layer and body.area_code and not body.tracking_code:
        return follow.follow_area(
            conn, layer=body.area_layer, code=body.area_code, contact=body.contact
        )
    raise FollowError("follow either a tracking_code or an area (area_layer and area_code)")


@router.post("/api/v1/follows", response_model=FollowOut, status_code=201)
def create_follow(conn: Conn, body: FollowIn) -> dict:
    """Follow a case or an area: its public updates go to the phone or e-mail given (each
    message carries a link to stop)."""
    return _follow(conn, body)


@router.post("/api/v1/follows/{token}/stop")
def stop_follow(conn: Conn, token: str) -> dict:
    """Stop the follow of a message's stop link."""
    return {"stopped": follow.unfollow(conn, token=token)}


@router.get("/track/{tracking_code}/follow", response_class=HTMLResponse, include_in_schema=False)
def follow_page(tracking_code: str) -> HTMLResponse:
    code = html.escape(tracking_code.strip().upper())
    body = f"""<h1>我也关注（{code}）</h1><p>留下手机号码或电子邮箱，这件事有进展时通知您
（每条通知都带退订链接）。<br>Me too: get the updates of this case by SMS or e-mail.</p>
<form method="post"><label>手机或邮箱 / Phone or e-mail
<input name="contact" required maxlength="254" autocomplete="email"></label>
<button type="submit">关注 / Follow</button></form>
<p><a href="/track/{code}">返回查询页 / Back</a></p>"""
    return HTMLResponse(PAGE.format(title="我也关注", body=body))


@router.post("/track/{tracking_code}/follow", response_class=HTMLResponse, include_in_schema=False)
def follow_form(
    conn: Conn, tracking_code: str, contact: Annotated[str, Form(max_length=254)]
) -> HTMLResponse:
    code = html.escape(tracking_code.strip().upper())
    try:
        told = follow.follow_case(conn, tracking_code=tracking_code, contact=contact)
    except (FollowError, FollowNotFound) as exc:
        body = f"<h1>未能关注</h1><p>{html.escape(str(exc))}</p><p><a href=''>重试 / Retry</a></p>"
        return HTMLResponse(PAGE.format(title="未能关注", body=body), status_code=422)
    body = f"""<h1>已关注</h1><p>查询码 {code} 的进展将通知 {html.escape(told["recipient"])}。
Updates will go to {html.escape(told["recipient"])}.</p><p><a href="/track/{code}">查询页</a></p>"""
    return HTMLResponse(PAGE.format(title="已关注", body=body))


@router.get("/follow/{token}/stop", response_class=HTMLResponse, include_in_schema=False)
def stop_page(token: str) -> HTMLResponse:
    body = """<h1>不再关注</h1><p>确认后不再收到这项关注的通知。<br>
Stop the updates of this follow.</p>
<form method="post"><button type="submit">确认 / Confirm</button></form>"""
    return HTMLResponse(PAGE.format(title="不再关注", body=body))


@router.post("/follow/{token}/stop", response_class=HTMLResponse, include_in_schema=False)
def stop_form(conn: Conn, token: str) -> HTMLResponse:
    try:
        follow.unfollow(conn, token=token)
    except FollowNotFound:
        body = "<h1>链接无效</h1><p>这个退订链接无效或已使用。This link is no longer valid.</p>"
        return HTMLResponse(PAGE.format(title="链接无效", body=body), status_code=404)
    body = "<h1>已退订</h1><p>不再向您发送这项关注的通知。You will get no more of these.</p>"
    return HTMLResponse(PAGE.format(title="已退订", body=body))
