"""Load generators for the single-point benchmark.

* :func:`wrk_closed_loop` — Debian's ``wrk`` with a Lua script drawing random points: N
  connections, each sending its next request when the last answer arrived (throughput).
* :func:`open_loop` — a small asyncio HTTP/1.1 client that sends at a fixed rate whatever the
  server does (Debian's wrk has no ``-R``; wrk2 is not packaged) and times every request from
  the moment it was *due*, so a stalled server is not hidden (no coordinated omission).
* :func:`python_closed_loop` — the same client in closed-loop mode, used only when wrk cannot be
  installed.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from benchmarks.common import ROOT, BBox, log

LUA = """\
local xmin, ymin, xmax, ymax = {xmin!r}, {ymin!r}, {xmax!r}, {ymax!r}
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("seed", {seed} + counter)
end
init = function(args)
  math.randomseed(seed)
end
request = function()
  local lon = xmin + math.random() * (xmax - xmin)
  local lat = ymin + math.random() * (ymax - ymin)
  return wrk.format("GET", string.format("{path}?lon=%.7f&lat=%.7f&crs=wgs84", lon, lat))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(99), latency.mean))
end
"""


@dataclass
class LoadResult:
    """What one load run measured; latencies in milliseconds."""

    requests: int
    seconds: float
    non_2xx: int
    errors: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float = 0.0
    client_cpu_s: float = 0.0
    late_sends: int = 0
    server_cpu_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_ms_per_request(self) -> float:
        """Server-process CPU per request (0 when not measured)."""
        return 1000 * self.server_cpu_s / self.requests if self.requests else 0.0


def merge(runs: list[LoadResult]) -> LoadResult:
    """Several open-loop runs as one: percentiles over all their samples."""
    lat = np.concatenate([np.asarray(r.latencies_ms) for r in runs])
    return LoadResult(
        requests=sum(r.requests for r in runs),
        seconds=sum(r.seconds for r in runs),
        non_2xx=sum(r.non_2xx for r in runs),
        errors=sum(r.errors for r in runs),
        p50_ms=float(np.percentile(lat, 50)),
        p99_ms=float(np.percentile(lat, 99)),
        mean_ms=float(lat.mean()),
        max_ms=float(lat.max()),
        client_cpu_s=sum(r.client_cpu_s for r in runs),
        late_sends=sum(r.late_sends for r in runs),
        server_cpu_s=sum(r.server_cpu_s for r in runs),
        latencies_ms=lat.tolist(),
    )


def ensure_wrk() -> str | None:
    """The path of wrk, installing Debian's package when missing; None when it cannot."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk missing: running benchmarks/install_wrk.sh")
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "install_wrk.sh")], check=False)
    return shutil.which("wrk") if proc.returncode == 0 else None


def wrk_command(wrk: str, url: str, script: Path, connections: int, seconds: int) -> list[str]:
    return [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]


def write_lua(bbox: BBox, path: str, seed: int, directory: Path) -> Path:
    """The wrk script requesting ``path`` at random points of ``bbox``."""
    script = directory / "random_points.lua"
    script.write_text(
        LUA.format(
            xmin=bbox.xmin, ymin=bbox.ymin, xmax=bbox.xmax, ymax=bbox.ymax, seed=seed, path=path
        )
    )
    return script


def wrk_closed_loop(wrk: str, url: str, script: Path, connections: int, seconds: int) -> LoadResult:
    """Run wrk once and parse the RESULT line its script prints."""
    argv = wrk_command(wrk, url, script, connections, seconds)
    out = subprocess.run(
        argv, check=True, capture_output=True, text=True, timeout=seconds + 60
    ).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no RESULT line:\n{out}")
    req, dur_us, status, errs, p50, p99, mean = (int(float(v)) for v in line.split()[1:])
    return LoadResult(
        requests=req,
        seconds=dur_us / 1e6,
        non_2xx=status,
        errors=errs,
        p50_ms=p50 / 1000,
        p99_ms=p99 / 1000,
        mean_ms=mean / 1000,
    )


# --- the asyncio client ---------------------------------------------------------------------


def request_paths(path: str, points: np.ndarray) -> list[bytes]:
    """Raw HTTP/1.1 GET requests for each (lon, lat) row, keep-alive."""
    return [
        (
            f"GET {path}?lon={x:.7f}&lat={y:.7f}&crs=wgs84 HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\nUser-Agent: shudi-bench\r\n\r\n"
        ).encode()
        for x, y in points
    ]


