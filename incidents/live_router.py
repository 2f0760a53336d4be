"""``GET /api/v1/cases/stream``: the live map's changed cases, pushed as server-sent events.

The request is authenticated like the feed (bearer token or session cookie) on a pooled
connection that is given back before the stream starts; the open stream then holds no
database connection (:mod:`incidents.live` feeds it). The response is written here, as a
plain ASGI body: a ``retry`` field, then each event as it comes, a heart-beat when nothing
came for :data:`incidents.live.HEARTBEAT_S`, until the client leaves (``http.disconnect``,
watched for by a task of its own so the stream is forgotten at once) or the hub drops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from accounts.router import SESSION_COOKIE, CurrentPrincipal, oauth2
from accounts.service import Principal
from incidents import live
from incidents.feeds import Since

router = APIRouter(prefix="/api/v1", tags=["cases"])

STREAM_HEADERS = {
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",  # nginx: pass each event on at once
}


class EventStream(Response):
    """A ``text/event-stream`` body written from a :class:`incidents.live.Stream`."""

    media_type = "text/event-stream"

    def __init__(self, *, principal: Principal, token: str, cursor: str | None) -> None:
        super().__init__(headers=STREAM_HEADERS)
        self.principal, self.token, self.cursor = principal, token, cursor
        # a stream: no length (chunked)
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = live.hub()  # opened only once the answer is being written: nothing to leak
        stream = hub.open(principal=self.principal, token=self.token, cursor=self.cursor)

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            stream.close()

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            retry = random.randint(live.RETRY_MS, 2 * live.RETRY_MS)
            first = f"retry: {retry}\n\n".encode()
            await send({"type": "http.response.body", "body": first, "more_body": True})
            while not stream.closed:
                try:
                    chunk = await asyncio.wait_for(stream.queue.get(), live.HEARTBEAT_S)
                except TimeoutError:
                    chunk = live.heartbeat(stream.cursor)
                if chunk is None or stream.closed:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client is gone (the ASGI server raises on a closed socket)
            pass
        finally:
            watcher.cancel()
            hub.close(stream)


@router.get(
    "/cases/stream",
    response_class=EventStream,
    # an answer that never ends is no operation a schema-driven client or fuzzer can call
    # (it would wait forever): documented in the README and here, not in /openapi.json
    include_in_schema=False,
)
async def cases_stream(
    request: Request,
    principal: CurrentPrincipal,
    token: Annotated[str | None, Depends(oauth2)] = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> EventStream:
    """The live map pushed: an event ``cases`` (data: a ``/api/v1/cases/feed`` answer, id:
    its cursor ``now``) whenever cases the caller may see change; the first event brings
    the changes since ``since`` (or ``Last-Event-ID``, which a reconnecting ``EventSource``
    sends and which wins) or, with neither, every open case. Same fields, scope and
    rounding as the feed; no personal data."""
    cursor = last_event_id or since or None
    Since.parse(cursor)  # 422 invalid_since for anything else
    value = token or request.cookies.get(SESSION_COOKIE) or ""
    return EventStream(principal=principal, token=value, cursor=cursor)
