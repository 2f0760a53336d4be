"""``shudi serve --workers 2``: no state one worker keeps that the other needs.

The server runs two uvicorn worker processes on one listening socket. Each test connection is
pinned to the worker that accepted it, found by process: the worker whose TCP connection has
the test socket's local port as its remote end (psutil on the server's child processes; no
response carries a process id). Then, through connections known to land on each worker:

- both workers answer, and a token issued by one is accepted by the other;
- a report filed through one worker shows up in the dispatcher's live feed (``since=``
  polling, as the dispatch page does) read through the other, within 5 s, and its sealed
  phone number opens there (both workers share the personal-data key);
- one Idempotency-Key sent to both workers at once gives exactly one case;
- the per-address rate limit counts across workers (3 per hour: the 4th report → 429).

One more test, expected to fail until the live feed's cursor is a transaction id rather than a
clock (docs/scaling.md): a change stamped more than 30 s before its commit is never sent.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import psutil
import pytest
from sqlalchemy import create_engine, text
from support import IN_P111, IN_P112, PASSWORD, file_report, live_server, load_mini, type_of

from accounts.models import Role
from accounts.service import Principal, create_user
from incidents import feeds
from jurisdictions import catalog

WORKERS = 2
LIVE_WITHIN_S = 5.0
POLL_S = 0.5  # the dispatch page polls every cfg.pollMs (2 s); faster here, same protocol
LIMIT = 3


@dataclass
class Server:
    base: str
    port: int
    db_url: str
    master: psutil.Process

    def workers(self) -> list[psutil.Process]:
        """The worker processes: the server's children that hold its listening socket."""
        found = []
        for child in self.master.children(recursive=True):
            try:
                conns = child.net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == self.port for c in conns):
                found.append(child)
        return found

    def worker_of(self, local_port: int) -> int | None:
        """The pid of the worker holding the server end of the test's connection."""
        for worker in self.workers():
            for c in worker.net_connections(kind="tcp"):
                if c.raddr and c.raddr.port == local_port and c.laddr.port == self.port:
                    return worker.pid
        return None


class Pinned:
    """A keep-alive HTTP connection and the worker that accepted it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self.conn.connect()
        self.local_port = int(self.conn.sock.getsockname()[1])
        self.pid: int | None = None

    def answered(self) -> Pinned:
        """Send one cheap request (no database): once answered, a worker holds the socket."""
        assert self.request("GET", "/no-such-page")[0] == 404
        self.pid = self.server.worker_of(self.local_port)
        return self

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        data = None
        hdrs = dict(headers or {})
        if isinstance(body, dict) and hdrs.get("Content-Type") == "form":
            data, hdrs["Content-Type"] = urlencode(body), "application/x-www-form-urlencoded"
        elif body is not None:
            data, hdrs["Content-Type"] = json.dumps(body), "application/json"
        self.conn.request(method, path, body=data, headers=hdrs)
        resp = self.conn.getresponse()
        raw = resp.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed

    def still_on(self, pid: int | None) -> bool:
        return self.server.worker_of(self.local_port) == pid

    def close(self) -> None:
        self.conn.close()


def fresh_connections(server: Server, n: int) -> list[Pinned]:
    """``n`` connections opened at once (a worker accepts every connection pending when it
    wakes, so connections opened one after another tend to land on one worker)."""
    opened = [Pinned(server) for _ in range(n)]
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(Pinned.answered, opened))


def one_per_worker(server: Server, rounds: int = 30) -> dict[int, Pinned]:
    """A fresh keep-alive connection on each worker (others are closed)."""
    seen: dict[int, Pinned] = {}
    for _ in range(rounds):
        for c in fresh_connections(server, 8):
            assert c.pid is not None, "a connection that no worker holds"
            if c.pid in seen:  # keep the newest: an idle one is closed after 5 s
                seen[c.pid].close()
            seen[c.pid] = c
        if len(seen) == WORKERS:
            return seen
        time.sleep(0.05)
    for c in seen.values():
        c.close()
    raise AssertionError(f"only workers {sorted(seen)} accepted {rounds * 8} connections")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Server]:
    scratch = request.getfixturevalue("module_scratch_db_url")
    eng = create_engine(scratch)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
    eng.dispose()
    home = tmp_path_factory.mktemp("workers-home")  # the workers make and share its key file
    log = home / "server.log"
    with live_server(
        scratch,
        log=log,
        workers=WORKERS,
        SHUDI_HOME=str(home),
        SHUDI_PII_KEYS="",
        SHUDI_REPORT_LIMIT_IP=f"{LIMIT}/1h",
        SHUDI_FORWARDED_ALLOW_IPS="127.0.0.1",  # the test is the proxy naming each client
    ) as base:
        port = int(urlsplit(base).port or 0)
        masters = [
            p
            for p in psutil.Process().children(recursive=True)
            if "serve" in p.cmdline() and str(port) in p.cmdline()
        ]
        assert len(masters) == 1, masters
        srv = Server(base=base, port=port, db_url=scratch, master=masters[0])
        deadline = time.monotonic() + 30
        while len(srv.workers()) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(srv.workers()) == WORKERS, Path(log).read_text(errors="replace")[-2000:]
        yield srv


@pytest.fixture
def pair(server: Server) -> Iterator[tuple[Pinned, Pinned]]:
    """One keep-alive connection on each worker, fresh for each test (idle ones time out)."""
    a, b = one_per_worker(server).values()
    yield a, b
    a.close()
    b.close()


def a_type(c: Pinned) -> str:
    status, _, types = c.request(
        "GET", "/api/v1/violation-types?agency=urban_management&reportable=true"
    )
    assert status == 200
    return str(types[0]["code"])


def report_body(type_code: str, where: tuple[float, float], **over: Any) -> dict[str, Any]:
    return {
        "lon": where[0],
        "lat": where[1],
        "type": type_code,
        "description": "楼顶加建",
        "phone": "13912345678",
        "contact_name": "李四",
    } | over


def anonymous(ip: str, key: str | None = None) -> dict[str, str]:
    """Headers of a resident's report from ``ip`` (the server trusts loopback as its proxy)."""
    return {"X-Forwarded-For": ip} | ({"Idempotency-Key": key} if key else {})


