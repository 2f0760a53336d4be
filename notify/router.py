"""HTTP routes of notifications: the outbox status (admins and
dispatchers), and a resident's opt-out by tracking code. Thin: the service decides."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from accounts.exceptions import Forbidden
from accounts.models import Role
from accounts.router import CurrentPrincipal
from notify import service
from notify.exceptions import CaseUnknown
from notify.schemas import OptOutOut, StatusOut
from shudi.database import db_connection

router = APIRouter(tags=["notify"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
OPERATORS = frozenset({Role.admin, Role.dispatcher})


@router.get("/api/v1/notify/status", response_model=StatusOut)
def outbox_status(conn: Conn, principal: CurrentPrincipal) -> dict:
    """Counts per state and channel, the backlog's age and the latest dead letters."""
    if principal.role not in OPERATORS:
        raise Forbidden("the outbox status is for admins and dispatchers")
    return service.status(conn)


@router.post("/api/v1/track/{tracking_code}/optout", response_model=OptOutOut)
def opt_out(conn: Conn, tracking_code: str) -> dict:
    """Stop messages to the phone and e-mail the reporter of this tracking code left."""
    return {"addresses": service.opt_out(conn, tracking_code=tracking_code)}


PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}}
button{{font-size:1rem;padding:.5rem 1rem}}</style></head><body>{body}</body></html>"""


@router.get("/track/{tracking_code}/optout", response_class=HTMLResponse, include_in_schema=False)
def opt_out_page(tracking_code: str) -> HTMLResponse:
    code = html.escape(tracking_code.strip().upper())
    body = f"""<h1>不再接收通知</h1><p>查询码 {code} 的办理进度将不再以短信或邮件通知您
（仍可在查询页查看）。<br>Stop text and e-mail updates for tracking code {code}.</p>
<form method="post"><button type="submit">确认 / Confirm</button></form>
<p><a href="/track/{code}">返回查询页 / Back</a></p>"""
    return HTMLResponse(PAGE.format(title="不再接收通知", body=body))


@router.post("/track/{tracking_code}/optout", response_class=HTMLResponse, include_in_schema=False)
def opt_out_form(conn: Conn, tracking_code: str) -> HTMLResponse:
    code = html.escape(tracking_code.strip().upper())
    try:
        service.opt_out(conn, tracking_code=tracking_code)
    except CaseUnknown:
        body = f"<h1>未找到</h1><p>没有查询码为 {code} 的案件。No case with that code.</p>"
        return HTMLResponse(PAGE.format(title="未找到", body=body), status_code=404)
    body = f"""<h1>已退订</h1><p>不再向您发送查询码 {code} 的通知。
You will get no more messages about {code}.</p><p><a href="/track/{code}">查询页 / Track</a></p>"""
    return HTMLResponse(PAGE.format(title="已退订", body=body))
