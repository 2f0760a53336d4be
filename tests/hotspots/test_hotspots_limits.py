"""Hot-spot analyses are bounded: a too-large request is a quick 422, a worker's memory and
time are capped, a broken pool is rebuilt, and no worker outlives its server (issue 19)."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hotspot_cases import plant
from sqlalchemy import Connection, create_engine
from support import load_mini, type_of

from accounts.service import create_user
from hotspots import pool
from hotspots.exceptions import AnalysisTooLarge, AnalysisUnavailable
from hotspots.schemas import HotspotQuery
from hotspots.service import hotspots
from jurisdictions import catalog

PASSWORD = "correct horse battery"
URL = "/api/v1/hotspots"


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def served(module_scratch_db_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A server with one hot-spot process; yields its base URL and its process."""
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        plant(conn, type_of(conn, agency="urban_management"))
        create_user(conn, username="plan", password=PASSWORD, role="planner")
    eng.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("shudi")), "serve", "--port", str(port)],
        env=os.environ
        | {"SHUDI_DATABASE_URL": module_scratch_db_url, "SHUDI_HOTSPOT_PROCESSES": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base, proc
    proc.kill()
    proc.wait(10)


def _auth(base: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": "plan", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_the_probes_request_is_a_quick_422(served: tuple[str, subprocess.Popen[bytes]]) -> None:
    base, _ = served
    started = time.perf_counter()
    r = httpx.get(
        f"{base}{URL}",
        params={"grid": "square:50", "permutations": 9999, "k": 12},
        headers=_auth(base),
        timeout=60,
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "analysis_too_large"
    assert "cells" in r.json()["message"] and "neighbours" in r.json()["message"]
    assert time.perf_counter() - started < 5
    # each factor alone within its range, the product not: still refused
    r = httpx.get(
        f"{base}{URL}",
        params={"grid": "square:50", "permutations": 9999, "k": 1},
        headers=_auth(base),
        timeout=60,
    )
    assert r.status_code == 422 and r.json()["code"] == "analysis_too_large"


def test_permutations_are_a_few_fixed_values(served: tuple[str, subprocess.Popen[bytes]]) -> None:
    base, _ = served
    r = httpx.get(f"{base}{URL}", params={"permutations": 998}, headers=_auth(base))
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    assert "999" in r.json()["message"]


def test_worker_memory_is_capped() -> None:
    executor = pool._executor(1, 700)
    try:
        soft, _ = executor.submit(resource.getrlimit, resource.RLIMIT_AS).result(timeout=60)
        assert soft == 700 << 20
        with pytest.raises(MemoryError):  # refused inside the worker, not OOM-killed
            executor.submit(bytearray, 2 << 30).result(timeout=60)
        # the worker survived it
        assert executor.submit(abs, -3).result(timeout=60) == 3
    finally:
        pool._rebuild(executor)


def test_timeout_stops_the_analysis_and_the_pool_recovers(conn: Connection) -> None:
    load_mini(conn)
    catalog.sync_taxonomy(conn)
    plant(conn, type_of(conn, agency="urban_management"))
    query = HotspotQuery.model_validate({"method": "gi_star", "grid": "h3:10", "permutations": 999})
    try:
        with pytest.raises(AnalysisUnavailable, match="longer than"):
            hotspots(conn, query=query, min_count=3, processes=1, timeout_s=0.01, use_cache=False)
        out = hotspots(conn, query=query, min_count=3, processes=1, timeout_s=120, use_cache=False)
        assert out.answer.media_type == "application/geo+json"
    finally:
        with pool._lock:
            current = pool._pool
        if current is not None:
            pool._rebuild(current)


def test_too_large_refused_before_any_work(conn: Connection) -> None:
    load_mini(conn)
    catalog.sync_taxonomy(conn)
    plant(conn, type_of(conn, agency="urban_management"))
    query = HotspotQuery.model_validate({"grid": "square:50", "permutations": 9999, "k": 12})
    with pytest.raises(AnalysisTooLarge):
        hotspots(conn, query=query, min_count=3, processes=0, use_cache=False)


def test_a_killed_worker_costs_at_most_one_503(served: tuple[str, subprocess.Popen[bytes]]) -> None:
    base, proc = served
    auth = _auth(base)
    params = {"method": "gi_star", "grid": "h3:9", "permutations": 99}
    assert httpx.get(f"{base}{URL}", params=params, headers=auth, timeout=60).status_code == 200
    workers = _children(proc.pid)
    assert workers, "the server started no hot-spot process"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    statuses = []
    for n in (199, 499, 999):  # new parameters: computed, not from the cache
        r = httpx.get(f"{base}{URL}", params=params | {"permutations": n}, headers=auth, timeout=60)
        statuses.append(r.status_code)
    assert statuses.count(503) <= 1 and statuses[-1] == 200, statuses
    assert statuses.count(500) == 0


def test_workers_exit_when_their_server_is_killed(
    served: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, proc = served
    r = httpx.get(
        f"{base}{URL}",
        params={"method": "gi_star", "grid": "h3:8", "permutations": 99},
        headers=_auth(base),
        timeout=60,
    )
    assert r.status_code == 200, r.text
    workers = _children(proc.pid)
    assert workers
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    orphans = [p for p in workers if _alive(p)]
    for p in orphans:
        os.kill(p, signal.SIGKILL)
    assert not orphans, f"{len(orphans)} hot-spot process(es) outlived their server"
