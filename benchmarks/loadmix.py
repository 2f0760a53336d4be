"""The load mix's section of ``docs/benchmarks.md``, written from the stored load run
(``reliability/results/load.json``): the scenario, the figures against #17's targets, whether
the harness measured itself or the service, and where the server's time went.

Called by both generators (``python -m benchmarks.run`` and ``python -m reliability.run``), so
the section always shows the latest load run with its date and commit. It reads the stored
run only (the layers keep ``benchmarks`` below ``reliability``): the shares of the mix are the
run's own note.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import ROOT, fmt
from benchmarks.record import Run

LOAD_RESULT = ROOT / "reliability" / "results" / "load.json"

SCENARIO = (
    "One scenario for a dispatch centre over 200,000 stored cases (reliability/mix.py), the "
    "same shares of requests in the closed and the open loop: **dispatchers** keep the live "
    "map open — each map loads the full compact feed once (`GET /api/v1/cases/feed`), then "
    "asks for the changes since its cursor every 2 s (`?since=x:N`, the previous answer's "
    "`now`); as many maps are open as poll every 2 s at the step's rate (rate × share × 2 s), "
    "opened before the step — and they list cases (filters, 50 a page, newest first or by "
    "deadline), open a case and `accept` reported ones with `If-Match`; **residents** report "
    "(JSON; some multipart with a 640×480 JPEG) and track by code; "
    "**officers** work their lists (`GET /api/v1/cases?order=due` scoped to their agency, "
    "`GET /api/v1/tasks`, a case, `start` on a dispatched case of theirs). "
    "Bare `GET /api/v1/resolve` runs on the same server with the same client and the same 16 "
    "connections in the same run. The client is plain asyncio over keep-alive sockets (it asks "
    "for gzip, as browsers do, and unzips), in the process of `python -m reliability.run`; its "
    "own CPU is measured and shown per request beside the server's and PostgreSQL's."
)

#: What the profile of the first runs of this harness found, and what was changed (the figures
#: below them are the latest run's, not these).
FINDINGS = """\
**Client or service?** The service. The old locust mix polled the full-detail GeoJSON
(`/api/v1/cases.geojson`) rather than the map's compact feed and read its CPU figure at a
step's start; but the new client costs a few hundredths of a core (see the client CPU
figures beside the server's and PostgreSQL's in the table), and the first runs of it found
the service itself stalling:

1. **Thread pool against connection pool (the cliff).** A sync route takes its pooled
   connection in one thread-pool call (the `Conn` dependency) and runs in another. With more
   requests in flight than the pool's 20 connections, the 40 threads filled with requests
   waiting for a connection while the requests holding the connections waited for a thread:
   at 146 requests/s offered the server used 0.04 of a core, PostgreSQL 0.01, and 99 % of the
   requests ended in 503 `database_busy` after the pool's 5 s time-out or in client
   time-outs. Fixed by admission (api/admission.py): at most pool capacity − 2 requests inside
   the app at once, the rest wait in the event loop (counted in
   `shudi_admission_wait_seconds`); SSE streams, health and metrics are not counted.
2. **The live map's full load** read every stored case (a parallel sequential scan of 200,000
   wide rows for 48,000 open ones) and psycopg2 turned ~500,000 array elements into Python
   objects: 1.6–1.9 s a load at load average ≈ 13, of which the SQL was ~0.8 s. Now the
   feed is one JSON text built in PostgreSQL and parsed by orjson, read index-only from a
   partial covering index of the open cases (migration 0032, `ix_case_file_open_feed`):
   ~0.4 s in all, SQL 0.25 s, at load average ≈ 9.
3. **The dispatcher's newest-first queue** sorted every matching case (12,000 rows read from
   the heap: 0.58 s at load average ≈ 13); `ix_case_file_created_id` (0032) lets it read the
   page in index order: 15 ms.
4. **Overload**: past what the machine gives it, an open loop's queue grows without bound and
   the server went on working for clients that had given up (15 s): in the run of 21:36 UTC
   (load average 13 → 25 from other work) the step after the overload answered nothing for
   30 s. Admission now answers 503 `server_busy` (`Retry-After: 1`) to a request not admitted
   within 10 s (`shudi_admission_shed`), so the server sheds the excess and keeps answering.
5. **Where a request's time goes** (the profile of that run, at load average ≈ 25, so a lower
   bound): the thread pool held at the admission limit (19 busy threads of 40), PostgreSQL
   had on average 1.6 backends on CPU and **11.9 idle in transaction** — connections checked
   out and waiting on the app: the `Conn` dependency opens the transaction in one thread-pool
   call and the route runs in another, and one Python process (GIL) does the routes' work.
   py-spy: asyncio / thread hand-off 40 % of busy samples, SQLAlchemy 32 %, HTTP 19 %, JSON
   8 %; the map feed's Python (parsing and coding a full load) the service's hottest frame.
   Per request, the closed-loop mix cost the server ~4.3 ms and PostgreSQL ~8.4 ms of CPU,
   bare resolve 1.8 ms and 1.0 ms. Next, not done here: routes that open their connection
   inside their one thread-pool call (as the hot intake and resolve routes already do, via
   `reader_factory`/`writer_factory`) for the authenticated reads too — the token check
   shares the `Conn` dependency today.
