"""The dispatch centre's load, as one scenario, and a load generator cheap enough to measure it.

The scenario (shares of the requests; the same in the closed and the open loop):

* dispatchers keep the live map open: each open map loads the full compact feed once
  (``GET /api/v1/cases/feed``), then asks for the changes since its cursor every 2 s
  (``?since=x:N``, the answer's ``now``); a poll goes to the map polled longest ago, and the
  maps are opened before a run, as many as poll every 2 s at the run's rate (rate × share ×
  2 s; see :mod:`reliability.load`); they list cases (``GET /api/v1/cases``, filters, 50 a
  page, newest or by deadline) and act on them (``GET /api/v1/cases/{id}`` for the ``ETag``,
  then ``accept`` with ``If-Match``);
* residents report (``POST /api/v1/reports``: JSON, one in :data:`PHOTO_EVERY` multipart with
  a 640×480 JPEG, an ``Idempotency-Key`` each) and track (``GET /api/v1/track/{code}``);
* officers work their lists: ``GET /api/v1/cases?order=due`` (their agency's cases),
  ``GET /api/v1/tasks``, a case, and ``start`` on a dispatched case of theirs.

The client is plain asyncio over keep-alive HTTP/1.1 sockets (no HTTP library, no greenlets):
one connection per closed-loop client, a pool in the open loop, every answer read to its end
(and unzipped: it asks for gzip, as browsers do).
It measures its own CPU (``time.process_time``) beside the server's and PostgreSQL's.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

#: Shares of the requests (they add up to 1).
SHARES: dict[str, float] = {
    "map: changes since cursor": 0.34,
    "dispatcher: listing": 0.14,
    "dispatcher: case": 0.05,
    "dispatcher: accept": 0.05,
    "resident: report": 0.10,
    "resident: track": 0.14,
    "officer: work list": 0.09,
    "officer: tasks": 0.04,
    "officer: case": 0.03,
    "officer: start": 0.02,
}
FULL = "map: full feed (opening)"
RESOLVE = "bare resolve"
POLL_EVERY_S = 2.0
PHOTO_EVERY = 10  # one report in ten carries a photo
#: A mainland mobile number, not part of a longer digit run or a decimal fraction.
PHONE = re.compile(rb"(?<![\d.])1[3-9]\d{9}(?!\d)")


class HttpError(Exception):
    """The connection broke or the answer could not be read."""


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept-Encoding: gzip\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body or method == "POST":
            head += f"Content-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
            status = int(raw[9:12])
            length, chunked, close, gzipped = 0, False, False, False
            for line in raw.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif name == b"connection" and b"close" in value.lower():
                    close = True
                elif name == b"content-encoding" and b"gzip" in value.lower():
                    gzipped = True
            if chunked:
                parts = []
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    parts.append(await self.reader.readexactly(size + 2))
                    if size == 0:
                        break
                data = b"".join(p[:-2] for p in parts)
            else:
                data = await self.reader.readexactly(length) if length else b""
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            self.close()
            raise HttpError(str(e)) from e
        if close:
            self.close()
        return status, zlib.decompress(data, wbits=31) if gzipped else data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class MapSession:
    """One open dispatch map: its cursor and when it last asked."""

    token: str
    cursor: str = ""
    polled: float = 0.0
    busy: bool = False


@dataclass
class Scenario:
    """What the users need (from :func:`reliability.load.make_plan`) and the shared state."""

    plan: dict[str, Any]
    photo: bytes
    seed: int = 1
    maps: list[MapSession] = field(default_factory=list)
    scan: dict[str, Any] = field(
        default_factory=lambda: {"bodies": 0, "phones": {}, "leaks": 0, "examples": []}
    )

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.reported = list(self.plan["reported"])
        self.dispatched = {a: list(v) for a, v in self.plan["dispatched"].items()}
        self.codes: list[str] = list(self.plan["codes"])
        self.names = list(SHARES)
        self.weights = list(SHARES.values())
        self.reports = 0

    def pick(self) -> str:
        return self.rng.choices(self.names, self.weights)[0]

    def _scan(self, role: str, name: str, body: bytes) -> None:
        self.scan["bodies"] += 1
        found = PHONE.findall(body)
        if found:
            where = f"{role}: {name}"
            self.scan["phones"][where] = self.scan["phones"].get(where, 0) + len(found)
            if role not in self.plan["may_see_phones"]:
                self.scan["leaks"] += len(found)
                if len(self.scan["examples"]) < 5:
                    self.scan["examples"].append([role, name, found[0].decode()])

    # --- the operations: each sends one request and returns (name, status) ---------------

    async def run(self, name: str, conn: Connection) -> tuple[str, int]:
        op: Callable[[Connection], Awaitable[tuple[str, int]]] = getattr(self, OPS[name])
        return await op(conn)

    async def _get(
        self, conn: Connection, role: str, token: str, name: str, path: str
    ) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status, body = await conn.request("GET", path, headers)
        self._scan(role, name, body)
        return status, body

    def _dispatcher(self) -> str:
        return str(self.rng.choice(self.plan["tokens"]["dispatcher"]))

    def _officer(self) -> tuple[str, str]:
        agency, token = self.rng.choice(self.plan["tokens"]["officer"])
        return str(agency), str(token)

    async def poll(self, conn: Connection) -> tuple[str, int]:
        """The open map polled longest ago asks for its changes (one still waiting for its
        last answer asks again only when every map is waiting: a slow server must not make
        the client open maps; a map is opened, with the full feed, only when none is open)."""
        if not self.maps:
            return await self.open_map(conn)
        free = [m for m in self.maps if not m.busy] or self.maps
        session = min(free, key=lambda m: m.polled)
        session.busy = True
        try:
            path = "/api/v1/cases/feed?" + urlencode({"since": session.cursor})
            name = "map: changes since cursor"
            status, body = await self._get(conn, "dispatcher", session.token, name, path)
            if status == 200:
                session.cursor = orjson.loads(body)["now"]
            session.polled = time.monotonic()
            return name, status
        finally:
            session.busy = False

    async def open_map(self, conn: Connection) -> tuple[str, int]:
        session = MapSession(token=self._dispatcher(), busy=True)
        status, body = await self._get(
            conn, "dispatcher", session.token, FULL, "/api/v1/cases/feed"
        )
        if status == 200:
            session.cursor = orjson.loads(body)["now"]
            session.polled = time.monotonic()
            session.busy = False
            self.maps.append(session)
        return FULL, status

    async def listing(self, conn: Connection) -> tuple[str, int]:
        params: dict[str, Any] = {"limit": 50, "order": self.rng.choice(("newest", "due"))}
        for key, values in self.plan["filters"].items():
            if self.rng.random() < 0.4:
                params[key] = self.rng.choice(values)
        name = "dispatcher: listing"
        path = "/api/v1/cases?" + urlencode(params)
        status, _ = await self._get(conn, "dispatcher", self._dispatcher(), name, path)
        return name, status

    async def case(self, conn: Connection) -> tuple[str, int]:
        case_id = self.rng.choice(self.plan["open_ids"])
        name = "dispatcher: case"
        status, _ = await self._get(
            conn, "dispatcher", self._dispatcher(), name, f"/api/v1/cases/{case_id}"
        )
        return name, status

    async def accept(self, conn: Connection) -> tuple[str, int]:
        name = "dispatcher: accept"
        if not self.reported:
            return await self.listing(conn)
        case_id, version = self.reported.pop()
        return name, await self._transition(
            conn, self._dispatcher(), case_id, version, "accept", name, "dispatcher"
        )

    async def _transition(
        self,
        conn: Connection,
        token: str,
        case_id: int,
        version: int,
        action: str,
        name: str,
        role: str,
    ) -> int:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "If-Match": f'"{version}"',
        }
        body = orjson.dumps({"action": action, "note": "load run"})
        path = f"/api/v1/cases/{case_id}/transitions"
        status, answer = await conn.request("POST", path, headers, body)
        self._scan(role, name, answer)
        return status

    async def report(self, conn: Connection) -> tuple[str, int]:
        x, y = self.rng.choice(self.plan["points"])
        self.reports += 1
        fields = {
            "lon": f"{x:.7f}",
            "lat": f"{y:.7f}",
            "type": self.rng.choice(self.plan["types"]),
            "description": "楼道里堆满杂物，影响通行，请尽快处理",
            "phone": f"139{self.rng.randrange(10**8):08d}",
            "contact_name": "王女士",
        }
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        if self.reports % PHOTO_EVERY == 0:
            body, headers["Content-Type"] = multipart(fields, self.photo)
        else:
            body = orjson.dumps(fields | {"lon": x, "lat": y})
            headers["Content-Type"] = "application/json"
        status, answer = await conn.request("POST", "/api/v1/reports", headers, body)
        self._scan("resident", "resident: report", answer)
        if status == 201:
            self.codes.append(orjson.loads(answer)["tracking_code"])
        return "resident: report", status

    async def track(self, conn: Connection) -> tuple[str, int]:
        name = "resident: track"
        status, _ = await self._get(
            conn, "resident", "", name, f"/api/v1/track/{self.rng.choice(self.codes)}"
        )
        return name, status

    async def work_list(self, conn: Connection) -> tuple[str, int]:
        _, token = self._officer()
        params: dict[str, Any] = {"limit": 50, "order": "due"}
        if self.rng.random() < 0.5:
            params["status"] = self.rng.choice(("dispatched", "in_progress"))
        name = "officer: work list"
        status, _ = await self._get(
            conn, "agency_officer", token, name, "/api/v1/cases?" + urlencode(params)
        )
        return name, status

    async def tasks(self, conn: Connection) -> tuple[str, int]:
        _, token = self._officer()
        status, _ = await self._get(
            conn, "agency_officer", token, "officer: tasks", "/api/v1/tasks"
        )
        return "officer: tasks", status

    async def officer_case(self, conn: Connection) -> tuple[str, int]:
        agency, token = self._officer()
        cases = self.plan["officer_cases"].get(agency) or self.plan["open_ids"]
        name = "officer: case"
        status, _ = await self._get(
            conn, "agency_officer", token, name, f"/api/v1/cases/{self.rng.choice(cases)}"
        )
        return name, status

    async def start(self, conn: Connection) -> tuple[str, int]:
        agency, token = self._officer()
        queue = self.dispatched.get(agency) or []
        if not queue:
            return await self.work_list(conn)
        case_id, version = queue.pop()
        name = "officer: start"
        return name, await self._transition(
            conn, token, case_id, version, "start", name, "agency_officer"
        )

    async def resolve(self, conn: Connection) -> tuple[str, int]:
        x, y = self.rng.choice(self.plan["points"])
        status, _ = await conn.request(
            "GET", f"/api/v1/resolve?lon={x:.7f}&lat={y:.7f}&crs=wgs84", {}
        )
        return RESOLVE, status


OPS = {
    "map: changes since cursor": "poll",
    "dispatcher: listing": "listing",
    "dispatcher: case": "case",
    "dispatcher: accept": "accept",
    "resident: report": "report",
    "resident: track": "track",
    "officer: work list": "work_list",
    "officer: tasks": "tasks",
    "officer: case": "officer_case",
    "officer: start": "start",
    RESOLVE: "resolve",
}


def multipart(fields: dict[str, str], photo: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with ``fields`` and one JPEG under ``photos``."""
    boundary = uuid.uuid4().hex
    out = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    out.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; '
        f'filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        + photo
        + b"\r\n"
    )
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


