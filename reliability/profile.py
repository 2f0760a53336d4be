"""Where the server's time goes under the mix: py-spy on the uvicorn worker, PostgreSQL's wait
events sampled from ``pg_stat_activity``, the pool's checkout waits (``/metrics``) and the
busy threads of the thread pool (``py-spy dump``).

Called by :mod:`reliability.load` while a closed-loop mix runs; nothing here sends load.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

#: How py-spy's frames are grouped: the first pattern a stack's frames match names it.
GROUPS = (
    (
        "waiting for PostgreSQL (socket read in psycopg)",
        re.compile(r"psycopg.*(wait|execute)|_wait_conn|select \("),
    ),
    (
        "JSON encoding of answers",
        re.compile(r"orjson|json_response|_json \(|jsonable_encoder|dumps"),
    ),
    ("photo re-encoding (Pillow)", re.compile(r"PIL/|photos\.py|sanitize")),
    ("pydantic validation", re.compile(r"pydantic")),
    ("SQLAlchemy (compiling, results)", re.compile(r"sqlalchemy/")),
    ("resolve (PostGIS call set-up, placement)", re.compile(r"placement\.py|jurisdictions/")),
    ("authentication (token look-up)", re.compile(r"accounts/")),
    ("HTTP (uvicorn, starlette, h11/httptools)", re.compile(r"uvicorn/|starlette/|h11|httptools")),
    ("asyncio loop / anyio thread hand-off", re.compile(r"asyncio/|anyio/|concurrent/")),
)
OURS = re.compile(r"\((?:/[^)]*/)?(incidents|api|accounts|shudi|jurisdictions|gis|notify|abuse)/")


@dataclass
class Profile:
    """What one profiling window found."""

    seconds: float = 0.0
    spy_samples: int = 0
    groups: dict[str, float] = field(default_factory=dict)  # share of busy samples
    top_ours: list[tuple[str, float]] = field(default_factory=list)
    pg_samples: int = 0
    pg_states: dict[str, float] = field(default_factory=dict)  # mean backends in each state
    pool_waits: int = 0
    pool_wait_ms_mean: float = 0.0
    pool_wait_over_10ms: int = 0
    threads_busy_max: int = 0
    threads_busy_mean: float = 0.0
    thread_dumps: int = 0
    note: str = ""


def _pool_metrics(url: str) -> dict[str, float]:
    try:
        body = httpx.get(f"{url}/metrics", timeout=30).text
    except httpx.HTTPError:  # a jammed server: no pool figures rather than no profile
        return {}
    out: dict[str, float] = {}
    for line in body.splitlines():
        if line.startswith("shudi_db_pool_checkout_seconds_"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def _pg_sampler(engine: Engine, database: str, stop: threading.Event, into: Counter[str]) -> int:
    n = 0
    with engine.connect() as conn:
        while not stop.is_set():
            rows = conn.execute(
                text("""SELECT state, wait_event_type, wait_event FROM pg_stat_activity
                        WHERE datname = :db AND pid <> pg_backend_pid()
                          AND backend_type = 'client backend'"""),
                {"db": database},
            ).all()
            for r in rows:
                if r.state == "active":
                    key = (
                        f"active: {r.wait_event_type}/{r.wait_event}"
                        if r.wait_event
                        else ("active: on CPU")
                    )
                else:
                    key = str(r.state)
                into[key] += 1
            conn.commit()
            n += 1
            stop.wait(0.1)
    return n


def _thread_dumps(pid: int, stop: threading.Event, busy: list[int]) -> None:
    spy = shutil.which("py-spy")
    while spy and not stop.is_set():
        out = subprocess.run(
            [spy, "dump", "--pid", str(pid), "--json", "--nonblocking"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        try:
            threads = json.loads(out.stdout)
        except ValueError:
            return
        busy.append(
            sum(
                1
                for t in threads
                if "AnyIO worker" in (t.get("thread_name") or "") and not t.get("idle")
            )
        )
        stop.wait(1.0)


def _spy_groups(raw: Path, prof: Profile) -> None:
    """Fold py-spy's collapsed stacks into :data:`GROUPS` and our own hottest frames."""
    groups: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leafward = list(reversed(frames))
        for name, pattern in GROUPS:
            if any(pattern.search(f) for f in leafward[:6]):
                groups[name] += n
                break
        else:
            groups["other"] += n
        mine = next((f for f in leafward if OURS.search(f)), None)
        if mine:
            ours[re.sub(r"\(/.*?/(\w+/\w+\.py):\d+\)", r"(\1)", mine)] += n
    prof.spy_samples = total
    if total:
        prof.groups = {k: v / total for k, v in groups.most_common()}
        prof.top_ours = [(k, v / total) for k, v in ours.most_common(12)]


def start(url: str, pid: int, engine: Engine, database: str, seconds: float, workdir: Path) -> Any:
    """Start profiling for ``seconds``; call the returned function afterwards for the figures."""
    prof = Profile(seconds=seconds)
    spy = shutil.which("py-spy")
    raw = workdir / "load-pyspy.txt"
    proc = None
    if spy:
        proc = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "100",
                "--duration",
                str(int(seconds)),
                "--format",
                "raw",
                "--output",
                str(raw),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    else:
        prof.note = "py-spy is not installed: no profile of the server's Python"
    before = _pool_metrics(url)
    stop = threading.Event()
    pg: Counter[str] = Counter()
    pg_n: list[int] = []
    busy: list[int] = []
    sampler = threading.Thread(target=lambda: pg_n.append(_pg_sampler(engine, database, stop, pg)))
    dumper = threading.Thread(target=_thread_dumps, args=(pid, stop, busy))
    sampler.start()
    dumper.start()

    def finish() -> Profile:
        stop.set()
        sampler.join()
        dumper.join()
        if proc is not None:
            proc.wait(timeout=seconds + 60)
            if raw.exists():
                _spy_groups(raw, prof)
        after = _pool_metrics(url)
        count = "shudi_db_pool_checkout_seconds_count"
        total = "shudi_db_pool_checkout_seconds_sum"
        le10 = 'shudi_db_pool_checkout_seconds_bucket{le="0.01"}'
        prof.pool_waits = int(after.get(count, 0) - before.get(count, 0))
        if prof.pool_waits:
            prof.pool_wait_ms_mean = (
                1000 * (after.get(total, 0) - before.get(total, 0)) / prof.pool_waits
            )
            prof.pool_wait_over_10ms = prof.pool_waits - int(
                after.get(le10, 0) - before.get(le10, 0)
            )
        prof.pg_samples = pg_n[0] if pg_n else 0
        if prof.pg_samples:
            prof.pg_states = {k: v / prof.pg_samples for k, v in pg.most_common()}
        if busy:
            prof.thread_dumps = len(busy)
            prof.threads_busy_max = max(busy)
            prof.threads_busy_mean = sum(busy) / len(busy)
        return prof

    return finish
