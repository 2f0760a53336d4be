"""``python -m reliability.fuzz`` and ``make reliability``'s fuzz part: the whole run on a
database of its own (``reliability/fuzz_setup.py``), a server, the fuzzer of
``reliability/fuzz.py``, the geometry import fuzzing, and the figures as JSON."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from unittest.mock import patch

from reliability import fuzz_geometry
from reliability.fuzz_figures import figures
from reliability.fuzz_setup import log_in, prepare
from reliability.fuzz_states import SERVER_ENV
from reliability.fuzz_valid import load_world


def run(
    report: Callable[[str], None] = print,
    *,
    per_operation: int = 1_000,
    seed: int | None = None,
    only: Callable[[str], bool] | None = None,
    partial: Callable[[dict[str, Any]], None] | None = None,
    geometry_examples: int = 2_000,
) -> dict[str, Any]:
    """The full fuzz run on a database of its own; returns the figures.

    ``partial`` gets the figures so far after each operation.
    """
    from shudi import embedded
    from shudi.database import cluster_for
    from shudi.settings import get_settings

    if not get_settings().database_url:
        embedded.start(cluster_for(get_settings()))
    started = time.perf_counter()
    from benchmarks.common import app_argv, free_port, server
    from benchmarks.intake import scratch_database, service_database
    from shudi.database import database_url

    with scratch_database(database_url(owner=True)) as db_url:
        passwords, known = prepare(db_url)
        report(f"database ready: {len(known.case_ids)} cases, {len(passwords)} users")
        port = free_port()
        log_path = Path(tempfile.mkdtemp(prefix="shudi-fuzz-")) / "server.log"
        # rate limits as in the benchmarks: every report counted, never refused (and the
        # one client's follow requests, SERVER_ENV)
        with (
            service_database(db_url),
            patch.dict(os.environ, SERVER_ENV),
            server("shudi serve", app_argv(port), port, log_path) as app,
        ):
            base = app.url
            tokens = log_in(base, passwords)
            world = load_world(db_url, credentials=passwords)
            from reliability.fuzz import Fuzzer

            fuzzer = Fuzzer(
                base,
                tokens=tokens,
                known=known,
                per_operation=per_operation,
                seed=seed,
                world=world,
            )
            tally = fuzzer.run(
                report,
                only=only,
                after=(
                    (lambda t: partial(figures(t, time.perf_counter() - started, per_operation)))
                    if partial is not None
                    else None
                ),
            )
        geometry = fuzz_geometry.run(db_url, examples=geometry_examples, report=report)
    result = figures(tally, time.perf_counter() - started, per_operation)
    result["geometry_layers"] = geometry["layers"]
    result["geometry_crashes"] = geometry["crashes"]
    result["geometry_wrong_answers"] = geometry["wrong_answers"]
    result["geometry_import"] = geometry
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m reliability.fuzz [--per-operation N] [--only TEXT] [--out FILE]``."""
    import argparse
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server, drop the database
    parser = argparse.ArgumentParser(description="Fuzz the whole HTTP API with schemathesis")
    parser.add_argument("--per-operation", type=int, default=1_000)
    parser.add_argument(
        "--only", help="fuzz only operations whose label contains this (or one of these: a,b)"
    )
    parser.add_argument("--geometry-examples", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, help="also write the figures there (JSON)")
    args = parser.parse_args(argv)
    parts = args.only.split(",") if args.only else []
    only = (lambda label: any(p in label for p in parts)) if parts else None

    def save(result: dict[str, Any]) -> None:
        if args.out:
            args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")

    result = run(
        lambda line: print(line, file=sys.stderr, flush=True),
        per_operation=args.per_operation,
        seed=args.seed,
        only=only,
        partial=save,
        geometry_examples=args.geometry_examples,
    )
    text_ = json.dumps(result, ensure_ascii=False, indent=2, default=str)
    print(text_)
    if args.out:
        args.out.write_text(text_ + "\n", encoding="utf-8")
    clean = (
        "failures",
        "phone_numbers_where_not_allowed",
        "geometry_crashes",
        "geometry_wrong_answers",
    )
    return 0 if not any(result[k] for k in clean + ("operations_below_success_floor",)) else 1
