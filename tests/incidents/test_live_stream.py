"""The live map pushed (``GET /api/v1/cases/stream``, ``incidents/live.py``) over real HTTP: a
``shudi serve`` on a scratch database, clients reading the raw server-sent events from a socket.

Expected answers come from the polled feed (``/api/v1/cases/feed``), which the stream must
match for each role, and from the reports the tests file themselves.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from sqlalchemy import create_engine, text
from support import IN_P111, IN_P112, IN_T2, live_server, load_mini

from accounts.service import create_user
from incidents.feeds import CODED, MAP_COLUMNS
from jurisdictions import catalog

PASSWORD = "correct horse battery"
PHONE, NAME, EMAIL = "13912345678", "王小明", "wang.xiaoming@example.cn"
WITHIN_S = 2.0


@dataclass
class Event:
    at: float
    id: str | None
    kind: str
    data: dict[str, Any]

    def ids(self) -> set[int]:
        return set(self.data["cases"]["id"])


@dataclass
class Stream:
    """One client of the stream on a plain socket: the status, the raw bytes, the events."""

    base: str
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""
    status: int | None = None
    raw: bytearray = field(default_factory=bytearray)
    events: list[Event] = field(default_factory=list)
    head: str = ""

    def __post_init__(self) -> None:
        parts = urlsplit(self.base)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        lines = [f"GET /api/v1/cases/stream{self.query} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.started.wait(10), "no answer from the stream"

    def _read(self) -> None:
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                buf += self.sock.recv(65536) or b"\0"
                if buf.endswith(b"\0"):
                    return
            head, _, buf = buf.partition(b"\r\n\r\n")
            self.head = head.decode("latin-1")
            self.status = int(self.head.split()[1])
            self.started.set()
            body = b""
            while True:  # chunked transfer coding, then the event blocks
                while b"\r\n" not in buf:
                    got = self.sock.recv(65536)
                    if not got:
                        return
                    buf += got
                size_line, _, buf = buf.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                while len(buf) < size + 2:
                    got = self.sock.recv(65536)
                    if not got:
                        return
                    buf += got
                chunk, buf = buf[:size], buf[size + 2 :]
                if size == 0:
                    return
                self.raw += chunk
                body += chunk
                while b"\n\n" in body:
                    block, _, body = body.partition(b"\n\n")
                    self._event(block.decode())
        except OSError:
            return
        finally:
            self.started.set()

    def _event(self, block: str) -> None:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if "data" in fields:
            self.events.append(
                Event(time.monotonic(), fields.get("id"), fields.get("event", "message"),
                      orjson.loads(fields["data"]))
            )  # fmt: skip

    def wait(self, ok: Callable[[Event], bool], timeout: float = WITHIN_S) -> Event:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for e in list(self.events):
                if ok(e):
                    return e
            time.sleep(0.02)
        raise AssertionError(f"no such event within {timeout} s; got {self.events}")

    def seen(self) -> set[int]:
        return {i for e in self.events for i in e.ids()}

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def site(module_scratch_db_url: str) -> Iterator[str]:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
        create_user(conn, username="town1", password=PASSWORD, role="town_coordinator",
                    town_code="T1")  # fmt: skip
        create_user(conn, username="admin1", password=PASSWORD, role="admin")
    eng.dispose()
    with live_server(module_scratch_db_url) as base:
        yield base


def token(base: str, username: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def cursor(base: str, tok: str) -> str:
    return str(httpx.get(f"{base}/api/v1/cases/feed", headers=auth(tok)).json()["now"])


def file_report(base: str, where: tuple[float, float], **over: Any) -> dict[str, Any]:
    kind = httpx.get(f"{base}/api/v1/violation-types", params={"reportable": True}).json()[0]
    body = {"lon": where[0], "lat": where[1], "type": kind["code"]} | over
    r = httpx.post(
        f"{base}/api/v1/reports", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def feed_rows(data: dict[str, Any]) -> dict[int, dict[str, Any]]:
    cols, keys = data["cases"], data["keys"]
    out = {}
    for i in range(data["count"]):
        row = {name: cols[name][i] for name in MAP_COLUMNS}
        for name in CODED:
            row[name] = keys[name][row[name]]
        out[row["id"]] = row
    return out


def metric(base: str, name: str) -> float:
    text_ = httpx.get(f"{base}/metrics").text
    m = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text_, re.M)
    assert m, f"{name} not in /metrics"
    return float(m.group(1))


def test_a_new_case_is_pushed_as_the_feed_gives_it_without_personal_data(site: str) -> None:
    tok = token(site, "disp")
    since = cursor(site, tok)
    s = Stream(site, auth(tok), f"?since={since}")
    try:
        assert s.status == 200 and "content-type: text/event-stream" in s.head.lower()
        assert "cache-control: no-store" in s.head.lower()
        time.sleep(0.3)  # nothing changed since the cursor: no event
        assert s.events == []
        address = f"青溪路8号 {PHONE}"
        new = file_report(site, IN_P111, phone=PHONE, contact_name=NAME, email=EMAIL,
                          address_text=address, description=f"{NAME}报告")  # fmt: skip
        e = s.wait(lambda e: new["id"] in e.ids())
        assert e.kind == "cases" and re.fullmatch(r"x:\d+", e.id or "") and e.data["now"] == e.id
        assert set(e.data["cases"]) == set(MAP_COLUMNS) and e.data["gone"] == []
        polled = httpx.get(f"{site}/api/v1/cases/feed", params={"since": since}, headers=auth(tok))
        assert feed_rows(e.data)[new["id"]] == feed_rows(polled.json())[new["id"]]
        for secret in (PHONE, NAME, EMAIL, "青溪路", new["tracking_code"]):
            assert secret.encode() not in bytes(s.raw), secret
        # a closed case leaves the map: its id comes as gone
        case = httpx.get(f"{site}/api/v1/cases/{new['id']}", headers=auth(tok))
        r = httpx.post(f"{site}/api/v1/cases/{new['id']}/transitions",
                       json={"action": "reject", "note": "不属于受理范围"},
                       headers=auth(tok) | {"If-Match": case.headers["etag"]})  # fmt: skip
        assert r.status_code == 200, r.text
        s.wait(lambda e: new["id"] in e.data["gone"])
    finally:
        s.close()


def test_a_town_coordinator_is_sent_only_its_town(site: str) -> None:
    disp, town = token(site, "disp"), token(site, "town1")
    a = Stream(site, auth(disp), f"?since={cursor(site, disp)}")
    b = Stream(site, auth(town), f"?since={cursor(site, town)}")
    admin_tok = token(site, "admin1")
    c = Stream(site, auth(admin_tok), f"?since={cursor(site, admin_tok)}")
    try:
        other = file_report(site, IN_T2)  # town T2
        own = file_report(site, IN_P112)  # town T1
        b.wait(lambda e: own["id"] in e.ids())
        a.wait(lambda e: own["id"] in e.ids())
        a.wait(lambda e: other["id"] in e.ids())
        time.sleep(0.3)
        assert other["id"] not in b.seen()
        # the administrator's overview: positions rounded to 3 places, as its feed
        e = c.wait(lambda e: own["id"] in e.ids())
        row = feed_rows(e.data)[own["id"]]
        assert (row["lon"], row["lat"]) == (round(IN_P112[0], 3), round(IN_P112[1], 3))
        assert (
            row
            == feed_rows(httpx.get(f"{site}/api/v1/cases/feed", headers=auth(admin_tok)).json())[
                own["id"]
            ]
        )
    finally:
        for s in (a, b, c):
            s.close()


def test_a_reconnecting_client_resumes_from_its_last_event_id(site: str) -> None:
    tok = token(site, "disp")
    s = Stream(site, auth(tok), f"?since={cursor(site, tok)}")
    first = file_report(site, IN_P111)
    last = s.wait(lambda e: first["id"] in e.ids()).id
    s.close()
    missed = file_report(site, IN_T2)  # while no stream is open
    # Last-Event-ID wins over the URL's since (the EventSource keeps its first URL)
    again = Stream(site, auth(tok) | {"Last-Event-ID": str(last)}, "?since=x:1")
    try:
        e = again.wait(lambda e: True)
        assert missed["id"] in e.ids() and first["id"] not in e.ids()
        assert e.data["count"] < 5  # the changes since, not every open case
    finally:
        again.close()


def test_streams_share_one_listener_and_hold_no_pooled_connection(
    site: str, module_scratch_db_url: str
) -> None:
    disp, town = token(site, "disp"), token(site, "town1")
    fetches = metric(site, "shudi_live_fetches_total")
    streams = [Stream(site, auth(disp), f"?since={cursor(site, disp)}") for _ in range(12)]
    streams += [Stream(site, auth(town), f"?since={cursor(site, town)}") for _ in range(3)]
    try:
        assert metric(site, "shudi_live_streams") == 15
        # once their catch-up queries are over (a few seconds at most on a loaded machine),
        # idle streams hold no pooled connection: a stream that kept one would never get here
        deadline = time.monotonic() + 10
        while metric(site, "shudi_db_pool_checked_out") != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert metric(site, "shudi_db_pool_checked_out") == 0
        eng = create_engine(module_scratch_db_url)
        with eng.connect() as conn:
            listening = conn.execute(
                text("""SELECT count(*) FROM pg_stat_activity
                        WHERE application_name = 'shudi-listen' AND query ILIKE 'LISTEN%'""")
            ).scalar_one()
        eng.dispose()
        assert listening == 1
        before = metric(site, "shudi_live_fetches_total")
        new = file_report(site, IN_P111)  # in T1: every stream gets it
        for s in streams:
            s.wait(lambda e: new["id"] in e.ids())
        # one query per scope (dispatcher, town T1) and cursor, not one per stream
        assert metric(site, "shudi_live_fetches_total") - before <= 4
        assert before - fetches <= 15  # each new stream: one catch-up query at most
    finally:
        for s in streams:
            s.close()
    deadline = time.monotonic() + 3
    while metric(site, "shudi_live_streams") != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metric(site, "shudi_live_streams") == 0  # forgotten when their clients left


def test_the_stream_refuses_what_the_feed_refuses(site: str) -> None:
    r = httpx.get(f"{site}/api/v1/cases/stream")
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    tok = token(site, "disp")
    r = httpx.get(f"{site}/api/v1/cases/stream", headers=auth(tok) | {"Last-Event-ID": "yesterday"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_since"
    r = httpx.get(f"{site}/api/v1/cases/stream", params={"since": "x:"}, headers=auth(tok))
    assert r.status_code == 422 and r.json()["code"] == "invalid_since"


def test_without_a_cursor_the_first_event_is_every_open_case(site: str) -> None:
    tok = token(site, "disp")
    file_report(site, IN_P112)
    s = Stream(site, auth(tok))
    try:
        e = s.wait(lambda e: True)
        polled = httpx.get(f"{site}/api/v1/cases/feed", headers=auth(tok)).json()
        assert feed_rows(e.data) == feed_rows(polled) and e.data["count"] >= 1
    finally:
        s.close()
