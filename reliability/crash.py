"""Crashing PostgreSQL under a burst of reports, shared by ``reliability.fault`` (10,000 reports,
figures for docs/reliability.md) and ``tests/reliability/test_kill9.py`` (a small burst, asserted).

* :func:`own_cluster` — a PostgreSQL cluster of the caller's own in a temporary folder, so the
  crash never touches anyone else's database.
* :func:`kill9` — SIGKILL the postmaster and every backend at once (a power cut, as far as the
  database can tell).
* :class:`Burst` — threads posting reports, each with its own ``Idempotency-Key``, recording
  what every request answered, and how fast.
* :func:`stored_reports` / :func:`missing` — what the database holds after the restart, and which
  acknowledged reports it lacks (or holds wrongly, or holds with an unsealed phone number).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import Row, create_engine, text

from shudi import embedded
from shudi.pii import Cipher

PHONE = "13912345678"
CLIENT_TIMEOUT_S = 10.0
BACKOFF_S = 0.1  # a client pausing after a failed request (the server says Retry-After)


@contextmanager
def own_cluster(prefix: str, db_name: str) -> Iterator[embedded.Cluster]:
    """A started cluster under a fresh folder in /tmp, stopped and removed afterwards."""
    # pytest's tmp folders (/tmp/pytest-of-root) are mode 700: unreachable for `postgres`.
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    base.chmod(0o755)
    cl = embedded.Cluster(root=base / "pg", db_name=db_name)
    try:
        embedded.start(cl)
        yield cl
    finally:
        try:
            embedded.stop(cl)
        finally:
            shutil.rmtree(base, ignore_errors=True)


def durability(url: str) -> tuple[str, str]:
    """(synchronous_commit, fsync) of the database at ``url``."""
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            sync = conn.execute(text("SHOW synchronous_commit")).scalar_one()
            fsync = conn.execute(text("SHOW fsync")).scalar_one()
    finally:
        eng.dispose()
    return str(sync), str(fsync)


def kill9(cluster: embedded.Cluster) -> tuple[int, float]:
    """SIGKILL the cluster's postmaster and every child of it: how many, and when the last
    signal was sent (reaping the dead can take a second more; the kill has landed by then).

    The postmaster is stopped (SIGSTOP) first so that it cannot fork a backend between listing
    its children and killing them; then each gets SIGKILL, which a stopped process obeys too.
    """
    pid = int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])
    master = psutil.Process(pid)
    if str(cluster.data_dir) not in " ".join(master.cmdline()):
        raise RuntimeError(f"pid {pid} is not the postmaster of {cluster.data_dir}")
    master.suspend()
    deadline = time.monotonic() + 5
    while master.status() != psutil.STATUS_STOPPED and time.monotonic() < deadline:
        time.sleep(0.001)
    procs = [master, *master.children(recursive=True)]
    for p in procs:
        p.kill()
    signalled = time.monotonic()
    _gone, alive = psutil.wait_procs(procs, timeout=10)
    if alive:
        raise RuntimeError(f"still alive after SIGKILL: {alive}")
    return len(procs), signalled


@dataclass
class Attempt:
    """One report request of a burst and what came of it."""

    n: int
    key: str
    description: str
    started: float
    ended: float = 0.0
    outcome: str = ""  # the HTTP status, or the client-side exception's name
    retry_after: str | None = None
    body: dict[str, Any] | None = None

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def post_report(
    client: httpx.Client, a: Attempt, type_code: str, where: tuple[float, float]
) -> httpx.Response:
    """POST the report of attempt ``a`` (its key, description and a contact name of its own)."""
    return client.post(
        "/api/v1/reports",
        json={
            "lon": where[0],
            "lat": where[1],
            "type": type_code,
            "description": a.description,
            "phone": PHONE,
            "contact_name": f"{a.key}-name",
        },
        headers={"Idempotency-Key": a.key},
    )


@dataclass
class Burst:
    """``threads`` clients posting up to ``total`` reports (until ``seconds``, when given), each
    pausing :data:`BACKOFF_S` after a failure; :meth:`start`, then :meth:`join`."""

    base: str
    type_code: str
    where: tuple[float, float]
    tag: str
    total: int
    threads: int = 8
    seconds: float | None = None
    attempts: list[Attempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = iter(range(self.total))
        self._workers = [
            threading.Thread(target=self._work, daemon=True) for _ in range(self.threads)
        ]
        self.t_start = 0.0

    @property
    def prefix(self) -> str:
        """What every description of this burst starts with (to find its cases with LIKE)."""
        return f"burst {self.tag} report #"

    def attempt(self, n: int) -> Attempt:
        return Attempt(
            n=n,
            key=f"burst-{self.tag}-{n}",
            description=f"{self.prefix}{n}",
            started=time.monotonic(),
        )

    def send(self, client: httpx.Client, a: Attempt) -> None:
        """Post ``a`` once and record the outcome on it."""
        a.started = time.monotonic()
        try:
            r = post_report(client, a, self.type_code, self.where)
            a.outcome = str(r.status_code)
            a.retry_after = r.headers.get("retry-after")
            if r.status_code == 201:
                a.body = r.json()
        except httpx.TimeoutException as exc:
            a.outcome = f"timeout:{type(exc).__name__}"
        except httpx.TransportError as exc:
            a.outcome = type(exc).__name__
        a.ended = time.monotonic()

    def _work(self) -> None:
        stop_at = self.t_start + self.seconds if self.seconds else float("inf")
        with httpx.Client(base_url=self.base, timeout=CLIENT_TIMEOUT_S) as client:
            while time.monotonic() < stop_at:
                with self._lock:
                    n = next(self._counter, None)
                if n is None:
                    return
                a = self.attempt(n)
                self.send(client, a)
                with self._lock:
                    self.attempts.append(a)
                if a.outcome != "201":
                    time.sleep(BACKOFF_S)

    def start(self) -> None:
        self.t_start = time.monotonic()
        for t in self._workers:
            t.start()

    def acknowledged(self) -> int:
        with self._lock:
            return sum(1 for a in self.attempts if a.outcome == "201")

    def join(self, timeout: float) -> bool:
        """Wait for every client; False when one is still running after ``timeout``."""
        deadline = time.monotonic() + timeout
        for t in self._workers:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._workers)

    def retry(self, attempts: list[Attempt]) -> None:
        """Send ``attempts`` again (same keys), recording the new outcomes on them."""

        def work(chunk: list[Attempt]) -> None:
            with httpx.Client(base_url=self.base, timeout=CLIENT_TIMEOUT_S) as client:
                for a in chunk:
                    self.send(client, a)

        chunks = [attempts[k :: self.threads] for k in range(self.threads)]
        workers = [threading.Thread(target=work, args=(c,), daemon=True) for c in chunks]
        for t in workers:
            t.start()
        for t in workers:
            t.join(CLIENT_TIMEOUT_S * (len(attempts) + 1))


def probe(base: str, path: str) -> tuple[str, float, str | None]:
    """GET ``path`` once: (status or exception name, seconds, Retry-After)."""
    t0 = time.monotonic()
    try:
        r = httpx.get(f"{base}{path}", timeout=CLIENT_TIMEOUT_S)
        return str(r.status_code), time.monotonic() - t0, r.headers.get("retry-after")
    except httpx.HTTPError as exc:
        return type(exc).__name__, time.monotonic() - t0, None


def wait_healthy(base: str, limit_s: float = 30.0) -> float:
    """Seconds until ``/healthz`` answers 200 (polled every 50 ms); inf after ``limit_s``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        if probe(base, "/healthz")[0] == "200":
            return time.monotonic() - t0
        time.sleep(0.05)
    return float("inf")