@dataclass
class Samples:
    """Every answer of one run: (seconds since the start, name, ms, status; 0 = no answer)."""

    rows: list[tuple[float, str, float, int]] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu_s: float = 0.0
    late_sends: int = 0


def _host(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def _timed(
    scenario: Scenario, name: str, conn: Connection, start: float, due: float, out: Samples
) -> None:
    try:
        got, status = await asyncio.wait_for(scenario.run(name, conn), timeout=15)
    except (HttpError, OSError, TimeoutError):
        conn.close()
        got, status = name, 0
    out.rows.append((due - start, got, 1000 * (time.perf_counter() - due), status))


async def closed_loop(
    url: str, scenario: Scenario, clients: int, seconds: float, only: str | None = None
) -> Samples:
    """``clients`` users, each sending its next request when the last answer came (no think
    time): the mix (or ``only`` one operation) at the rate the server gives."""
    host, port = _host(url)
    out = Samples()
    cpu0, start = time.process_time(), time.perf_counter()
    stop = start + seconds

    async def user() -> None:
        conn = Connection(host, port)
        while time.perf_counter() < stop:
            await _timed(scenario, only or scenario.pick(), conn, start, time.perf_counter(), out)
        conn.close()

    await asyncio.gather(*(user() for _ in range(clients)))
    out.seconds = time.perf_counter() - start
    out.client_cpu_s = time.process_time() - cpu0
    return out


async def open_loop(
    url: str, scenario: Scenario, rate: float, seconds: float, limit: int = 512
) -> Samples:
    """The mix sent at ``rate`` a second whatever the server does (arrivals evenly spaced,
    operations drawn by share); each answer timed from when its request was due, so a
    server that falls behind is not hidden (no coordinated omission)."""
    host, port = _host(url)
    idle: list[Connection] = []
    in_flight = 0
    out = Samples()
    cpu0, start = time.process_time(), time.perf_counter()

    async def one(name: str, due: float) -> None:
        nonlocal in_flight
        in_flight += 1
        conn = idle.pop() if idle else Connection(host, port)
        await _timed(scenario, name, conn, start, due, out)
        idle.append(conn)
        in_flight -= 1

    tasks = []
    n = int(rate * seconds)
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            out.late_sends += 1
        if in_flight >= limit:  # the server holds `limit` requests: count it
            out.rows.append((due - start, "not sent (client limit)", 0.0, 0))
            continue
        tasks.append(asyncio.create_task(one(scenario.pick(), due)))
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()
    out.seconds = max(seconds, time.perf_counter() - start)
    out.client_cpu_s = time.process_time() - cpu0
    return out


async def open_maps(url: str, scenario: Scenario, n: int) -> Samples:
    """Open ``n`` maps (the full feed each), four at a time; their latencies."""
    host, port = _host(url)
    out = Samples()
    start = time.perf_counter()
    sem = asyncio.Semaphore(4)

    async def one() -> None:
        async with sem:
            conn = Connection(host, port)
            due = time.perf_counter()
            try:
                name, status = await scenario.open_map(conn)
            except (HttpError, OSError):
                name, status = FULL, 0
            out.rows.append((due - start, name, 1000 * (time.perf_counter() - due), status))
            conn.close()

    await asyncio.gather(*(one() for _ in range(n)))
    out.seconds = time.perf_counter() - start
    return out
