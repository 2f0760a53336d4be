"""``shudi cases import`` of 1,000,000 historical cases, beside a bare COPY of the same file.

In a scratch database of its own (dropped afterwards): the sample district and taxonomy, with
the generations' validity backdated four years and a second community generation (the same
file, imported again) valid for the last 18 months, so the import resolves against two
generation sets. A CSV of 1,000,000 rows is generated: points uniform inside the district
(70 % WGS-84, 20 % GCJ-02, 10 % BD-09), random types (a fifth by Chinese name), dates over
the last three years, most closed — plus 1,000 planted bad rows. The import runs in process
(the CLI's own function, one transaction, commit included in the time); then the same file
again (everything is skipped as imported before). The baseline is a COPY of the same file
into a plain table of text columns, committed.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from benchmarks.common import Result, Section, code_version, database_url, log
from benchmarks.intake import load_district, scratch_database
from gis.coords import from_wgs84
from incidents.history import ImportSummary

ROWS = 1_000_000
BAD = 1_000
TARGET_S = 300.0
SEED = 20240501


def _district(engine: Engine) -> shapely.Geometry:
    with engine.connect() as conn:
        wkb = conn.execute(
            text("""SELECT ST_AsBinary(ST_Union(b.geom)) FROM boundary b
                    JOIN generation_period p ON p.generation_id = b.generation_id
                    WHERE p.valid_to IS NULL AND b.layer = 'town'""")
        ).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def _two_generations(engine: Engine) -> str:
    """Backdate the sample's periods and add a second community generation (18 months)."""
    from console.demo import SAMPLE_DIR
    from gis.io import read_boundaries
    from jurisdictions.generations import import_layer

    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE generation_period SET valid_from = :t"), {"t": now - timedelta(days=1461)}
        )
        res = import_layer(
            conn,
            gdf=read_boundaries(SAMPLE_DIR / "communities.geojson"),
            layer="community",
            source="bench:second",
            activate=True,
        )
        conn.execute(
            text("""UPDATE generation_period SET valid_to = :t
                    WHERE layer = 'community' AND valid_to IS NOT NULL"""),
            {"t": now - timedelta(days=548)},
        )
        conn.execute(
            text("UPDATE generation_period SET valid_from = :t WHERE generation_id = :g"),
            {"t": now - timedelta(days=548), "g": res.generation_id},
        )
    return (
        "validity periods backdated to 4 years ago; community generation "
        f"{res.generation_id} (the same file) valid for the last 18 months"
    )


