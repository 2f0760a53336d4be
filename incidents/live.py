"""The live map pushed: the open maps' streams of changed cases, fed by the database's notices.

Every transaction that writes ``case_file`` (:mod:`incidents.store`, its one writer) is
announced once it is over: a notification ``shudi_case_changed``, sent after the writer's
commit from a connection of its own (:func:`shudi.listen.announce`: the writer's commit never
takes PostgreSQL's notification lock). Each server process listens on one connection
(:mod:`shudi.listen`) and keeps one :class:`Hub` of its open streams. Told that something
changed, the hub waits :data:`DEBOUNCE_S` (a burst of commits becomes one round), then asks
the live feed (:func:`incidents.feeds.map_feed`) for the changes since the cursor — once per
*scope and cursor*: every open map of the same role and scope that is up to date shares one
query and one encoded event, however many there are. So a stream holds no database connection
while idle, and a notice costs one short query per scope, not one per map.

A stream carries exactly what the feed gives its role (visibility, rounded positions, no
personal data): events ``cases`` whose ``data`` is a feed answer and whose ``id`` is its
cursor (``x:N``), so a browser's ``EventSource`` that reconnects resumes with
``Last-Event-ID``. Rounds that find nothing visible send nothing; the stream's cursor still
advances, and the heart-beat (every :data:`HEARTBEAT_S`) carries it as an ``id`` with no data.
A stream whose reader falls :data:`MAX_PENDING` events behind is closed (it resumes from its
last id). Every :data:`REVALIDATE_S` the streams' tokens are checked again: an expired or
revoked log-in, a deactivated user or a changed scope closes the stream (the browser's
reconnection then answers 401, or opens the stream of the new scope).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import Counter, Gauge

from accounts.exceptions import NotAuthenticated
from accounts.service import Principal, principal_for_token
from incidents import access, feeds, store
from shudi.database import open_reader
from shudi.listen import listener

log = logging.getLogger("shudi.live")

#: Notified after each transaction that wrote cases (:data:`incidents.store.CHANGED`).
CHANNEL = store.CHANGED
#: A notice is served this long after it arrived, with whatever else arrived meanwhile.
DEBOUNCE_S = 0.05
#: Seconds between heart-beats (comments that keep proxies and the browser from timing out).
HEARTBEAT_S = 15.0
#: Seconds between checks of the open streams' log-ins.
REVALIDATE_S = 60.0
#: Events a slow reader may have waiting before its stream is closed.
MAX_PENDING = 32
#: The browser's pause before it reconnects a dropped stream (the ``retry`` field), in ms:
#: drawn per stream between this and twice this, so that the maps of a restarted server do
#: not all come back in the same instant.
RETRY_MS = 2000
#: Feed queries a hub runs at once (each on a pooled connection, for its query only).
PARALLEL_FETCHES = 4
#: Pause before a round that failed (database unreachable) is tried again.
FAILED_RETRY_S = 1.0
#: A round waits this long at most for the listener to be listening (a change committed after
#: the round's query but before the ``LISTEN`` would otherwise never be told); past it the
#: round runs all the same and the listener's catch-up, once it is open, serves the rest.
LISTEN_WAIT_S = 5.0

OPEN_STREAMS = Gauge(
    "shudi_live_streams",
    "Open live-map streams (server-sent events, GET /api/v1/cases/stream).",
    multiprocess_mode="livesum",
)
FETCHES = Counter(
    "shudi_live_fetches",
    "Feed queries run for the live-map streams (one per scope and cursor per round).",
)
EVENTS = Counter("shudi_live_events", "Events of changed cases written to live-map streams.")

#: Role, visibility SQL and its parameters: streams with the same key see the same cases.
ScopeKey = tuple[str, str, tuple[tuple[str, str], ...]]


def scope_key(principal: Principal) -> ScopeKey:
    """What decides which cases ``principal``'s stream carries, and how (role: positions)."""
    where, params = access.visibility(principal)
    return (principal.role.value, where, tuple(sorted((k, repr(v)) for k, v in params.items())))


def event(kind: str, cursor: str, data: dict[str, Any]) -> bytes:
    """One server-sent event: ``id`` the cursor, one ``data`` line of JSON."""
    return b"".join(
        (b"id: ", cursor.encode(), b"\nevent: ", kind.encode(), b"\ndata: ",
         orjson.dumps(data), b"\n\n")
    )  # fmt: skip


def heartbeat(cursor: str | None) -> bytes:
    """A comment, with the stream's cursor as ``id`` (an event with no data: the browser
    keeps the id for its next reconnection and dispatches nothing)."""
    return (f"id: {cursor}\n" if cursor else "").encode() + b": keep-alive\n\n"


@dataclass(eq=False)
class Stream:
    """One open map: whose it is, where it is, what waits to be written to it."""

    principal: Principal
    token: str
    cursor: str | None
    key: ScopeKey
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(MAX_PENDING))
    dirty: bool = True  # changes may wait: fetch at the next round
    closed: bool = False

    def push(self, chunk: bytes) -> None:
        """Queue an event; a reader this far behind is dropped (it resumes from its id)."""
        if self.closed:
            return
        try:
            self.queue.put_nowait(chunk)
        except asyncio.QueueFull:
            log.info("live stream of %s dropped: %d events behind", self.principal.label,
                     MAX_PENDING)  # fmt: skip
            self.close()

    def close(self) -> None:
        """Mark closed and wake the writer."""
        if not self.closed:
            self.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)


