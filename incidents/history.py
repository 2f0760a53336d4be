"""Importing historical cases (12345 hotline exports, spreadsheets) into the case store.

``import_cases`` reads a CSV, Excel or GeoJSON file (:mod:`incidents.history_read`), checks
every row (:mod:`incidents.history_rows`), resolves and routes each row as of its date
(:mod:`incidents.history_place`) and stores the good rows in the caller's transaction
(:mod:`incidents.history_store`): all of them or, when anything fails, none.

Decisions
    * Imported cases have ``channel = 'import'``, a random tracking code like a live case's,
      no reporter (exports' personal data is not imported, so no resident can track them) and
      one non-public ``import`` event at ``reported_at`` naming the file, its SHA-256, the line
      and the row's key. ``created_at`` is ``reported_at``; ``updated_at`` the end time.
    * Open imported cases are on the clock (:mod:`incidents.history_deadlines`): the file's own
      deadline column (办理时限 / 截止时间, or ``--field due_at=COLUMN``) when it has one, else
      the type's time limit counted from the reported time on the working-day calendar, so
      they appear in reminders, overdue lists, agendas and the assessment like live ones.
      Closed ones keep no deadline unless the file gives one. Open imported cases also follow
      boundary changes like live ones.
    * Idempotency per row: the key is ``ext:<external_id>`` when the file has that column,
      else a digest of the row's values with the occurrence number of identical rows. Rows
      whose key was imported before are skipped, so re-importing a file, or an export that
      overlaps an earlier one, adds nothing twice. Imports are serialised by an advisory lock.
    * Bad rows are reported with their line (CSV), sheet row (Excel) or feature number
      (GeoJSON) and the reason; ``strict`` rejects the file at the first one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from gis.coords import CoordSystem
from incidents import history_store
from incidents.exceptions import HistoryImportRejected
from incidents.history_deadlines import deadline_columns
from incidents.history_place import place_rows
from incidents.history_read import read_rows
from incidents.history_rows import check_rows
from jurisdictions import catalog

Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class BadRow:
    """A row that was not imported, and why."""

    line: int
    reason: str


@dataclass
class ImportSummary:
    """What an import did."""

    file: str
    sha256: str
    unit: str  # what ``BadRow.line`` counts: line, row or feature
    rows: int
    imported: int
    already: int  # rows imported before (skipped)
    bad: list[BadRow] = field(default_factory=list)
    before_boundaries: int = 0  # rows dated before the first complete set of boundaries
    generation_sets: list[dict[str, Any]] = field(default_factory=list)
    routes: int = 0  # distinct (type, territory) pairs routed

    def describe(self, row: BadRow) -> str:
        """``line 12: reason``."""
        return f"{self.unit} {row.line}: {row.reason}"


def type_names(conn: Connection) -> dict[str, str]:
    """Violation type codes and Chinese names (and lower-cased codes) → code."""
    out: dict[str, str] = {}
    for t in catalog.list_types(conn):
        out.setdefault(t["name_zh"], t["code"])
        out[t["code"].lower()] = t["code"]
        out[t["code"]] = t["code"]
    return out


def _reject_first(bad: list[BadRow], unit: str) -> None:
    first = min(bad, key=lambda b: b.line)
    raise HistoryImportRejected(
        f"{unit} {first.line}: {first.reason} (--strict: nothing imported)",
        line=first.line,
        reason=first.reason,
    )


def import_cases(
    conn: Connection,
    *,
    path: Path,
    strict: bool = False,
    default_crs: str = "wgs84",
    encoding: str | None = None,
    sheet: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    fields: Mapping[str, str] | None = None,
) -> ImportSummary:
    """Import a history file's good rows as cases in ``conn``'s transaction (see above);
    ``fields`` maps canonical column names to the file's headers (``{"due_at": "办理时限"}``)."""
    note = progress or (lambda _stage, _done, _total: None)
    if default_crs not in {c.value for c in CoordSystem}:
        allowed = ", ".join(c.value for c in CoordSystem)
        raise HistoryImportRejected(f"unknown crs {default_crs!r}; use one of {allowed}")
    note("reading", 0, None)
    raw = read_rows(path, encoding=encoding, sheet=sheet, fields=fields)
    note("checking", 0, None)
    history_store.begin(conn)
    checked = check_rows(
        raw.frame,
        type_names=type_names(conn),
        default_crs=default_crs,
        now=now or datetime.now(UTC),
    )
    lines = raw.lines
    bad_mask = checked.reason.notna().to_numpy()
    bad = [BadRow(int(lines[i]), str(checked.reason.iat[i])) for i in np.flatnonzero(bad_mask)]
    if strict and bad:
        _reject_first(bad, raw.unit)
    already = ~bad_mask & checked.key.isin(history_store.imported_keys(conn)).to_numpy()
    todo = np.flatnonzero(~bad_mask & ~already)
    summary = ImportSummary(
        file=path.name,
        sha256=raw.sha256,
        unit=raw.unit,
        rows=len(raw.frame),
        imported=0,
        already=int(already.sum()),
        bad=bad,
    )
    if not len(todo):
        return summary
    placement = place_rows(
        conn,
        lon=checked.lon[todo],
        lat=checked.lat[todo],
        when=checked.reported_at.iloc[todo],
        type_codes=checked.type_code.iloc[todo].to_numpy(),
        progress=note,
    )
    outside = [BadRow(int(lines[todo[i]]), why) for i, why in placement.outside.items()]
    if strict and outside:
        _reject_first(outside, raw.unit)
    summary.bad = sorted(bad + outside, key=lambda b: b.line)
    summary.before_boundaries = placement.before_boundaries
    summary.generation_sets = placement.sets
    summary.routes = len(placement.routes)
    keep = placement.route_ids >= 0
    rows = todo[keep]

    def take(column: pd.Series) -> np.ndarray:
        values: np.ndarray = column.iloc[rows].to_numpy()
        return values

    def micros(column: pd.Series) -> np.ndarray:
        stamps = column.iloc[rows]
        us = stamps.to_numpy(dtype="datetime64[us]").astype(np.int64)
        return np.where(stamps.notna().to_numpy(), us, history_store.NO_TIME)

    note("deadlines", 0, None)
    clock = deadline_columns(
        status=checked.status.iloc[rows],
        type_code=checked.type_code.iloc[rows],
        scope_of={t["code"]: t["scope"] for t in catalog.list_types(conn)},
        reported_at=checked.reported_at.iloc[rows],
        file_due=checked.due_at.iloc[rows],
        file=path.name,
    )
    frame = pd.DataFrame(
        {
            "line": lines[rows],
            "route_id": placement.route_ids[keep],
            "status": take(checked.status),
            "crs": take(checked.crs),
            "lon": checked.lon[rows],
            "lat": checked.lat[rows],
            "reported_at": micros(checked.reported_at),
            "closed_at": micros(checked.closed_at),
            "resolved_at": micros(checked.resolved_at),
            "respond_due_at": clock.respond_due_at,
            "stop_due_at": clock.stop_due_at,
            "due_at": clock.due_at,
            "urgency": clock.urgency,
            "basis": clock.basis,
            "key": take(checked.key),
            "description": take(checked.description.str.replace("\x00", "", regex=False)),
        }
    )
    if len(frame):
        summary.imported = history_store.store(
            conn,
            rows=frame,
            routes=placement.routes,
            file=path.name,
            sha256=raw.sha256,
            progress=note,
        )
    return summary
