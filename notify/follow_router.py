"""HTTP routes of followers: ask to follow a case ("me too", by tracking code) or an area,
confirm with the code or link sent to the address, and stop a follow by the link each message
carries. Thin: notify.follow decides (and rate-limits: 429 ``follow_rate_limited``)."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from notify import follow
from notify.exceptions import FollowError, FollowNotConfirmed, FollowNotFound, FollowRateLimited
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
    status: str = Field(description="pending: a code was sent to the address, to confirm with")
    confirm_ref: str = Field(description="Names this request at POST /api/v1/follows/confirm")
    case: str | None = None
    area: dict[str, str] | None = None


class ConfirmIn(BaseModel):
    ref: str = Field(max_length=64)
    code: str = Field(max_length=16)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _follow(conn: Connection, body: FollowIn, ip: str | None) -> dict:
    if body.tracking_code and not (body.area_layer or body.area_code):
        return follow.follow_case(
            conn, tracking_code=body.tracking_code, contact=body.contact, ip=ip
        )
    if body.area_layer and body.area_code and not body.tracking_code:
        return follow.follow_area(
            conn, layer=body.area_layer, code=body.area_code, contact=body.contact, ip=ip
        )
    raise FollowError("请选择一个案件（查询码）或一个区域 (a tracking_code or an area)")


@router.post(
    "/api/v1/follows",
    response_model=FollowOut,
    status_code=202,
    responses={429: {"description": "Too many follow requests (follow_rate_limited)"}},
)
def create_follow(conn: Conn, body: FollowIn, request: Request) -> dict:
    """Ask to follow a case or an area: a code and a link go to the phone or e-mail given;
    nothing else is sent there until it is confirmed (POST /api/v1/follows/confirm). Limited
    per client, per address and per case or area (429 ``follow_rate_limited``)."""
    return _follow(conn, body, _ip(request))


@router.post("/api/v1/follows/confirm", responses={422: {"description": "Wrong code"}})
def confirm_follow(conn: Conn, body: ConfirmIn) -> Any:
    """Confirm a follow with the code sent to its address (5 tries)."""
    out = follow.confirm(conn, ref=body.ref, code=body.code)
    if not out["confirmed"]:  # the wrong try is kept (committed), then refused
        err = FollowNotConfirmed(out["reason"], tries_left=out["tries_left"])
        return JSONResponse({"code": err.code, "message": err.message, **err.details}, 422)
    return out


@router.post("/api/v1/follows/{token}/stop")
def stop_follow(conn: Conn, token: str) -> dict:
    """Stop the follow of a message's stop link."""
    return {"stopped": follow.unfollow(conn, token=token)}


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=title, body=body), status_code=status_code)


def _code_form(ref: str, code: str = "", note: str = "") -> str:
    said = f'<p role="alert">{html.escape(note)}</p>' if note else ""
    return f"""{said}<form method="post" action="/follow/confirm/{html.escape(ref)}">
<label>验证码 / Code <input name="code" required inputmode="numeric" pattern="[0-9]{{6}}"
maxlength="6" autocomplete="one-time-code" value="{html.escape(code)}"></label>
<button type="submit">确认关注 / Confirm</button></form>"""


@router.get("/track/{tracking_code}/follow", response_class=HTMLResponse, include_in_schema=False)
def follow_page(tracking_code: str) -> HTMLResponse:
    code = html.escape(tracking_code.strip().upper())
    body = f"""<h1>我也关注（{code}）</h1><p>留下手机号码或电子邮箱，我们先发送验证码确认是您本人，
之后这件事有进展时通知您（每条通知都带退订链接）。<br>Me too: get the updates of this case by
SMS or e-mail, once you confirm the code we send.</p>
<form method="post"><label>手机或邮箱 / Phone or e-mail
<input name="contact" required maxlength="254" autocomplete="email"></label>
<button type="submit">获取验证码 / Send code</button></form>
<p><a href="/track/{code}">返回查询页 / Back</a></p>"""
    return _page("我也关注", body)


@router.post("/track/{tracking_code}/follow", response_class=HTMLResponse, include_in_schema=False)
def follow_form(
    conn: Conn, request: Request, tracking_code: str,
    contact: Annotated[str, Form(max_length=254)],
) -> HTMLResponse:  # fmt: skip
    try:
        told = follow.follow_case(
            conn, tracking_code=tracking_code, contact=contact, ip=_ip(request)
        )
    except (FollowError, FollowNotFound, FollowRateLimited) as exc:
        status = 429 if isinstance(exc, FollowRateLimited) else 422
        body = f"<h1>未能关注</h1><p>{html.escape(str(exc))}</p><p><a href=''>重试 / Retry</a></p>"
        return _page("未能关注", body, status)
    sent = html.escape(told["recipient"])
    body = f"""<h1>请输入验证码</h1><p>验证码已发送至 {sent}，输入后即可关注；
也可直接打开消息中的链接。A code was sent to {sent}.</p>{_code_form(told["confirm_ref"])}"""
    return _page("请输入验证码", body, 202)


@router.get("/follow/confirm/{ref}", response_class=HTMLResponse, include_in_schema=False)
def confirm_page(ref: str, code: str = "") -> HTMLResponse:
    body = (
        "<h1>确认关注</h1><p>请确认是您本人申请关注。Confirm that you asked for these updates.</p>"
        + _code_form(ref, code[:6])
    )
    return _page("确认关注", body)


@router.post("/follow/confirm/{ref}", response_class=HTMLResponse, include_in_schema=False)
def confirm_form(conn: Conn, ref: str, code: Annotated[str, Form(max_length=16)]) -> HTMLResponse:
    try:
        out = follow.confirm(conn, ref=ref, code=code)
    except FollowNotFound as exc:
        return _page("链接无效", f"<h1>链接无效</h1><p>{html.escape(str(exc))}</p>", 404)
    if not out["confirmed"]:
        body = "<h1>验证码不正确</h1>" + (
            _code_form(ref, note=out["reason"]) if out["tries_left"] else f"<p>{out['reason']}</p>"
        )
        return _page("验证码不正确", body, 422)
    if "area" in out:
        a = out["area"]
        what = f"{html.escape(a['name'])}的公开案件进展"
        more = f'<p><a href="{html.escape(a["feed"])}">订阅源（Atom）/ Atom feed</a></p>'
    else:
        what = f"查询码 {html.escape(out['case'])} 的进展"
        more = f'<p><a href="/track/{html.escape(out["case"])}">查询页 / Track</a></p>'
    body = f"""<h1>已关注</h1><p data-testid="follow-confirmed">{what}将通知
{html.escape(out["recipient"])}；每条通知都带退订链接。You will get these updates.</p>{more}"""
    return _page("已关注", body)


@router.get("/follow/{token}/stop", response_class=HTMLResponse, include_in_schema=False)
def stop_page(token: str) -> HTMLResponse:
    body = """<h1>不再关注</h1><p>确认后不再收到这项关注的通知。<br>
Stop the updates of this follow.</p>
<form method="post"><button type="submit">确认 / Confirm</button></form>"""
    return _page("不再关注", body)


@router.post("/follow/{token}/stop", response_class=HTMLResponse, include_in_schema=False)
def stop_form(conn: Conn, token: str) -> HTMLResponse:
    try:
        follow.unfollow(conn, token=token)
    except FollowNotFound:
        body = "<h1>链接无效</h1><p>这个退订链接无效或已使用。This link is no longer valid.</p>"
        return _page("链接无效", body, 404)
    body = "<h1>已退订</h1><p>不再向您发送这项关注的通知。You will get no more of these.</p>"
    return _page("已退订", body)