def make_csv(engine: Engine, path: Path, n: int = ROWS, bad: int = BAD, seed: int = SEED) -> None:
    """The benchmark's file: ``n`` good rows and ``bad`` planted bad ones, shuffled."""
    rng = np.random.default_rng(seed)
    district = _district(engine)
    xmin, ymin, xmax, ymax = shapely.bounds(district)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    while sum(map(len, xs)) < n:
        x = rng.uniform(xmin, xmax, n)
        y = rng.uniform(ymin, ymax, n)
        inside = shapely.contains_xy(district, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
    x, y = np.concatenate(xs)[:n], np.concatenate(ys)[:n]
    crs = rng.choice(np.array(["wgs84", "gcj02", "bd09"]), n, p=[0.7, 0.2, 0.1])
    for system in ("gcj02", "bd09"):
        sel = crs == system
        x[sel], y[sel] = from_wgs84(x[sel], y[sel], system)
    with engine.connect() as conn:
        types = conn.execute(text("SELECT code, name_zh FROM violation_type WHERE active")).all()
    pick = rng.integers(0, len(types), n)
    by_name = rng.random(n) < 0.2
    type_cells = np.where(by_name, [types[i].name_zh for i in pick], [types[i].code for i in pick])
    now = pd.Timestamp.now(tz="Asia/Shanghai").floor("s")
    reported = now - pd.to_timedelta(rng.integers(3600, 3 * 365 * 86400, n), unit="s")
    took = pd.to_timedelta(rng.integers(600, 20 * 86400, n), unit="s")
    status = rng.choice(
        np.array(["已办结", "处理中", "已受理", "closed"]), n, p=[0.7, 0.1, 0.1, 0.1]
    )
    finished = np.isin(status, ["已办结", "closed"]) & ((reported + took) < now)
    status = np.where(~finished & np.isin(status, ["已办结", "closed"]), "处理中", status)
    closed = pd.Series((reported + took).strftime("%Y-%m-%d %H:%M:%S")).where(finished, "")
    frame = pd.DataFrame(
        {
            "lon": np.round(x, 7),
            "lat": np.round(y, 7),
            "crs": crs,
            "type": type_cells,
            "reported_at": reported.strftime("%Y-%m-%d %H:%M:%S"),
            "closed_at": closed,
            "status": status,
            "description": [f"历史工单 {i}" for i in range(n)],
        }
    )
    planted = frame.sample(bad, random_state=seed).reset_index(drop=True)
    third = bad // 3
    planted.loc[: third - 1, "type"] = "no_such_type"
    planted.loc[third : 2 * third - 1, "reported_at"] = "not a date"
    planted.loc[2 * third :, ["lon", "lat", "crs"]] = [121.9, 31.9, "wgs84"]  # outside
    frame = pd.concat([frame, planted]).sample(frac=1.0, random_state=seed)
    frame.to_csv(path, index=False)


def _bare_copy(engine: Engine, path: Path) -> float:
    """COPY the file into a plain table of text columns, committed; seconds."""
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_history_copy"))
        conn.execute(
            text("""CREATE TABLE bench_history_copy (lon text, lat text, crs text, type text,
                    reported_at text, closed_at text, status text, description text)""")
        )
    t0 = time.perf_counter()
    with engine.begin() as conn, path.open("rb") as fh:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.copy_expert("COPY bench_history_copy FROM STDIN WITH (FORMAT csv, HEADER)", fh)
    seconds = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_history_copy"))
    return seconds


def _kind(reason: str) -> str:
    """A reason without the values it quotes."""
    bare = re.sub(r"\([^)]*\)|'[^']*'", "", reason.split(";")[0])
    return re.sub(r"\s+", " ", bare).strip().rstrip(":")


def _import(engine: Engine, path: Path) -> tuple[float, ImportSummary, dict[str, float]]:
    from incidents.history import import_cases

    stages: dict[str, float] = {}
    current, since = ["reading"], [time.perf_counter()]

    def progress(stage: str, _done: int, _total: int | None) -> None:
        if stage != current[0]:
            now = time.perf_counter()
            stages[current[0]] = stages.get(current[0], 0.0) + now - since[0]
            current[0], since[0] = stage, now

    t0 = time.perf_counter()
    with engine.begin() as conn:
        summary = import_cases(conn, path=path, progress=progress)
        progress("committing", 0, None)
    seconds = time.perf_counter() - t0
    progress("done", 0, None)
    return seconds, summary, stages


def history(workdir: Path) -> Section:
    """Import 1,000,000 rows; the bare COPY of the same file as the baseline."""
    from shudi.database import make_engine

    sec = Section(f"History import (`shudi cases import`, {ROWS:,} rows)")
    sec.commands.append("shudi cases import history.csv   # in process, on a scratch database")
    sec.notes.append(f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; code {code_version()}")
    with scratch_database(database_url()) as url:
        engine = make_engine(url)
        try:
            load_district(engine)
            sec.notes.append(_two_generations(engine))
            path = workdir / "history.csv"
            log(f"writing {ROWS:,} + {BAD:,} rows to {path}")
            make_csv(engine, path)
            size = path.stat().st_size / 2**20
            log("baseline: bare COPY of the file")
            copy_s = _bare_copy(engine, path)
            log("import")
            seconds, summary, stages = _import(engine, path)
            log("import again (everything imported before)")
            again_s, again, _ = _import(engine, path)
        finally:
            engine.dispose()
    rows = ROWS + BAD
    sec.results += [
        Result(
            f"import {rows:,} rows (CSV, {size:.0f} MiB), one transaction",
            seconds,
            "s",
            kind="max",
            target=TARGET_S,
            baseline=copy_s,
            baseline_name="bare COPY of the file into a text table",
        ),
        Result(
            "import rate",
            rows / seconds,
            "rows/s",
            baseline=rows / copy_s,
            baseline_name="bare COPY",
        ),
        Result("re-import of the same file (all skipped)", again_s, "s"),
    ]
    sec.notes += [
        f"{summary.imported:,} cases imported, {len(summary.bad):,} bad rows reported "
        f"(planted: {BAD:,}), {summary.before_boundaries:,} dated before the boundaries; "
        f"rows per generation set: {[g['rows'] for g in summary.generation_sets]}; "
        f"{summary.routes:,} distinct (type, territory) pairs routed",
        "bad rows by reason: "
        + "; ".join(
            f"{k} ({v:,})" for k, v in Counter(_kind(b.reason) for b in summary.bad).items()
        ),
        "stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()),
        f"re-import: {again.imported:,} imported, {again.already:,} skipped",
    ]
    return sec
