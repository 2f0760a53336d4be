"""The audit log: its cost on the write path, and how fast it is sealed and verified.

In a scratch database of its own (dropped afterwards): the sample district, the taxonomy and
one case. **Write path**: transactions of one ``case_event`` insert each, from 8 threads,
5,000 per round, five rounds; the baseline is the same insert into a twin of the table
(``LIKE case_event INCLUDING ALL`` plus its foreign key to the case) without the audit
trigger, rounds alternating; the medians are compared. **Sealing**: every row those rounds
wrote, sealed by ``audit_seal()`` in batches (commit included). **Verify**: the whole chain
recomputed in Python plus every case event compared with its entry.
"""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, text

from audit import service
from benchmarks.common import ROOT, Result, Section, database_url, log
from benchmarks.intake import load_district, scratch_database
from shudi.database import make_engine

ROUNDS = 5
PER_ROUND = 5_000
THREADS = 8
#: 200 reports/s (the intake target) write ~2 audit rows each; the sealer must keep ahead 5×.
SEAL_TARGET = 2_000.0

_INSERT = """INSERT INTO {table} (case_id, actor_role, action, to_status, note, data)
             VALUES (:c, 'system', 'bench', 'reported', 'n', '{{"k": 1}}')"""
_TWIN = """
CREATE TABLE bench_case_event (LIKE case_event INCLUDING ALL);
ALTER TABLE bench_case_event ADD FOREIGN KEY (case_id) REFERENCES case_file (id);
"""


def _one_case(engine: Engine) -> int:
    from incidents.intake import Report, create_case
    from jurisdictions.catalog import list_types

    marks = json.loads((ROOT / "data/boundaries/sample/landmarks.json").read_text())
    mark = marks["estate_with_company"]
    with engine.begin() as conn:
        kind = list_types(conn, reportable=True)[0]["code"]
        case = create_case(conn, report=Report(lon=mark["lon"], lat=mark["lat"], type=kind))
    return case.id


def _round(engine: Engine, case_id: int, table: str) -> float:
    insert = text(_INSERT.format(table=table))

    def one(_: int) -> None:
        with engine.begin() as conn:
            conn.execute(insert, {"c": case_id})

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, range(PER_ROUND)))
    return PER_ROUND / (time.perf_counter() - started)


def audit() -> Section:
    """The write-path cost of the audit trigger, the sealing rate and the verify rate."""
    section = Section(title="Audit log: write-path cost, sealing and verifying")
    with scratch_database(database_url()) as url:
        engine = make_engine(url)
        load_district(engine)
        case_id = _one_case(engine)
        service.seal_pending(engine)
        with engine.begin() as conn:
            conn.execute(text(_TWIN))
        rates: dict[bool, list[float]] = {True: [], False: []}
        for r in range(ROUNDS):
            for on in (False, True) if r % 2 == 0 else (True, False):
                table = "case_event" if on else "bench_case_event"
                rates[on].append(_round(engine, case_id, table))
                log(f"round {r + 1}, {table}: {rates[on][-1]:.0f}/s")
        with engine.connect() as conn:
            pending = service.status(conn)["unsealed"]
        started = time.perf_counter()
        sealed = service.seal_pending(engine)
        seal_s = time.perf_counter() - started
        started = time.perf_counter()
        with engine.begin() as conn:
            checked = service.verify(conn).rows
        verify_s = time.perf_counter() - started
        engine.dispose()
    with_log, without = statistics.median(rates[True]), statistics.median(rates[False])
    section.results += [
        Result(
            "case events written with their audit rows (8 threads, one per transaction)",
            with_log,
            "events/s",
            kind="min",
            target_ratio=0.5,
            baseline=without,
            baseline_name="the same insert into a twin table without the trigger",
            note=f"rounds on {', '.join(f'{x:.0f}' for x in rates[True])}; "
            f"off {', '.join(f'{x:.0f}' for x in rates[False])}",
        ),
        Result(
            "sealing rate (audit_seal, batches committed)",
            sealed / seal_s,
            "rows/s",
            kind="min",
            target=SEAL_TARGET,
            note=f"{sealed:,} rows in {seal_s:.2f} s ({pending:,} were pending)",
        ),
        Result(
            "verify rate (chain in Python + case events compared)",
            checked / verify_s,
            "rows/s",
            note=f"{checked:,} rows in {verify_s:.2f} s",
        ),
    ]
    section.commands.append(".venv/bin/python -m benchmarks.run --only audit")
    section.notes.append(
        f"difference per event: {1000 / with_log - 1000 / without:+.2f} ms beside a "
        f"{1000 / without:.2f} ms one-insert transaction; "
        "a report's intake transaction does far more than that insert"
    )
    return section