def login(c: Pinned) -> dict[str, str]:
    status, _, body = c.request(
        "POST",
        "/api/v1/auth/token",
        {"username": "disp", "password": PASSWORD},
        {"Content-Type": "form"},
    )
    assert status == 200, body
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_both_workers_answer_and_share_tokens(server: Server, pair: tuple[Pinned, Pinned]) -> None:
    a, b = pair
    assert a.pid != b.pid and {a.pid, b.pid} == {w.pid for w in server.workers()}
    auth = login(a)  # issued by one worker ...
    status, _, me = b.request("GET", "/api/v1/auth/me", headers=auth)  # ... honoured by the other
    assert status == 200 and me["role"] == "dispatcher"
    assert a.still_on(a.pid) and b.still_on(b.pid)


def test_report_through_one_worker_is_live_through_the_other(
    server: Server, pair: tuple[Pinned, Pinned]
) -> None:
    a, b = pair
    auth = login(b)
    status, _, first = b.request("GET", "/api/v1/cases/feed", headers=auth)  # the page's load
    assert status == 200
    since = first["now"]

    status, _, filed = a.request(
        "POST",
        "/api/v1/reports",
        report_body(a_type(a), IN_P111, phone="13900000001"),
        anonymous("203.0.113.1", key=str(uuid.uuid4())),
    )
    assert status == 201, filed
    case_id = filed["id"]
    filed_at = time.monotonic()

    seen_at = None
    polls = 0
    while time.monotonic() - filed_at < LIVE_WITHIN_S:
        status, _, feed = b.request(
            "GET", "/api/v1/cases/feed?" + urlencode({"since": since}), headers=auth
        )
        assert b.still_on(b.pid)  # kept alive between polls, like the page's connection
        assert status == 200, feed
        polls += 1
        since = feed["now"] or since
        if case_id in feed["cases"]["id"]:
            seen_at = time.monotonic()
            break
        time.sleep(POLL_S)
    assert seen_at is not None, f"case {case_id} not in the feed of the other worker ({polls})"
    assert seen_at - filed_at < LIVE_WITHIN_S

    # the phone was sealed by one worker and opens on the other (one shared key file)
    status, _, case = b.request("GET", f"/api/v1/cases/{case_id}", headers=auth)
    assert status == 200, case
    assert [r["phone"] for r in case["reporters"]] == ["13900000001"]


