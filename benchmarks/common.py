"""What the benchmarks share: results, the database, the district's extent, servers, the machine."""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import numpy as np
import psutil
from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

#: Which way a figure is better: ``max`` = a ceiling (latency, time), ``min`` = a floor (rate).
Kind = Literal["max", "min", "info"]


@dataclass
class Result:
    """One measured figure with its target and the baseline it is compared with.

    ``target_ratio`` set: the target is on value ÷ baseline (e.g. ≥ 0.5× the baseline's
    throughput); otherwise ``target`` is on the value itself.
    """

    name: str
    value: float
    unit: str
    kind: Kind = "info"
    target: float | None = None
    target_ratio: float | None = None
    baseline: float | None = None
    baseline_name: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """value ÷ baseline."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def passed(self) -> bool | None:
        """True/False against the target, None when the figure has no target."""
        if self.kind == "info":
            return None
        if self.target_ratio is not None:
            ratio = self.ratio
            if ratio is None:
                return False
            return ratio >= self.target_ratio if self.kind == "min" else ratio <= self.target_ratio
        if self.target is None:
            return None
        return self.value >= self.target if self.kind == "min" else self.value <= self.target

    @property
    def status(self) -> str:
        return {True: "PASS", False: "FAIL", None: "info"}[self.passed]

    def target_text(self) -> str:
        sign = "≥" if self.kind == "min" else "≤"
        if self.target_ratio is not None:
            if self.baseline:
                absolute = fmt(self.target_ratio * self.baseline)
                return f"{sign} {self.target_ratio:g}× baseline (= {absolute} {self.unit})"
            return f"{sign} {self.target_ratio:g}× baseline"
        if self.target is not None:
            return f"{sign} {fmt(self.target)} {self.unit}"
        return "—"

    def line(self) -> str:
        """One line of the console summary."""
        base = f"{fmt(self.baseline)} {self.unit} ({self.baseline_name})" if self.baseline else "—"
        ratio = fmt_ratio(self.ratio)
        return (
            f"[{self.status:4}] {self.name}: {fmt(self.value)} {self.unit} | target "
            f"{self.target_text()} | baseline {base} | ratio {ratio}"
        )


@dataclass
class Section:
    """The results of one benchmark, the commands it ran and notes on how it measured."""

    title: str
    results: list[Result] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: (caption, language, text) blocks the docs show verbatim, e.g. the wrk script.
    code: list[tuple[str, str, str]] = field(default_factory=list)


def shown(argv: list[str]) -> str:
    """A command line as the docs show it: paths relative to the repository root."""
    return " ".join(argv).replace(f"{ROOT}/", "")


def fmt_ratio(ratio: float | None) -> str:
    """value ÷ baseline, with enough digits to tell small ratios apart."""
    if ratio is None:
        return "—"
    return f"{ratio:.3f}×" if ratio < 0.1 else f"{ratio:.2f}×"


def fmt(value: float | None) -> str:
    """A figure with sensible digits: 12,345 / 123 / 12.3 / 1.23."""
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the database -------------------------------------------------------------------------


def database_url() -> str:
    """The service's database URL (embedded cluster under $SHUDI_HOME, or SHUDI_DATABASE_URL)."""
    os.environ.setdefault("SHUDI_HOME", str(ROOT / "var"))
    from shudi.database import database_url as shudi_url

    return shudi_url(owner=True)  # scratch databases are made by the owner


def bench_engine() -> Engine:
    """A plain engine for the benchmark's own queries."""
    return create_engine(database_url(), pool_size=3, max_overflow=0)


#: Session advisory lock key serialising benchmark runs on one database ("shudiben").
LOCK_KEY = 0x73687564696265


@contextmanager
def exclusive_run(engine: Engine) -> Iterator[None]:
    """Hold an advisory lock for the block, so that two benchmark runs on one database wait
    for each other instead of dropping each other's ``bench_points`` and sharing the CPU."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        lock = text("SELECT pg_try_advisory_lock(:k)")
        if not conn.execute(lock, {"k": LOCK_KEY}).scalar_one():
            log("another benchmark run holds the lock: waiting for it to finish")
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})


class StatementTimer:
    """Wall time per SQL statement (by its first line) that an engine runs inside the block.

    Hooks SQLAlchemy's cursor events, so the application's own statements are timed as they
    are, without copying its SQL.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.totals: dict[str, list[float]] = {}
        self._started: list[float] = []

    def _before(self, *_args: object, **_kw: object) -> None:
        self._started.append(time.perf_counter())

    def _after(
        self, _conn: object, _cursor: object, statement: str, *_a: object, **_kw: object
    ) -> None:
        elapsed = time.perf_counter() - self._started.pop()
        first = next((ln.strip() for ln in statement.splitlines() if ln.strip()), "")
        entry = self.totals.setdefault(first[:70], [0.0, 0.0])
        entry[0] += 1
        entry[1] += elapsed

    def __enter__(self) -> StatementTimer:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def lines(self, total_s: float) -> list[str]:
        """``label: n× t s (share)`` per statement, slowest first, plus what SQL left over."""
        out = []
        spent = 0.0
        for label, (count, secs) in sorted(self.totals.items(), key=lambda kv: -kv[1][1]):
            spent += secs
            out.append(f"`{label}` — {count:.0f}×, {secs * 1000:,.0f} ms ({secs / total_s:.0%})")
        out.append(
            f"Python and other work, no SQL — {(total_s - spent) * 1000:,.0f} ms "
            f"({(total_s - spent) / total_s:.0%})"
        )
        return out