class _Pool:
    """Keep-alive connections to one host, opened on demand up to ``limit``."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.opened = 0

    async def get(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.idle.empty() and self.opened < self.limit:
            self.opened += 1
            return await asyncio.open_connection(self.host, self.port)
        return await self.idle.get()

    async def close(self) -> None:
        while not self.idle.empty():
            _, writer = self.idle.get_nowait()
            writer.close()


async def _exchange(pool: _Pool, raw: bytes) -> int:
    """Send one request on a pooled connection and read the whole answer; the status code."""
    reader, writer = await pool.get()
    try:
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await reader.readexactly(length)
    except BaseException:
        writer.close()  # a half-read connection is not reusable: let the pool open another
        pool.opened -= 1
        raise
    pool.idle.put_nowait((reader, writer))
    return status


def _summary(
    latencies: list[float], statuses: list[int], seconds: float, cpu: float, late: int
) -> LoadResult:
    lat = np.asarray(latencies) * 1000
    bad = sum(1 for s in statuses if not 200 <= s < 300)
    return LoadResult(
        requests=len(lat),
        seconds=seconds,
        non_2xx=bad,
        errors=sum(1 for s in statuses if s < 0),
        p50_ms=float(np.percentile(lat, 50)),
        p99_ms=float(np.percentile(lat, 99)),
        mean_ms=float(lat.mean()),
        max_ms=float(lat.max()),
        client_cpu_s=cpu,
        late_sends=late,
        latencies_ms=lat.tolist(),
    )


async def _open_loop(url: str, requests: list[bytes], rate: float, limit: int) -> LoadResult:
    parts = urlsplit(url)
    pool = _Pool(parts.hostname or "127.0.0.1", parts.port or 80, limit)
    for _ in range(min(8, limit)):  # connections opened before the clock starts
        pool.idle.put_nowait(await asyncio.open_connection(pool.host, pool.port))
        pool.opened += 1
    latencies: list[float] = []
    statuses: list[int] = []
    late = 0

    async def one(raw: bytes, due: float) -> None:
        try:
            status = await asyncio.wait_for(_exchange(pool, raw), timeout=10)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            status = -1
        latencies.append(time.perf_counter() - due)
        statuses.append(status)

    cpu0, start = time.process_time(), time.perf_counter()
    tasks = []
    for i, raw in enumerate(requests):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.001:
            late += 1
        tasks.append(asyncio.create_task(one(raw, due)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - start
    await pool.close()
    return _summary(latencies, statuses, seconds, time.process_time() - cpu0, late)


def open_loop(url: str, path: str, points: np.ndarray, rate: float, limit: int = 64) -> LoadResult:
    """Send one GET per point at ``rate`` per second, regardless of answers (open loop)."""
    return asyncio.run(_open_loop(url, request_paths(path, points), rate, limit))


def open_loop_paths(url: str, paths: list[str], rate: float, limit: int = 64) -> LoadResult:
    """Send one GET per path (already URL-encoded) at ``rate`` per second (open loop)."""
    raw = [
        f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: shudi-bench\r\n\r\n".encode()
        for p in paths
    ]
    return asyncio.run(_open_loop(url, raw, rate, limit))


async def _closed_loop(
    url: str, requests: list[bytes], connections: int, seconds: float
) -> LoadResult:
    parts = urlsplit(url)
    pool = _Pool(parts.hostname or "127.0.0.1", parts.port or 80, connections)
    latencies: list[float] = []
    statuses: list[int] = []
    cpu0, start = time.process_time(), time.perf_counter()
    stop = start + seconds

    async def client(k: int) -> None:
        i = k
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            statuses.append(await _exchange(pool, requests[i % len(requests)]))
            latencies.append(time.perf_counter() - t0)
            i += connections

    await asyncio.gather(*(client(k) for k in range(connections)))
    elapsed = time.perf_counter() - start
    await pool.close()
    return _summary(latencies, statuses, elapsed, time.process_time() - cpu0, 0)


def python_closed_loop(
    url: str, path: str, points: np.ndarray, connections: int, seconds: float
) -> LoadResult:
    """Fallback throughput client when wrk is unavailable (costs more CPU than wrk)."""
    return asyncio.run(_closed_loop(url, request_paths(path, points), connections, seconds))


def lua_dir() -> Path:
    """A scratch folder for the generated wrk script."""
    return Path(tempfile.mkdtemp(prefix="shudi-bench-"))
