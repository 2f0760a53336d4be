"""``shudi cases export`` of 1,000,000 cases in each format, each export a process of its own
whose peak memory (its address space's high-water mark ``VmHWM``, which the process reads from
``/proc/self/status`` as it exits: :func:`run_measured`) is compared with the same export of
100,000 cases in the same run.

In a scratch database with the sample district: 100,000 cases are seeded (templates filed
through ``create_case``, the rest copied from them in SQL, as the intake benchmark seeds), each
format is exported — the baseline; then 900,000 more, and each format is exported again.
Memory that grew with the rows would show at ten times the rows: the target is the peak at
1,000,000 within 1.25× the peak at 100,000. Each file is read back and must hold every case
(each counted by a reader of its format), so a fast export
that drops rows fails. ``SHUDI_BENCH_EXPORT_CASES`` makes a smaller run (e.g. 20000).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.common import ROOT, Result, Section, database_url, log
from benchmarks.intake import load_district, scratch_database, seed_cases

CASES = 1_000_000
#: The baseline run holds a tenth of the cases.
BASELINE_SHARE = 10
FORMATS = ("csv", "gpkg", "xlsx")
#: Peak memory at the full size ÷ peak at a tenth of it.
MEMORY_RATIO = 1.25
#: Rows per second of each format's export at the full size (floors, on this 2-core machine).
RATE = {"csv": 30_000.0, "gpkg": 15_000.0, "xlsx": 8_000.0}


#: Run in the measured process: the command, then its own peak memory written to a file.
_MEASURED = """
import atexit, os, runpy, sys
def _peak():
    with open("/proc/self/status") as fh:
        kib = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
    with open(os.environ["SHUDI_BENCH_PEAK_FILE"], "w") as out:
        out.write(kib)
atexit.register(_peak)
module = sys.argv[1]
sys.argv = [module, *sys.argv[2:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def run_measured(argv: list[str], *, env: dict[str, str]) -> tuple[float, float, int, str]:
    """Run ``python -m argv...`` in a process of its own; (seconds, peak resident MiB, exit
    code, stderr). The peak is the process's own ``VmHWM``, read by itself at exit: the
    kernel's ``ru_maxrss`` of a child is no use here, since at ``exec`` Linux keeps the
    high-water mark of the address space it replaces — the forking parent's (every export
    read 658 MiB, this benchmark's own size, whatever it wrote)."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak_file:
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _MEASURED, *argv],
            cwd=ROOT,
            env=env | {"SHUDI_BENCH_PEAK_FILE": peak_file.name},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        elapsed = time.perf_counter() - t0
        kib = peak_file.read().strip()
    if not kib.isdigit():
        raise RuntimeError(f"{argv[0]} did not report its peak memory (exit {done.returncode})")
    return elapsed, int(kib) / 1024, done.returncode, done.stderr.decode(errors="replace")


def _export(url: str, fmt: str, path: Path) -> tuple[float, float]:
    """Run ``shudi cases export --format fmt --output path``; (seconds, peak RSS in MiB)."""
    env = os.environ | {"SHUDI_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    argv = ["console", "cases", "export", "--format", fmt, "--output", str(path)]
    elapsed, peak, code, err = run_measured(argv, env=env)
    if code != 0:
        raise RuntimeError(f"export {fmt} failed: {err.strip()[-500:]}")
    return elapsed, peak


def _rows_in(fmt: str, path: Path) -> int:
    """The cases a file holds, counted by a reader of its format (header excluded)."""
    if fmt == "csv":
        with path.open("rb") as fh:
            return sum(1 for _ in fh) - 1
    if fmt == "gpkg":
        import pyogrio

        return int(pyogrio.read_info(path, layer="cases")["features"])
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:  # a write-only workbook records no dimension: count the rows themselves
        return sum(1 for _ in wb["cases"].iter_rows(values_only=True)) - 1
    finally:
        wb.close()


def exports(workdir: Path) -> Section:
    """The export group: each format at a tenth of the cases and at all of them."""
    total = int(os.environ.get("SHUDI_BENCH_EXPORT_CASES", CASES))
    small = total // BASELINE_SHARE
    section = Section(title=f"Case exports (`shudi cases export`, {total:,} cases)")
    figures: dict[tuple[str, int], tuple[float, float, int]] = {}
    with scratch_database(database_url()) as url:
        engine = create_engine(url)
        try:
            load_district(engine)
            for size, seed in ((small, 11), (total, 12)):
                with engine.connect() as conn:
                    have = conn.execute(text("SELECT count(*) FROM case_file")).scalar_one()
                log(f"export: seeding {size - have:,} cases")
                section.notes.append(seed_cases(engine, n=size - have, seed=seed))
                for fmt in FORMATS:
                    path = workdir / f"export-{size}.{fmt}"
                    path.unlink(missing_ok=True)
                    log(f"export: {fmt} of {size:,} cases")
                    seconds, peak = _export(url, fmt, path)
                    rows = _rows_in(fmt, path)
                    figures[(fmt, size)] = (seconds, peak, rows)
                    log(f"export: {fmt} {size:,} in {seconds:.1f} s, peak {peak:.0f} MiB")
                    path.unlink()
        finally:
            engine.dispose()
    for fmt in FORMATS:
        seconds, peak, rows = figures[(fmt, total)]
        s_small, peak_small, rows_small = figures[(fmt, small)]
        section.results += [
            Result(
                f"{fmt}: peak memory of the export process, {total:,} cases",
                peak,
                "MiB",
                kind="max",
                target_ratio=MEMORY_RATIO,
                baseline=peak_small,
                baseline_name=f"the same export of {small:,} cases",
            ),
            Result(
                f"{fmt}: cases exported per second, {total:,} cases",
                rows / seconds,
                "rows/s",
                kind="min",
                target=RATE[fmt],
                baseline=rows_small / s_small,
                baseline_name=f"the same export of {small:,} cases",
                note=f"{seconds:.1f} s wall, process start and commit included",
            ),
            Result(
                f"{fmt}: cases in the file, read back",
                rows,
                "cases",
                kind="min",
                target=float(total),
                baseline=float(rows_small),
                baseline_name=f"the file of {small:,} cases",
            ),
        ]
    section.commands.append(".venv/bin/python -m benchmarks.run --only export")
    section.notes.append(
        "Each export runs `python -m console cases export --format F --output FILE` against "
        "the scratch database in a process of its own; its peak resident memory is that "
        "process's own high-water mark (`VmHWM` in `/proc/self/status`, read as it exits; "
        "the kernel's `ru_maxrss` of a child keeps the forking parent's mark across `exec`, "
        "which made every export read as this benchmark's own size until 2026-12-08). "
        "CSV streams rows from a server-side cursor; "
        "GeoPackage appends 20,000-row batches; Excel streams its rows into the sheet's XML "
        "(incidents/xlsx_sheet.py; openpyxl writes the rest of the workbook)."
    )
    return section
