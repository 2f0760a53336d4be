"""PostgreSQL ``LISTEN`` for the process: one connection, its notifications on the event loop.

A :class:`Listener` holds one dedicated connection (outside the pool: it stays open while
idle, which a pooled one must not) in autocommit, ``LISTEN``\\s on the channels subscribed to
and hands every notification to the channel's callbacks on the event loop (the socket is
watched with ``loop.add_reader``: no thread, no polling). A lost connection is re-opened with
a growing pause. Each time the connection is open and listening — the first time too — every
callback is called with ``None`` as payload before :attr:`Listener.connected` is set
(notifications sent before the ``LISTEN`` or while the connection was away were missed:
callers catch up from their own cursor; a caller that reads its cursor only once
``connected`` is set misses nothing).

:func:`listener` gives the one listener of the running event loop (uvicorn runs one loop per
worker process), opened on first use.

The other side, :func:`announce`: a writer marks its connection, and once the connection goes
back to the pool (its transaction is over) the channel is notified — from a connection of the
process's own, committed asynchronously, by a thread that sends what gathered meanwhile as one
transaction. So a notification never rides in the writer's transaction: PostgreSQL takes an
instance-wide lock at the commit of every notifying transaction and holds it through the WAL
flush, which would serialise the writers' commits (measured in ``benchmarks/live.py``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import re
import threading
import weakref
from collections.abc import Callable
from typing import Any

import psycopg2
import psycopg2.extensions
from sqlalchemy import Connection, Engine, create_engine, event

from shudi.database import database_url, make_engine

log = logging.getLogger("shudi.listen")

#: Called with a notification's payload, or ``None`` after a reconnection.
Callback = Callable[[str | None], None]
#: Pauses before reconnecting, in seconds (the last one repeats).
BACKOFF_S = (0.5, 1.0, 2.0, 5.0)
CHANNEL_NAME = r"[a-z_][a-z0-9_]{0,62}"


def _connect() -> Any:
    """A new psycopg2 connection as the app's pool makes them (URL, role, options), in
    autocommit, outside any pool."""
    engine = make_engine(database_url(), application_name="shudi-listen")
    try:
        raw = engine.raw_connection()
        conn = raw.dbapi_connection
        raw.detach()  # ours now: the engine will not close it
    finally:
        engine.dispose()
    assert conn is not None
    conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    return conn


class Listener:
    """One ``LISTEN`` connection serving every subscriber of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.callbacks: dict[str, list[Callback]] = {}
        self.conn: Any = None
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.reconnects = 0

    def subscribe(self, channel: str, callback: Callback) -> Callable[[], None]:
        """Call ``callback`` on each notification of ``channel``; returns the unsubscribe.

        The channel is listened to from the next (re)connection when the connection is
        already open, so call it before the first :meth:`start` for a channel known at once.
        """
        if not re.fullmatch(CHANNEL_NAME, channel):
            raise ValueError(f"bad channel name {channel!r}")
        new = channel not in self.callbacks
        self.callbacks.setdefault(channel, []).append(callback)
        if new and self.conn is not None:
            self._lost.set()  # re-open with the new channel (rare: channels are fixed)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self.callbacks.get(channel, []).remove(callback)

        return unsubscribe

    def start(self) -> None:
        """Open the connection (in the background) unless it is open or opening."""
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._run(), name="shudi-listen")

    async def stop(self) -> None:
        """Close the connection and stop reconnecting."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _open(self) -> Any:
        channels = list(self.callbacks)

        def blocking() -> Any:
            conn = _connect()
            with conn.cursor() as cur:
                for channel in channels:
                    cur.execute(f"LISTEN {channel}")  # names checked by subscribe()
            return conn

        return await self.loop.run_in_executor(None, blocking)

    async def _run(self) -> None:
        attempt = 0
        opened_before = False
        try:
            while True:
                try:
                    self.conn = await self._open()
                except Exception as exc:  # unreachable, refused, misconfigured: keep trying
                    pause = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                    log.warning("LISTEN connection failed (%s); again in %.1f s", exc, pause)
                    attempt += 1
                    await asyncio.sleep(pause)
                    continue
                attempt = 0
                if opened_before:
                    self.reconnects += 1
                opened_before = True
                # notices sent before the LISTEN (or while it was away) were missed: catch up
                self._dispatch(None)
                self._lost.clear()
                fd = self.conn.fileno()
                self.loop.add_reader(fd, self._readable)
                self.connected.set()
                try:
                    await self._lost.wait()
                finally:
                    self.connected.clear()
                    self.loop.remove_reader(fd)
                    self._close()
                log.warning("LISTEN connection lost; reconnecting")
                await asyncio.sleep(BACKOFF_S[0])
        finally:
            self._close()

    def _close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(psycopg2.Error):
                self.conn.close()
            self.conn = None

    def _readable(self) -> None:
        conn = self.conn
        if conn is None:
            return
        try:
            conn.poll()
        except (psycopg2.Error, OSError):
            self._lost.set()
            return
        if conn.closed:
            self._lost.set()
            return
        payloads: dict[str, list[str]] = {}
        while conn.notifies:
            n = conn.notifies.pop(0)
            payloads.setdefault(n.channel, []).append(n.payload)
        for channel, items in payloads.items():
            for payload in items:
                self._dispatch(payload, channel)

    def _dispatch(self, payload: str | None, channel: str | None = None) -> None:
        channels = [channel] if channel is not None else list(self.callbacks)
        for ch in channels:
            for callback in list(self.callbacks.get(ch, ())):
                try:
                    callback(payload)
                except Exception:  # one subscriber's bug must not silence the others
                    log.exception("LISTEN callback of %s failed", ch)


_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Listener] = (
    weakref.WeakKeyDictionary()
)


def listener() -> Listener:
    """The listener of the running event loop (made on first use, not yet started)."""
    loop = asyncio.get_running_loop()
    found = _listeners.get(loop)
    if found is None:
        found = _listeners[loop] = Listener(loop)
    return found


# --- announcing: NOTIFY after the writer's transaction, outside it ---------------------------

_MARK = "shudi.announce"


class _Announcer:
    """One thread per database URL sending the announced channels, gathered, as one NOTIFY
    transaction at a time (``synchronous_commit`` off: nothing to wait for)."""

    def __init__(self, engine: Engine) -> None:
        self.url = engine.url
        self.pending: set[str] = set()
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None
        self.engine: Engine | None = None
        self.sent = 0
        self.busy = False

    def send(self, channels: set[str]) -> None:
        with self.cond:
            self.pending |= channels
            self.cond.notify_all()
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="shudi-announce",
                                               daemon=True)  # fmt: skip
                self.thread.start()

    def flush(self, timeout: float) -> None:
        """Wait until everything announced so far is sent (at exit: a command that wrote
        cases and ends at once still tells the live maps)."""
        with self.cond:
            self.cond.wait_for(lambda: not self.pending and not self.busy, timeout)

    def _run(self) -> None:
        while True:
            with self.cond:
                self.busy = False
                self.cond.notify_all()
                while not self.pending:
                    self.cond.wait()
                channels, self.pending = self.pending, set()
                self.busy = True
            try:
                if self.engine is None:
                    self.engine = create_engine(
                        self.url, pool_size=1, max_overflow=0, pool_pre_ping=True,
                        connect_args={"options": "-c synchronous_commit=off",
                                      "application_name": "shudi-announce"},
                    )  # fmt: skip
                with self.engine.connect() as conn:
                    for channel in sorted(channels):
                        conn.exec_driver_sql(f"NOTIFY {channel}")  # names checked by announce()
                    conn.commit()
                self.sent += 1
            except Exception as exc:  # the listeners catch up at the next one, or reconnecting
                log.warning("NOTIFY %s failed: %s", ", ".join(sorted(channels)), exc)


_announcers: weakref.WeakKeyDictionary[Any, _Announcer] = weakref.WeakKeyDictionary()
_announcers_lock = threading.Lock()
#: Seconds a process waits at exit for its announcements to be sent.
EXIT_FLUSH_S = 2.0


@atexit.register
def _flush_at_exit() -> None:
    for found in list(_announcers.values()):
        found.flush(EXIT_FLUSH_S)


def _announcer(engine: Engine) -> _Announcer:
    """The announcer of ``engine``'s pool, its check-in hook installed on first use."""
    key = engine.pool
    with _announcers_lock:
        found = _announcers.get(key)
        if found is None:
            found = _announcers[key] = _Announcer(engine)

            def checked_in(_dbapi: Any, record: Any) -> None:
                channels = record.info.pop(_MARK, None) if record is not None else None
                if channels:
                    found.send(channels)

            event.listen(engine.pool, "checkin", checked_in)
    return found


def announce(conn: Connection, channel: str) -> None:
    """Notify ``channel`` once ``conn`` is back in its pool (after its commit): for writers,
    whose own transaction must not notify. A transaction rolled back is announced all the
    same (listeners find nothing new: harmless)."""
    if not re.fullmatch(CHANNEL_NAME, channel):
        raise ValueError(f"bad channel name {channel!r}")
    _announcer(conn.engine)
    marks = conn.info.setdefault(_MARK, set())
    marks.add(channel)
