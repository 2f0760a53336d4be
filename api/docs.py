"""The API documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served with the
app's own copies of their scripts (``webmap/assets.json``: swagger-ui-dist and redoc, fetched by
``python -m webmap.assets fetch`` with their hashes): they work with no internet."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

from webmap.assets import URL_PREFIX

SWAGGER = f"{URL_PREFIX}/swagger-ui-dist@5.36.0"
REDOC = f"{URL_PREFIX}/redoc@2.5.4/bundles/redoc.standalone.js"
OPENAPI_URL = "/openapi.json"
TITLE = "Shudi 属地"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"

router = APIRouter(include_in_schema=False)

#: Nothing but the app itself: ReDoc's footer would otherwise fetch Redocly's logo from a CDN
#: (the browser now refuses it without asking the network, and ReDoc hides the broken image).
LOCAL_ONLY = (
    "default-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
    "worker-src 'self' blob:; connect-src 'self'"
)


def _local(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = LOCAL_ONLY
    return page


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    """Swagger UI (try the API from the browser; log in with the Authorize button)."""
    return _local(
        get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title=f"{TITLE} · API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT,
            # no badge asking validator.swagger.io about the document
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get(OAUTH2_REDIRECT, response_class=HTMLResponse)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    """ReDoc (the reference, read-only)."""
    return _local(
        get_redoc_html(
            openapi_url=OPENAPI_URL,
            title=f"{TITLE} · API",
            redoc_js_url=REDOC,
            redoc_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            with_google_fonts=False,
        )
    )
