"""Request body size caps, enforced before any route parses a byte (413 with the JSON body).

Three classes of route, each with its own cap from the settings:

- boundary-file uploads (paths under ``/api/v1/boundaries``): ``max_upload_body_bytes``;
- reports with photos (multipart ``POST /api/v1/reports``): ``max_report_body_bytes``;
- everything else (JSON, forms): ``max_body_bytes``.

A declared ``Content-Length`` over the cap is answered at once, without reading the body; a
body sent without one (chunked) is counted as it streams and stopped at the cap.
"""

from __future__ import annotations

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.error_responses import error_body
from shudi.settings import Settings, get_settings

UPLOAD_PREFIXES = ("/api/v1/boundaries",)
PHOTO_ROUTES = ("/api/v1/reports",)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes its cap (FastAPI passes it on)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def body_limit(scope: Scope, settings: Settings) -> int:
    """The cap for this request's route class."""
    path: str = scope.get("path", "")
    if path.startswith(UPLOAD_PREFIXES):
        return settings.max_upload_body_bytes
    if path in PHOTO_ROUTES and _header(scope, b"content-type").startswith("multipart/"):
        return settings.max_report_body_bytes
    return settings.max_body_bytes


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip().lower()
    return ""


class BodySizeLimit:
    """Pure ASGI middleware: 413 for bodies over their route class's cap."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope, get_settings())
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(send, limit)


async def _too_large(send: Send, limit: int) -> None:
    message = f"the request body is larger than {limit} bytes"
    body = orjson.dumps(error_body("payload_too_large", message))
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
