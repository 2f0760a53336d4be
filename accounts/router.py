"""Log-in routes and the ``current_principal`` dependency (bearer token or session cookie)."""

from __future__ import annotations

import html
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from sqlalchemy import Connection

from accounts import service, throttle
from accounts.exceptions import LoginThrottled, NotAuthenticated
from accounts.service import Principal
from shudi.database import db_connection
from shudi.settings import get_settings

router = APIRouter(tags=["auth"])
SESSION_COOKIE = "shudi_session"
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
Conn = Annotated[Connection, Depends(db_connection, scope="function")]


def request_token(request: Request, token: str | None) -> str:
    """The bearer token (``token``, from :data:`oauth2`) or the session cookie's;
    :class:`NotAuthenticated` when the request carries neither. For routes that look the
    principal up themselves, inside their one thread-pool call
    (:func:`accounts.service.principal_for_token`)."""
    token = token or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotAuthenticated("log in first: POST /api/v1/auth/token or /login")
    return token


def current_principal(
    request: Request, conn: Conn, token: Annotated[str | None, Depends(oauth2)] = None
) -> Principal:
    """The staff user behind the bearer token or the session cookie; 401 otherwise."""
    # named the actor of the request's transaction in the same statement (audit log)
    return service.principal_for_token(conn, token=request_token(request, token), act=True)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def page_principal(request: Request, conn: Connection, *, here: str) -> Principal | Response:
    """The logged-in user of a staff page, or a redirect to ``/login`` that comes back to
    ``here`` (a path with its query)."""
    try:
        return current_principal(request, conn)
    except NotAuthenticated:
        return RedirectResponse(f"/login?next={quote(here, safe='/')}", status_code=303)


def _policy() -> throttle.LoginPolicy:
    settings = get_settings()
    return throttle.LoginPolicy(
        per_account=settings.login_max_failures_account,
        per_address=settings.login_max_failures_address,
        window_s=settings.login_window_s,
    )


def _log_in(conn: Connection, request: Request, username: str, password: str) -> Principal:
    """Check the throttle, then the password; a failure is recorded (and committed: the
    callers answer it without raising, so the request's transaction is kept)."""
    address = request.client.host if request.client else ""
    throttle.check_login(conn, username=username, address=address, policy=_policy())
    try:
        principal = service.authenticate(conn, username=username, password=password)
    except NotAuthenticated:
        throttle.record_failure(conn, username=username, address=address)
        raise
    throttle.clear_account(conn, username=username)
    return principal


def _refused(exc: NotAuthenticated | LoginThrottled) -> JSONResponse:
    retry = exc.details.get("retry_after_s")
    return JSONResponse(
        {"code": exc.code, "message": exc.message, **exc.details},
        status_code=429 if isinstance(exc, LoginThrottled) else 401,
        headers={"Retry-After": str(retry)} if retry is not None else None,
    )


@router.post("/api/v1/auth/token", response_model=None)
def token(
    request: Request, conn: Conn, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict | JSONResponse:
    """OAuth2 password flow: a short-lived bearer token. Failed log-ins are throttled per
    account and per address (429 with ``Retry-After``)."""
    try:
        principal = _log_in(conn, request, form.username, form.password)
    except (NotAuthenticated, LoginThrottled) as exc:
        return _refused(exc)
    value, ttl = service.issue_token(conn, principal=principal)
    return {
        "access_token": value,
        "token_type": "bearer",
        "expires_in": ttl,
        "role": principal.role.value,
    }


@router.post("/api/v1/auth/logout", status_code=204)
def revoke_own_token(
    request: Request, conn: Conn, token: Annotated[str | None, Depends(oauth2)] = None
) -> Response:
    """Revoke the bearer token (or session cookie) this request carries."""
    value = token or request.cookies.get(SESSION_COOKIE)
    if not value:
        raise NotAuthenticated("no token to revoke")
    service.principal_for_token(conn, token=value)  # 401 for an unknown or expired token
    service.revoke_token(conn, token=value)
    return Response(status_code=204)


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
    request: Request,
    conn: Conn,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and set an HttpOnly, SameSite=Strict session cookie."""
    try:
        principal = _log_in(conn, request, username, password)
    except LoginThrottled as exc:
        wait = exc.details.get("retry_after_s", 60)
        return HTMLResponse(
            LOGIN_PAGE.format(
                error=f'<p class="err">登录失败次数过多，请 {wait} 秒后再试</p>',
                next=_safe_next(next),
            ),
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    except NotAuthenticated:
        return HTMLResponse(
            LOGIN_PAGE.format(error='<p class="err">用户名或密码错误</p>', next=_safe_next(next)),
            status_code=401,
        )
    value, ttl = service.issue_token(conn, principal=principal)
    response = RedirectResponse(html.unescape(_safe_next(next)), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=ttl,
        httponly=True,
        samesite="strict",
        secure=get_settings().session_cookie_secure,
        path="/",
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