6. **Lists' counts** (2026-12-08). Every list counts its matches for its `total`. With
   `pg_stat_statements` over a whole `load` run (all steps), the counts were about 240 s of
   PostgreSQL's 525 s — the officer's count alone 82 s (1,227 calls, 67 ms each under the
   step's load), the full map loads 146 s (before the steps, not timed in them), the pages
   themselves about 40 s, the audit sealer 18 s. Two causes: (a) the count went up to 10,001
   matches; it now stops at 1,001 (`incidents.listing.TOTAL_CAP`, the pages show "1000+" and
   keep their next page); (b) the seeded table was not marked all-visible in some runs
   (`VACUUM` right after the 200,000-row seed left 0 of 46,914 pages marked once in four
   seeds), so every index-only count read the heap row by row: per list, 10.5 ms on such a
   table against 1.6 ms on a vacuumed one (120 mixed lists, quiet machine), 3.7 against
   1.1 ms with the lower cap. A table in service is kept vacuumed by autovacuum, so the seed
   now vacuums until at least 95 % of `case_file`'s pages are all-visible (the run's notes
   say how many passes) — earlier runs of this part may have measured the unvacuumed table,
   one cause of their spread (0.32–0.39× on the same code).
7. **What is left, measured** (2026-12-08, three runs of this part within an hour, bare
   resolve then the mix in requests/s: before the changes of 6, 682 and 230; after them, 759
   and 256; after them with a 0.5 ms GIL switch interval, 680 and 226): the closed-loop
   mix costs the one server process about 3.2–3.8 ms of CPU per request and PostgreSQL
   2.6–2.9 ms, bare resolve 1.5 and 0.3 ms; the mix keeps the machine at about 1.65 of its 2
   cores, the server at 0.8 of its one (one process, one GIL: bare resolve reaches 1.0). An
   `accept` sent 12 statements (the case and its tasks read before and again after the
   change, the user looked up and then named the audit's actor, the outbox's events, the
   hotline order), a dispatcher's case view 7; each is a thread hand-off back through the GIL
   under load, which is where the writes' p50 (130–170 ms in the closed loop, 8–14 ms alone)
   goes. The token's look-up now names the actor in the same statement
   (`principal_for_token(act=True)`): 11 and 6. Tried and not kept: a shorter GIL switch
   interval (0.5 ms: 226/s, no better); orjson for psycopg2's JSON columns (0.18 ms less per
   50-row list, but it turns integers beyond 64 bits into floats). Next: one read of the case
   after a change, and the Python per request of the one process.
8. Pool size (10 + 10) and the one-worker default are unchanged: on these 2 cores a second
   app worker has no core of its own (the mix already keeps 1.65 of 2 busy), and bare
   resolve, limited by its one process, would gain more from it than the mix.
"""


def _load_run(path: Path = LOAD_RESULT) -> Run | None:
    if not path.exists():
        return None
    return Run.from_json(path.read_text(encoding="utf-8"))


def section(path: Path = LOAD_RESULT) -> str:
    """The markdown section (``##`` level), from the stored load run."""
    out = ["## The dispatch centre's mix (reliability part `load`)", "", SCENARIO, ""]
    run = _load_run(path)
    if run is None:
        return "\n".join(
            [*out, "No load run stored yet (`python -m reliability.run --only load`)."]
        )
    about = run.machine
    shares = [n for n in run.section.notes if n.startswith("the scenario")]
    out += [f"In the latest run, {shares[0]}.", ""] if shares else []
    out += [
        f"Latest run: {run.started:%Y-%m-%d %H:%M} UTC, code {about.get('code measured', '?')}, "
        f"load average at start {about.get('load average at start (1/5/15 min)', '?')}, "
        f"at the end {about.get('load average at the end (1/5/15 min)', '?')} "
        "(the machine is shared: figures under load are lower bounds). Full details: "
        "[reliability](reliability.md#load-the-dispatch-centres-mix-against-200000-stored-cases).",
        "",
        "| figure | value | target | status |",
        "| --- | --- | --- | --- |",
    ]
    for r in run.section.results:
        value = f"{fmt(r.value)} {r.unit}".strip()
        if r.baseline:
            value += f" ({r.value / r.baseline:.2f}× {r.baseline_name})"
        out.append(f"| {r.name} | {value} | {r.target_text()} | {r.status} |")
    out += [
        "",
        FINDINGS,
        "Where the server's time went in the latest run (profiled closed loop):",
        "",
    ]
    keys = ("py-spy", "the service's own frames", "pg_stat_activity", "pool:", "thread pool")
    profile = [n for n in run.section.notes if n.startswith(keys)]
    out += [f"- {n}" for n in profile] or ["- (no profile in the stored run)"]
    return "\n".join(out) + "\n"
