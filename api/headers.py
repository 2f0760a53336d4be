"""Security headers on every response, and ``no-store`` on whatever a logged-in user is sent.

- ``Content-Security-Policy`` on HTML pages: scripts, styles, fonts and data from this server
  only (the map libraries are served by the app: pages need no internet); images also from
  ``https:`` (basemap tiles) and ``data:``/``blob:``; no plugins; the page may not be framed
  (``frame-ancestors 'none'``); forms post back here only. Inline scripts and styles are
  allowed: Folium's map pages are built of them.
- ``X-Frame-Options: DENY`` (browsers without ``frame-ancestors``), ``X-Content-Type-Options:
  nosniff``, ``Referrer-Policy: same-origin`` (a tracking code in a page's address never
  reaches a tile server).
- A request carrying staff credentials (``Authorization`` or the session cookie) is answered
  ``Cache-Control: private, no-store``: pages and exports that may show residents' phones are
  never kept by a browser or a proxy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
SESSION_COOKIE = b"shudi_session="
#: Answers that hold no personal data whoever asks — vector tiles: public boundaries, and open
#: cases counted per cell (api/vector_tiles.py) — keep their own Cache-Control for staff too.
NO_PERSONAL_DATA = ("/tiles/",)


def _credentials(scope: Scope) -> bool:
    for key, value in scope.get("headers", ()):
        name = key.lower()
        if name == b"authorization" or (name == b"cookie" and SESSION_COOKIE in value):
            return True
    return False


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above to each response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        staff = _credentials(scope) and not str(scope.get("path", "")).startswith(NO_PERSONAL_DATA)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not (staff and k.lower() == b"cache-control" and b"no-store" not in v)
                ]
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in ALWAYS if k not in names]
                content_type = dict((k.lower(), v) for k, v in headers).get(b"content-type", b"")
                if (
                    content_type.startswith(b"text/html")
                    and b"content-security-policy" not in names
                ):
                    headers.append((b"content-security-policy", CSP.encode()))
                if staff and b"cache-control" not in {k.lower() for k, _ in headers}:
                    headers.append((b"cache-control", b"private, no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