@dataclass(frozen=True)
class BBox:
    xmin: float
    ymin: float
    xmax: float
    ymax: float

    def random_points(self, n: int, seed: int) -> np.ndarray:
        """``n`` uniform random (lon, lat) rows inside the box, rounded to 1e-7°."""
        rng = np.random.default_rng(seed)
        xs = rng.uniform(self.xmin, self.xmax, n)
        ys = rng.uniform(self.ymin, self.ymax, n)
        return np.column_stack([xs, ys]).round(7)


def district_bbox(engine: Engine) -> BBox:
    """The extent of the active towns: the area the random points are drawn from."""
    with engine.connect() as conn:
        row = conn.execute(
            text("""
            SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
              SELECT ST_Extent(b.geom) AS e FROM boundary b
              JOIN generation_period p ON p.generation_id = b.generation_id
              WHERE p.valid_to IS NULL AND b.layer = 'town') s""")
        ).one()
    if row[0] is None:
        raise SystemExit("no active towns: run `shudi demo` first")
    return BBox(*(float(v) for v in row))


# --- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running HTTP server this benchmark started."""

    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)


#: The servers measured run without the scheduled 督办 reminders (``SHUDI_NOTIFY_REMIND_EVERY_S``
#: = 0): the seeded cases' deadlines lie in the past, so the first round of the loop would tell
#: every unit of thousands of them at once, in the middle of whatever is being measured (seen:
#: 11,200 reminders and their messages in the live group's idle window). The sender still runs.
SERVER_ENV = {"SHUDI_NOTIFY_REMIND_EVERY_S": "0"}


@contextmanager
def server(name: str, argv: list[str], port: int, log_path: Path) -> Iterator[Server]:
    """Run one HTTP server until the block ends; yields it once /healthz answers."""
    log(f"starting {name}: {' '.join(argv)}")
    env = os.environ | {k: os.environ.get(k, v) for k, v in SERVER_ENV.items()}
    with log_path.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {log_path}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer within 60 s; see {log_path}")
            time.sleep(0.2)
        yield Server(url=base, pid=proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def app_argv(port: int | str) -> list[str]:
    """The service as deployed: ``shudi serve`` with one worker."""
    return [
        str(BIN / "shudi"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def baseline_argv(port: int | str) -> list[str]:
    """The one-query baseline app under the same uvicorn settings as ``shudi serve``."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks.baseline_app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "info",
    ]


# --- the machine --------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return 0.0


def code_version() -> str:
    """The commit measured, and which tracked files differed from it (read-only git calls)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    changed = [line[3:] for line in status if line.strip()]
    if not changed:
        return f"{head} (clean)"
    return f"{head} with uncommitted changes to {', '.join(changed)}"


def machine(engine: Engine) -> dict[str, str]:
    """What the figures were measured on."""
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar_one()
        postgis = conn.execute(text("SELECT postgis_full_version()")).scalar_one()
        settings = {
            name: conn.execute(text(f"SHOW {name}")).scalar_one()
            for name in ("shared_buffers", "work_mem", "jit", "fsync", "synchronous_commit")
        }
    import fastapi
    import shapely
    import uvicorn

    return {
        "code measured": code_version(),
        "CPU": _cpu_model(),
        "cores (usable)": f"{len(os.sched_getaffinity(0))} of {os.cpu_count()}",
        "RAM": f"{_ram_gib():.1f} GiB",
        "load average at start (1/5/15 min)": " / ".join(f"{v:.2f}" for v in os.getloadavg()),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PostgreSQL": str(pg),
        "PostGIS": str(postgis),
        "PostgreSQL settings": ", ".join(f"{k}={v}" for k, v in settings.items()),
        "server stack": f"uvicorn {uvicorn.__version__}, FastAPI {fastapi.__version__}",
        "shapely": f"{shapely.__version__} (GEOS {shapely.geos_version_string})",
    }


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """``env`` set in this process's environment inside the block (servers started inside
    inherit it), the previous values back after it."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