def stored_reports(url: str, prefix: str) -> tuple[list[Row], dict[int, int]]:
    """The cases whose description starts with ``prefix``, with their reporter rows; and the
    number of ``report`` events per case."""
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            rows = conn.execute(
                text("""SELECT c.id, c.description, c.tracking_code, r.contact_name, r.phone,
                               r.tracking_code AS r_code
                        FROM case_file c LEFT JOIN case_reporter r ON r.case_id = c.id
                        WHERE c.description LIKE :p"""),
                {"p": f"{prefix}%"},
            ).all()
            events: dict[int, int] = {
                int(case_id): int(n)
                for case_id, n in conn.execute(
                    text("""SELECT e.case_id, count(*) FROM case_event e
                            JOIN case_file c ON c.id = e.case_id
                            WHERE e.action = 'report' AND c.description LIKE :p
                            GROUP BY e.case_id"""),
                    {"p": f"{prefix}%"},
                ).all()
            }
    finally:
        eng.dispose()
    return list(rows), events


def missing(
    acked: list[Attempt], rows: list[Row], events: dict[int, int], cipher: Cipher
) -> list[tuple[int, int, Row | None]]:
    """Acknowledged reports not stored exactly as answered: absent, another tracking code, the
    reporter missing or not sealed at rest, or not exactly one ``report`` event."""
    by_id = {row.id: row for row in rows}
    lost = []
    for a in acked:
        assert a.body is not None
        row = by_id.get(a.body["id"])
        if (
            row is None
            or row.description != a.description
            or row.tracking_code != a.body["tracking_code"]
            or row.r_code != a.body["tracking_code"]
            or PHONE in row.phone  # sealed at rest
            or cipher.open(row.contact_name, column="contact_name") != f"{a.key}-name"
            or cipher.open(row.phone, column="phone") != PHONE
            or events.get(row.id) != 1
        ):
            lost.append((a.n, int(a.body["id"]), row))
    return lost
