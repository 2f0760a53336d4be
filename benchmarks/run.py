"""Run every benchmark, print a summary and write ``docs/benchmarks.md``.

Usage (after ``shudi db start``, ``shudi db migrate`` and ``shudi demo``; ``make bench`` does
all of it)::

    .venv/bin/python -m benchmarks.run [--only GROUP,...] [--no-docs]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from benchmarks import (
    activation,
    audit,
    bulk,
    exports,
    history,
    hotspots,
    intake,
    live,
    map,
    mvt,
    outbox,
    places,
    record,
    resolve,
    words,
)
from benchmarks.common import (
    ROOT,
    BBox,
    Section,
    bench_engine,
    district_bbox,
    exclusive_run,
    log,
    machine,
)


@dataclass(frozen=True)
class Context:
    """What every group may use: the service's database, the district's extent, a workdir."""

    engine: Engine
    bbox: BBox
    workdir: Path


#: The groups, in the order they run and are shown. A group is a function of the context
#: returning its :class:`~benchmarks.common.Section`.
GROUPS: dict[str, Callable[[Context], Section]] = {
    "single": lambda c: resolve.single_point(c.bbox, c.workdir),
    "batch": lambda c: resolve.batch(c.engine, c.bbox, c.workdir),
    "bulk": lambda c: bulk.bulk(),
    "activation": lambda c: activation.activation(),
    "intake": lambda c: intake.intake(c.workdir),
    "map": lambda c: map.dispatch_map(c.workdir),
    "live": lambda c: live.live(c.workdir),
    "history": lambda c: history.history(c.workdir),
    "hotspots": lambda c: hotspots.hotspots(),
    "audit": lambda c: audit.audit(),
    "words": lambda c: words.words(),
    "places": lambda c: places.place_search(c.engine, c.bbox, c.workdir),
    "tiles": lambda c: mvt.tiles(c.engine, c.bbox, c.workdir),
    "export": lambda c: exports.exports(c.workdir),
    "outbox": lambda c: outbox.outbox(),
}

COMMANDS = """\
```bash
make bench
# which runs, from the repository root:
export SHUDI_HOME=$PWD/var
.venv/bin/shudi db start && .venv/bin/shudi db migrate   # the `db` prerequisite
.venv/bin/shudi demo                                     # the sample district (idempotent)
.venv/bin/python -m benchmarks.run                       # all benchmarks; writes this file
# some groups only, replacing only their figures here (the others' stay, with their dates):
.venv/bin/python -m benchmarks.run --only intake,map
# print only, storing nothing:
.venv/bin/python -m benchmarks.run --only single --no-docs
```"""

METHOD = """\
- Every target is measured beside a baseline in the same run, because this machine is small
  and noisy: compare ratios between runs rather than absolute figures.
- Random points are drawn uniformly from the extent of the active towns, so most fall inside
  the district; those outside are answered with 422 (single point) or a per-point error
  naming the nearest town (batch), and are part of the measured load.
- **Fixed-rate latency** uses an open-loop Python asyncio client (Debian's `wrk` cannot pace
  requests and `wrk2` is not packaged): request *i* is due at *start + i/300 s* and its
  latency is measured from that moment, so a server that stalls cannot hide its queueing
  (no coordinated omission). Three 10-second rounds per server, service and baseline
  interleaved; the median round's p99 is held against the target (one burst of a noisy
  neighbour spoils one round, not the verdict), and the pooled figures are in the details.
  The client's own scheduling jitter is in both the service's and the baseline's figures.
- **Throughput** uses `wrk` (one thread, 8 keep-alive connections, closed loop) with a Lua
  script drawing random points; service and baseline alternate, two rounds each, and the
  means are compared. The baseline (`benchmarks/baseline_app.py`) is a FastAPI route doing one
  `SELECT code FROM boundary WHERE ST_Contains(geom, point) LIMIT 1` on the un-subdivided
  polygons, served by uvicorn with the same settings as `shudi serve` (one worker, log level
  info). Both servers run side by side; the idle one costs nothing.
- **Batch**: sequential calls of 10,000 points; the baseline is shapely's STRtree over the
  active town, community and property-area polygons in-process, on the same points (the
  faster of the points-driven `within` query and the polygon-driven `covers` query with a
  tree over each batch's points, tree building included).
- **Bulk**: `jurisdictions.generations.activate` — what the product runs when a generation
  is activated — over 1,000,000 open cases stored in `case_file` exactly as the product
  stores cases (scratch database with the sample district; no special fillfactor): first the
  same communities as a new generation (every case is re-resolved, nothing moves, nothing is
  written), then a revision re-coding one community (only the cases there move and
  are written, with their events); each timed with its commit, against ≤ 10 s. The set-up
  that gives every case its owners (`jurisdictions.bulk.reresolve_table` over `case_file`,
  every row written) is shown for information. The baseline, in the same run, is the bare
  polygons-outer join of the open cases with every active layer's subdivided parts.
- **Batch** also times calls whose 10,000 points all lie outside every town (inside the
  district's extent, each answered with an error naming the nearest town) against calls whose
  points all lie inside: a point outside may cost at most 10× a point inside.
- **Activation**: `jurisdictions.generations.activate` — the function every activation path
  runs — over 100,000 open cases at random points of the sample district, in a scratch
  database, timed with its commit: first a new generation of the communities (the cases were
  stored without owners, so every case inside the district moves: bulk re-resolve, routing,
  one UPDATE, one INSERT of events), then the previous generation back (nothing moves). The
  baseline is the bare join of the open cases with every active layer's parts.
- Statement breakdowns come from SQLAlchemy cursor events around the service's own code."""


def write_docs() -> int:
    """docs/benchmarks.md from every stored group (and the load mix's section from
    reliability/results/load.json), and docs/scaling.md's figures; the number of groups."""
    from benchmarks import loadmix, scaling

    stored = record.load_all(list(GROUPS))
    method = METHOD + "\n\n" + loadmix.section()
    record.DOCS.write_text(record.markdown(stored, commands=COMMANDS, method=method))
    scaling.write()
    return len(stored)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--only",
        default=",".join(GROUPS),
        help=f"comma-separated groups: {', '.join(GROUPS)}",
    )
    parser.add_argument(
        "--no-docs",
        action="store_true",
        help="print only: store no results and leave docs/benchmarks.md as it is",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s): {', '.join(sorted(unknown))}")
    t0 = time.monotonic()
    engine = bench_engine()
    bbox = district_bbox(engine)
    workdir = Path(tempfile.mkdtemp(prefix="shudi-bench-"))
    log(f"district bbox {bbox}; server logs in {workdir}")
    ctx = Context(engine=engine, bbox=bbox, workdir=workdir)
    runs = []
    with exclusive_run(engine):
        for group in groups:
            log(f"--- {group}")
            started, g0 = datetime.now(UTC), time.monotonic()
            info = machine(engine)
            section = GROUPS[group](ctx)
            runs.append(record.Run(group, started, (time.monotonic() - g0) / 60, info, section))
    print("\nSummary")
    for run in runs:
        print(f"  {run.section.title}")
        for r in run.section.results:
            print(f"    {r.line()}")
        for note in run.section.notes:
            print(f"      - {note}")
    failed = [r for run in runs for r in run.section.results if r.passed is False]
    print(f"\n{len(failed)} target(s) missed; {(time.monotonic() - t0) / 60:.1f} min")
    if not args.no_docs:
        for run in runs:
            record.save(run)
        n = write_docs()
        print(f"wrote {record.DOCS.relative_to(ROOT)} ({n} group(s)) and docs/scaling.md")
    engine.dispose()
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