def fetch_changes(principal: Principal, cursor: str | None) -> dict[str, Any]:
    """The feed answer for ``principal`` since ``cursor`` (everything open without one), on a
    pooled connection held for this query only. Runs in a worker thread."""
    with open_reader() as conn:
        return feeds.map_feed(conn, principal=principal, since=cursor)


def check_tokens(tokens: set[str]) -> dict[str, Principal | None]:
    """Each token's principal now (None: expired, revoked or its user deactivated)."""
    out: dict[str, Principal | None] = {}
    with open_reader() as conn:
        for token in tokens:
            try:
                out[token] = principal_for_token(conn, token=token)
            except NotAuthenticated:
                out[token] = None
    return out


class Hub:
    """The open streams of one event loop (a server worker) and the rounds that feed them."""

    def __init__(self) -> None:
        self.streams: set[Stream] = set()
        self.rounds = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Any = None

    def open(self, *, principal: Principal, token: str, cursor: str | None) -> Stream:
        """A new stream from ``cursor`` (validated by the caller); its first round fetches
        what changed since (or, without a cursor, every open case) at once."""
        stream = Stream(principal=principal, token=token, cursor=cursor, key=scope_key(principal))
        self.streams.add(stream)
        OPEN_STREAMS.inc()
        self._start()
        self._wake.set()
        return stream

    def close(self, stream: Stream) -> None:
        """Forget a stream (its reader left, or it was dropped)."""
        stream.close()
        if stream in self.streams:
            self.streams.discard(stream)
            OPEN_STREAMS.dec()

    def notice(self, _payload: str | None) -> None:
        """A change was committed (or notices may have been missed): every stream is due."""
        for stream in self.streams:
            stream.dirty = True
        self._wake.set()

    def _start(self) -> None:
        if self._tasks and not any(t.done() for t in self._tasks):
            return
        for t in self._tasks:
            t.cancel()
        lis = listener()
        if self._unsubscribe is None:
            self._unsubscribe = lis.subscribe(CHANNEL, self.notice)
        lis.start()
        self._tasks = [
            asyncio.create_task(self._rounds(), name="shudi-live-rounds"),
            asyncio.create_task(self._revalidate(), name="shudi-live-revalidate"),
        ]

    async def stop(self) -> None:
        """Close every stream and stop the rounds (the listener stays for other users)."""
        for stream in list(self.streams):
            self.close(stream)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def _rounds(self) -> None:
        limit = asyncio.Semaphore(PARALLEL_FETCHES)
        lis = listener()
        while True:
            await self._wake.wait()
            await asyncio.sleep(DEBOUNCE_S)
            if not lis.connected.is_set():  # query only once later changes will be told
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lis.connected.wait(), LISTEN_WAIT_S)
            self._wake.clear()
            groups: dict[tuple[ScopeKey, str | None], list[Stream]] = {}
            for stream in self.streams:
                if stream.dirty and not stream.closed:
                    stream.dirty = False  # a notice from now on makes it due again
                    groups.setdefault((stream.key, stream.cursor), []).append(stream)
            if not groups:
                continue
            self.rounds += 1
            await asyncio.gather(*(self._serve(members, limit) for members in groups.values()))

    async def _serve(self, members: list[Stream], limit: asyncio.Semaphore) -> None:
        first = members[0]
        async with limit:
            try:
                FETCHES.inc()
                body = await asyncio.to_thread(fetch_changes, first.principal, first.cursor)
            except Exception as exc:  # the database is away: try again shortly
                log.warning("live-map round failed (%s); again in %.0f s", exc, FAILED_RETRY_S)
                for stream in members:
                    stream.dirty = True
                asyncio.get_running_loop().call_later(FAILED_RETRY_S, self._wake.set)
                return
        cursor = str(body["now"])
        chunk = None
        if first.cursor is None or body["count"] or body["gone"]:
            chunk = event("cases", cursor, body)
        for stream in members:
            stream.cursor = cursor
            if chunk is not None:
                stream.push(chunk)
                EVENTS.inc()

    async def _revalidate(self) -> None:
        while True:
            await asyncio.sleep(REVALIDATE_S)
            try:
                await self.revalidate()
            except Exception as exc:  # the database is away: the next check will tell
                log.warning("live-map log-in check failed (%s)", exc)

    async def revalidate(self) -> int:
        """Close the streams whose log-in expired, was revoked, or whose user or scope
        changed; returns how many were closed."""
        tokens = {s.token for s in self.streams}
        if not tokens:
            return 0
        now = await asyncio.to_thread(check_tokens, tokens)
        closed = 0
        for stream in list(self.streams):
            if stream.token in now and now[stream.token] != stream.principal:
                self.close(stream)
                closed += 1
        return closed


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The hub of the running event loop (one per server worker)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found
