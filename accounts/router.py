"""Log-in routes and the ``current_principal`` dependency (bearer token or session cookie)."""

from __future__ import annotations

import html
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from sqlalchemy import Connection

from accounts import service
from accounts.exceptions import NotAuthenticated
from accounts.service import Principal
from shudi.database import db_connection

router = APIRouter(tags=["auth"])
SESSION_COOKIE = "shudi_session"
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
Conn = Annotated[Connection, Depends(db_connection, scope="function")]


def current_principal(
    request: Request, conn: Conn, token: Annotated[str | None, Depends(oauth2)] = None
) -> Principal:
    """The staff user behind the bearer token or the session cookie; 401 otherwise."""
    token = token or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotAuthenticated("log in first: POST /api/v1/auth/token or /login")
    return service.principal_for_token(conn, token=token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def page_principal(request: Request, conn: Connection, *, here: str) -> Principal | Response:
    """The logged-in user of a staff page, or a redirect to ``/login`` that comes back to
    ``here`` (a path with its query)."""
    try:
        return current_principal(request, conn)
    except NotAuthenticated:
        return RedirectResponse(f"/login?next={quote(here, safe='/')}", status_code=303)


@router.post("/api/v1/auth/token")
def token(conn: Conn, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict:
    """OAuth2 password flow: a short-lived bearer token."""
    principal = service.authenticate(conn, username=form.username, password=form.password)
    value, ttl = service.issue_token(conn, principal=principal)
    return {
        "access_token": value,
        "token_type": "bearer",
        "expires_in": ttl,
        "role": principal.role.value,
    }


@router.get("/api/v1/auth/me")
def me(principal: CurrentPrincipal) -> dict:
    """Who the token belongs to."""
    return {
        "username": principal.username,
        "role": principal.role.value,
        "agency": principal.agency,
        "agency_unit": principal.agency_unit,
        "town_code": principal.town_code,
        "community_code": principal.community_code,
        "company": principal.company,
    }


LOGIN_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>登录 · 属地</title>
<style>body{{font-family:sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}}
label,input,button{{display:block;width:100%;margin:.4rem 0;font-size:1rem}}
.err{{color:#b00}}</style></head><body><h1>属地 · 工作人员登录</h1>{error}
<form method="post" action="/login"><label>用户名<input name="username" required
autocomplete="username"></label><label>密码<input name="password" type="password" required
autocomplete="current-password"></label><input type="hidden" name="next" value="{next}">
<button type="submit">登录</button></form></body></html>"""


def _safe_next(value: str) -> str:
    """Only a local path, escaped for the form (no open redirect, no markup)."""
    return html.escape(value if value.startswith("/") and not value.startswith("//") else "/")


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(next: str = "/") -> HTMLResponse:
    """The staff log-in form."""
    return HTMLResponse(LOGIN_PAGE.format(error="", next=_safe_next(next)))


@router.post("/login", include_in_schema=False)
def login(
    conn: Conn,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and set an HttpOnly, SameSite=Strict session cookie."""
    try:
        principal = service.authenticate(conn, username=username, password=password)
    except NotAuthenticated:
        return HTMLResponse(
            LOGIN_PAGE.format(error='<p class="err">用户名或密码错误</p>', next=_safe_next(next)),
            status_code=401,
        )
    value, ttl = service.issue_token(conn, principal=principal)
    response = RedirectResponse(html.unescape(_safe_next(next)), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, value, max_age=ttl, httponly=True, samesite="strict", secure=False, path="/"
    )
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, conn: Conn) -> Response:
    """End the session."""
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        service.revoke_token(conn, token=value)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