def post_together(
    conns: tuple[Pinned, ...], body: dict[str, Any], headers: dict[str, str]
) -> dict[int, tuple[int, Any]]:
    """The same report POSTed on every connection at the same moment; answers by worker."""
    gate = threading.Barrier(len(conns))
    answers: dict[int, tuple[int, Any]] = {}

    def send(c: Pinned) -> None:
        gate.wait()
        status, _, got = c.request("POST", "/api/v1/reports", body, headers)
        answers[c.pid or 0] = (status, got)

    threads = [threading.Thread(target=send, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


def test_one_idempotency_key_sent_to_both_workers_makes_one_case(
    server: Server, pair: tuple[Pinned, Pinned]
) -> None:
    a, b = pair
    type_code = a_type(a)
    eng = create_engine(server.db_url)
    try:
        for round_ in range(5):
            key = str(uuid.uuid4())
            marker = f"并发重试 {key}"
            body = report_body(type_code, IN_P112, description=marker, phone="13900000002")
            headers = anonymous(f"203.0.113.{10 + round_}", key=key)
            answers = post_together((a, b), body, headers)
            statuses = sorted(s for s, _ in answers.values())
            # both 201 (the later one replayed the stored answer), or one still in flight (409)
            assert statuses in ([201, 201], [201, 409]), answers
            codes = {got["tracking_code"] for s, got in answers.values() if s == 201}
            assert len(codes) == 1, answers
            with eng.connect() as conn:
                n = conn.execute(
                    text("SELECT count(*) FROM case_file WHERE description = :d"), {"d": marker}
                ).scalar_one()
            assert n == 1, f"round {round_}: {n} cases for one Idempotency-Key"
            # a later retry on either worker gets the stored answer
            for c in (a, b):
                status, _, again = c.request("POST", "/api/v1/reports", body, headers)
                assert status == 201 and again["tracking_code"] in codes
    finally:
        eng.dispose()


def test_rate_limit_counts_across_workers(pair: tuple[Pinned, Pinned]) -> None:
    a, b = pair
    type_code = a_type(a)
    ip = "198.51.100.7"
    answers = []
    for i, c in enumerate((a, b, a, b)):  # 2 on each worker: neither alone is over 3
        where = (IN_P111[0] + 0.0005 * i, IN_P111[1])  # other cells, other phones
        status, headers, got = c.request(
            "POST",
            "/api/v1/reports",
            report_body(type_code, where, phone=f"1390000010{i}"),
            anonymous(ip, key=str(uuid.uuid4())),
        )
        answers.append((c.pid, status, headers, got))
    assert [s for _, s, _, _ in answers] == [201, 201, 201, 429], answers
    _, _, headers, got = answers[-1]
    assert got["code"] == "rate_limited" and int(headers["retry-after"]) > 0
    assert answers[-1][0] != answers[-2][0]  # the 429 came from the other worker


def test_a_change_committed_late_still_reaches_the_live_feed(server: Server) -> None:
    """A writer stamps a case, a poll runs while it is open, it commits: the next poll has it.

    The stamp is set 31 s back inside the open transaction, which is what a boundary
    re-resolve running that long (``updated_at = now()``, its start) does to its cases.
    """
    eng = create_engine(server.db_url)
    dispatcher = Principal(user_id=0, username="d", role=Role.dispatcher)
    try:
        with eng.begin() as conn:
            case_id = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]
        with eng.begin() as conn:
            since = feeds.map_feed(conn, principal=dispatcher)["now"]
        with eng.connect() as writer, writer.begin():
            writer.execute(
                text("""UPDATE case_file SET status = 'dispatched', version = version + 1,
                        updated_at = now() - interval '31 seconds' WHERE id = :i"""),
                {"i": case_id},
            )
            with eng.begin() as conn:  # a poll while the writer is open: the change not yet seen
                since = feeds.map_feed(conn, principal=dispatcher, since=since)["now"]
        with eng.begin() as conn:  # the poll after the commit
            feed = feeds.map_feed(conn, principal=dispatcher, since=since)
    finally:
        eng.dispose()
    ids = feed["cases"]["id"]
    assert case_id in ids
    assert feed["keys"]["status"][feed["cases"]["status"][ids.index(case_id)]] == "dispatched"
