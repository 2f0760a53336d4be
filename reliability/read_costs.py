"""What each read of the dispatch centre's mix costs, one call at a time, in-process.

``python -m reliability.read_costs`` sends the requests :mod:`reliability.mix` sends for the
map's changes since its cursor, the dispatcher's listing and case, the resident's tracking and
the officer's case (and, for comparison, the officer's work list) to the app in this process
(``httpx`` over ASGI: every middleware, dependency and thread hop of ``shudi serve``, no
socket), ``N`` calls each, best of three rounds, and prints per call: the time, the statements
sent to PostgreSQL and the time spent waiting for them, and the CPU time of this process (the
app, and the client: ``GET /healthz`` shows what the client and the middleware cost alone) and
of the PostgreSQL backends serving it. On a busy machine the CPU times are the figures to
compare: waiting for a core inflates the times, not the CPU.

The database: ``--database NAME`` (one on the service's cluster, seeded as below and left
there; its plan is kept beside it) or a scratch database seeded with
:func:`benchmarks.intake.seed_cases` (``--stored``, 200,000 as the load run) and dropped
afterwards. The map's cursor is taken, then ``--changes`` cases accepted through the API (the
writes of about 2 s of the mix at its target rate), so every poll answers those changes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psutil
from sqlalchemy import Engine, event, make_url

FLOOR = "floor: GET /healthz"
OPS = (
    FLOOR,
    "map: changes since cursor",
    "dispatcher: listing",
    "dispatcher: case",
    "resident: track",
    "officer: case",
    "officer: work list",
)


class StatementMeter:
    """Counts the statements an engine sends and the time spent waiting for their answers;
    knows the PostgreSQL backends of its connections (their CPU: :meth:`backend_cpu_s`)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.wait_s = 0.0
        self.log: list[str] | None = None
        self.backends: set[int] = set()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "connect", self._connect)

    def _connect(self, dbapi_conn: Any, record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.backends.add(int(cur.fetchone()[0]))
        dbapi_conn.rollback()  # no transaction left open for the pool's first user

    def backend_cpu_s(self) -> float:
        total = 0.0
        for pid in list(self.backends):
            try:
                t = psutil.Process(pid).cpu_times()
            except psutil.Error:  # gone, or on another machine
                continue
            total += t.user + t.system
        return total

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["read_costs_t0"] = time.perf_counter()
        if self.log is not None:
            self.log.append(" ".join(statement.split())[:160])

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.count += 1
        self.wait_s += time.perf_counter() - conn.info.pop("read_costs_t0", time.perf_counter())


def requests(plan: dict[str, Any], op: str, n: int, cursor: str) -> list[tuple[str, str]]:
    """``n`` requests (path, bearer token) of ``op``, drawn as :mod:`reliability.mix` draws
    them (a fixed seed: every round sends the same)."""
    rng = random.Random(op)
    dispatchers = plan["tokens"]["dispatcher"]
    officers = plan["tokens"]["officer"]
    out = []
    for _ in range(n):
        if op == FLOOR:
            out.append(("/healthz", ""))
        elif op == "map: changes since cursor":
            out.append(
                ("/api/v1/cases/feed?" + urlencode({"since": cursor}), rng.choice(dispatchers))
            )
        elif op == "dispatcher: listing":
            params: dict[str, Any] = {"limit": 50, "order": rng.choice(("newest", "due"))}
            for key, values in plan["filters"].items():
                if rng.random() < 0.4:
                    params[key] = rng.choice(values)
            out.append(("/api/v1/cases?" + urlencode(params), rng.choice(dispatchers)))
        elif op == "dispatcher: case":
            out.append((f"/api/v1/cases/{rng.choice(plan['open_ids'])}", rng.choice(dispatchers)))
        elif op == "resident: track":
            out.append((f"/api/v1/track/{rng.choice(plan['codes'])}", ""))
        elif op == "officer: case":
            agency, token = rng.choice(officers)
            cases = plan["officer_cases"].get(agency) or plan["open_ids"]
            out.append((f"/api/v1/cases/{rng.choice(cases)}", token))
        elif op == "officer: work list":
            _, token = rng.choice(officers)
            params = {"limit": 50, "order": "due"}
            if rng.random() < 0.5:
                params["status"] = rng.choice(("dispatched", "in_progress"))
            out.append(("/api/v1/cases?" + urlencode(params), token))
    return out


async def _measure(
    client: httpx.AsyncClient,
    meter: StatementMeter,
    plan: dict[str, Any],
    cursor: str,
    n: int,
    rounds: int,
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for op in OPS:
        calls = requests(plan, op, n, cursor)
        best: dict[str, float] | None = None
        for _ in range(rounds):
            meter.count, meter.wait_s = 0, 0.0
            size = 0
            cpu0, pg0 = time.process_time(), meter.backend_cpu_s()
            t0 = time.perf_counter()
            for path, token in calls:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                answer = await client.get(path, headers=headers)
                if answer.status_code != 200:
                    raise RuntimeError(f"{op}: {path} answered {answer.status_code}")
                size += len(answer.content)
            ms = 1000 * (time.perf_counter() - t0) / n
            got = {
                "ms": ms,
                "cpu_ms": 1000 * (time.process_time() - cpu0) / n,
                "pg_cpu_ms": 1000 * (meter.backend_cpu_s() - pg0) / n,
                "db_ms": 1000 * meter.wait_s / n,
                "statements": meter.count / n,
                "bytes": size / n,
            }
            cost = got["cpu_ms"] + got["pg_cpu_ms"]
            if best is None or cost < best["cpu_ms"] + best["pg_cpu_ms"]:
                best = got
        assert best is not None
        out[op] = best
    return out


async def _prepare(client: httpx.AsyncClient, plan: dict[str, Any], changes: int) -> str:
    """The map's cursor, then ``changes`` cases accepted after it (their rows are the answer
    of every poll)."""
    token = plan["tokens"]["dispatcher"][0]
    headers = {"Authorization": f"Bearer {token}"}
    cursor = (await client.get("/api/v1/cases/feed", headers=headers)).json()["now"]
    for case_id, _ in plan["reported"][:changes]:
        case = await client.get(f"/api/v1/cases/{case_id}", headers=headers)
        answer = await client.post(
            f"/api/v1/cases/{case_id}/transitions",
            json={"action": "accept", "note": "read costs"},
            headers=headers | {"If-Match": case.headers["etag"]},
        )
        if answer.status_code != 200:
            raise RuntimeError(f"accept {case_id}: {answer.status_code} {answer.text[:200]}")
    del plan["reported"][:changes]
    return str(cursor)


def measure(url: str, plan: dict[str, Any], n: int, rounds: int, changes: int) -> dict[str, Any]:
    """Per-call figures of every operation of :data:`OPS` against the database at ``url``."""
    os.environ["SHUDI_DATABASE_URL"] = url
    from api.app import create_app
    from shudi.database import get_engine
    from shudi.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()
    meter = StatementMeter(get_engine())

    async def run() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            cursor = await _prepare(client, plan, changes)
            meter.log = []
            for op in OPS:  # warm every path once, and list what each request runs
                path, token = requests(plan, op, 1, cursor)[0]
                start = len(meter.log)
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                await client.get(path, headers=headers)
                print(f"\n{op}: GET {path}")
                for line in meter.log[start:]:
                    print(f"    {line}")
            meter.log = None
            return await _measure(client, meter, plan, cursor, n, rounds)

    return asyncio.run(run())


@contextmanager
def database(name: str | None, stored: int, workdir: Path) -> Iterator[tuple[str, dict]]:
    """The database to measure and its plan (made when missing)."""
    from benchmarks.common import database_url
    from benchmarks.intake import load_district, scratch_database, seed_cases
    from reliability.load import make_plan
    from shudi.database import make_engine

    def ready(url: str, plan_file: Path | None) -> dict[str, Any]:
        if plan_file is not None and plan_file.exists():
            return dict(json.loads(plan_file.read_text()))
        engine = make_engine(url)
        try:
            load_district(engine)
            print(seed_cases(engine, stored), flush=True)
            plan = make_plan(engine)
        finally:
            engine.dispose()
        if plan_file is not None:
            plan_file.write_text(json.dumps(plan))
        return plan

    if name:
        url = make_url(database_url()).set(database=name).render_as_string(hide_password=False)
        yield url, ready(url, workdir / f"read-costs-{name}.json")
        return
    with scratch_database(database_url()) as url:
        yield url, ready(url, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="an existing seeded database on the cluster")
    parser.add_argument("--stored", type=int, default=200_000)
    parser.add_argument("-n", type=int, default=200, help="calls per operation and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--changes", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(os.environ.get("SHUDI_HOME", "var"))
    with database(args.database, args.stored, workdir) as (url, plan):
        figures = measure(url, plan, args.n, args.rounds, args.changes)
        if args.database:  # the accepted cases are no longer to accept
            (workdir / f"read-costs-{args.database}.json").write_text(json.dumps(plan))
    load = os.getloadavg()[0]
    print(f"\nper call, the round of least CPU of {args.rounds} × {args.n} (load {load:.2f})")
    print("ms: wall time; cpu: this process (app + client); pg cpu: its PostgreSQL backends")
    print(
        f"{'operation':28} {'ms':>7} {'db wait':>7} {'cpu':>7} {'pg cpu':>7} {'stmts':>6} "
        f"{'bytes':>8}"
    )
    for op, f in figures.items():
        print(
            f"{op:28} {f['ms']:7.2f} {f['db_ms']:7.2f} {f['cpu_ms']:7.2f} {f['pg_cpu_ms']:7.2f} "
            f"{f['statements']:6.1f} {f['bytes']:8.0f}"
        )


if __name__ == "__main__":
    main()
