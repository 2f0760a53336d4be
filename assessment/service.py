"""The assessment's figures, per unit, from the case events (SQL pieces in
:mod:`assessment.queries`; definitions in docs/assessment.md)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from accounts.models import Role
from accounts.service import Principal
from assessment import meeting_figures as mf
from assessment import queries as q
from assessment import satisfaction
from assessment.exceptions import UnknownFigure
from assessment.period import Period
from incidents.queries import visible_case_ids
from jurisdictions.active import ACTIVE_BOUNDARIES

KINDS = ("agency", "agency_unit", "town")
#: Rates: (numerator, denominator) figures.
RATES: dict[str, tuple[str, str]] = {
    "response_rate": ("responded_on_time", "response_due"),
    "on_time_rate": ("resolved_on_time", "resolution_due"),
    "rework_rate": ("reworked", "ever_resolved"),
    "satisfaction": ("satisfied", "rated"),
    "referral_accuracy": ("referred_correct", "referred_out"),
    "action_on_time_rate": ("actions_on_time", "actions_due"),
    **satisfaction.RATES,
}
ACTION_FIGURES = ("actions_due", "actions_on_time")
FIGURES = (
    *q.CASE_FIGURES,
    *q.REFERRAL_FIGURES,
    "joint_joined",
    *ACTION_FIGURES,
    *mf.FIGURES,
)


_tables = itertools.count(1)


@dataclass(frozen=True)
class Facts:
    """The period's cases, one row each with their timeline, in a temporary table."""

    table: str
    p: Period


@contextmanager
def facts(conn: Connection, *, p: Period) -> Iterator[Facts]:
    """Work out every case's facts once (the costly part) for several figures to share."""
    table = f"assessment_facts_{next(_tables)}"
    conn.execute(
        text(
            f"CREATE TEMPORARY TABLE {table} AS " + q.with_(*q.MAKE_FACTS) + "SELECT * FROM facts"
        ),
        p.params(),
    )
    conn.execute(text(f"ANALYZE {table}"))
    try:
        yield Facts(table, p)
    finally:
        # when the transaction failed, its rollback drops the table
        with suppress(SQLAlchemyError):
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))


@contextmanager
def _using(conn: Connection, p: Period, given: Facts | None) -> Iterator[Facts]:
    if given is not None:
        if given.p != p:
            raise ValueError("these facts are of another period")
        yield given
        return
    with facts(conn, p=p) as made:
        yield made


def _key(row: Any) -> tuple[str, str, str]:
    return (str(row.kind), str(row.agency), str(row.unit))


def _case_figures(
    conn: Connection, p: Period, f: Facts
) -> dict[tuple[str, str, str], dict[str, Any]]:
    counts = ",\n".join(
        f"count(*) FILTER (WHERE {pred}) AS {name}" for name, pred in q.CASE_FIGURES.items()
    )
    stages = ",\n".join(
        f"avg({q.hours(expr)}) AS {name}_mean, "
        f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {q.hours(expr)}) AS {name}_p90, "
        f"count({expr}) AS {name}_n"
        for name, expr in q.STAGES.items()
    )
    sql = (
        q.with_(*q.case_base(f.table))
        + f"""SELECT m.kind, m.agency, m.unit, {counts}, {stages}
        FROM members m JOIN facts f ON f.case_id = m.case_id GROUP BY 1, 2, 3"""
    )
    out = {}
    for row in conn.execute(text(sql), p.params()):
        d = row._asdict()
        figures: dict[str, Any] = {name: int(d[name]) for name in q.CASE_FIGURES}
        figures["stage_hours"] = {
            name: {
                "mean": _round(d[f"{name}_mean"]),
                "p90": _round(d[f"{name}_p90"]),
                "n": int(d[f"{name}_n"]),
            }
            for name in q.STAGES
        }
        out[_key(row)] = figures
    return out


def _referral_figures(
    conn: Connection, p: Period, f: Facts
) -> dict[tuple[str, str, str], dict[str, int]]:
    counts = ", ".join(
        f"count(*) FILTER (WHERE {pred}) AS {name}" for name, pred in q.REFERRAL_FIGURES.items()
    )
    sql = q.with_(*q.referral_base(f.table)) + (
        f"SELECT r.kind, r.agency, r.unit, {counts} FROM ref_members r GROUP BY 1, 2, 3"
    )
    return {
        _key(r): {n: int(getattr(r, n)) for n in q.REFERRAL_FIGURES}
        for r in conn.execute(text(sql), p.params())
    }


def _joined(conn: Connection, p: Period, f: Facts) -> dict[tuple[str, str, str], dict[str, int]]:
    sql = q.with_(*q.case_base(f.table), q.TASK_MEMBERS) + (
        "SELECT kind, agency, unit, count(*) AS joint_joined FROM task_members GROUP BY 1, 2, 3"
    )
    return {
        _key(r): {"joint_joined": int(r.joint_joined)} for r in conn.execute(text(sql), p.params())
    }


def _has_actions(conn: Connection) -> bool:
    return bool(conn.execute(text("SELECT to_regclass('meeting_action') IS NOT NULL")).scalar())


def _action_figures(
    conn: Connection, p: Period, f: Facts
) -> dict[tuple[str, str, str], dict[str, int]]:
    if not _has_actions(conn):
        return {}
    sql = q.with_(q.ACTIONS) + (
        """SELECT kind, agency, unit, count(*) AS actions_due,
                  count(*) FILTER (WHERE on_time) AS actions_on_time
           FROM actions GROUP BY 1, 2, 3"""
    )
    return {
        _key(r): {"actions_due": int(r.actions_due), "actions_on_time": int(r.actions_on_time)}
        for r in conn.execute(text(sql), p.params())
    }


def _names(conn: Connection) -> dict[tuple[str, str, str], str]:
    rows = conn.execute(
        text(f"""SELECT 'agency' AS kind, code AS agency, code AS unit, name_zh AS name FROM agency
        UNION ALL
        SELECT CASE b.layer WHEN 'town' THEN 'town' ELSE 'agency_unit' END,
               COALESCE(b.agency, ''), b.code, b.name
        FROM {ACTIVE_BOUNDARIES} b
        WHERE b.layer IN ('town', 'agency_unit')""")
    )
    return {_key(r): str(r.name) for r in rows}


def unit_name(conn: Connection, *, kind: str, unit: str, agency: str | None) -> str:
    """The name of an assessed unit (its code when unknown)."""
    key = (kind, agency or (unit if kind == "agency" else ""), unit)
    return _names(conn).get(key, unit)


def _round(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _rates(figures: dict[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, (num, den) in RATES.items():
        d = figures.get(den, 0)
        out[name] = round(figures.get(num, 0) / d, 4) if d else None
    return out


def _empty() -> dict[str, Any]:
    zero: dict[str, Any] = dict.fromkeys(FIGURES, 0)
    zero["stage_hours"] = {n: {"mean": None, "p90": None, "n": 0} for n in q.STAGES}
    return zero


def assess(conn: Connection, *, p: Period, given: Facts | None = None) -> dict[str, Any]:
    """Every unit's figures and rates for the period, ranked within its kind by the on-time
    resolution rate (then the rework rate, then the number received)."""
    units: dict[tuple[str, str, str], dict[str, Any]] = {}
    parts = (_case_figures, _referral_figures, _joined, _action_figures, mf.meeting_figures)
    with _using(conn, p, given) as f:
        for part in parts:
            for key, figures in part(conn, p, f).items():
                units.setdefault(key, _empty()).update(figures)
    names = _names(conn)
    rows = []
    for (kind, agency, unit), figures in units.items():
        if kind != "town":  # joint meetings are the towns' (三（一）)
            figures |= dict.fromkeys(mf.FIGURES)
        rows.append(
            {
                "unit": unit,
                "kind": kind,
                "agency": agency or None,
                "name": names.get((kind, agency, unit), unit),
                **figures,
                **_rates(figures),
            }
        )
    rows.sort(key=_rank_key)
    rank: dict[str, int] = {}
    for row in rows:
        rank[row["kind"]] = rank.get(row["kind"], 0) + 1
        row["rank"] = rank[row["kind"]]
    return {
        "from": p.first,
        "to": p.last,
        "as_of": p.as_of,
        "units": rows,
    }


def _rank_key(row: dict[str, Any]) -> tuple:
    on_time = row["on_time_rate"]
    rework = row["rework_rate"]
    return (
        KINDS.index(row["kind"]),
        -(on_time if on_time is not None else -1),
        rework if rework is not None else 2,
        -row["received"],
        row["unit"],
    )


MATCH = "x.kind = :kind AND x.unit = :unit AND (:agency = '' OR x.agency = :agency)"


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UnknownFigure(f"unknown unit kind {kind!r}; use one of {', '.join(KINDS)}")


def audit(
    conn: Connection,
    *,
    p: Period,
    kind: str,
    unit: str,
    figure: str,
    agency: str | None = None,
    principal: Principal | None = None,
) -> dict[str, Any]:
    """The ids behind one unit's figure: case ids (meeting-action ids for the action figures);
    for a town coordinator, only its own town's cases (admins audit every unit)."""
    _check_kind(kind)
    if figure not in FIGURES:
        raise UnknownFigure(f"unknown figure {figure!r}; use one of {', '.join(FIGURES)}")
    if figure in mf.FIGURES:
        return mf.audit(conn, p=p, unit=unit, figure=figure)
    if figure in ACTION_FIGURES:
        return _audit_actions(conn, p=p, kind=kind, unit=unit, figure=figure, agency=agency)
    with _using(conn, p, None) as f:
        found = _audit_cases(conn, f, kind=kind, unit=unit, figure=figure, agency=agency)
    if principal is not None and principal.role is Role.town_coordinator and found["case_ids"]:
        found["case_ids"] = visible_case_ids(conn, ids=found["case_ids"], principal=principal)
    return found


def _audit_cases(
    conn: Connection, f: Facts, *, kind: str, unit: str, figure: str, agency: str | None
) -> dict[str, Any]:
    params = f.p.params() | {"kind": kind, "unit": unit, "agency": agency or ""}
    if figure in q.CASE_FIGURES:
        sql = q.with_(*q.case_base(f.table)) + (
            f"""SELECT DISTINCT f.case_id AS id FROM members x JOIN facts f
            ON f.case_id = x.case_id WHERE {MATCH} AND ({q.CASE_FIGURES[figure]}) ORDER BY 1"""
        )
    elif figure in q.REFERRAL_FIGURES:
        pred = q.REFERRAL_FIGURES[figure].replace("r.", "x.")
        sql = q.with_(*q.referral_base(f.table)) + (
            f"SELECT DISTINCT x.case_id AS id FROM ref_members x WHERE {MATCH} AND ({pred})"
            " ORDER BY 1"
        )
    else:  # joint_joined
        sql = q.with_(*q.case_base(f.table), q.TASK_MEMBERS) + (
            f"SELECT DISTINCT x.case_id AS id FROM task_members x WHERE {MATCH} ORDER BY 1"
        )
    ids = [int(r.id) for r in conn.execute(text(sql), params)]
    return {"figure": figure, "kind": kind, "unit": unit, "case_ids": ids}


def _audit_actions(
    conn: Connection, *, p: Period, kind: str, unit: str, figure: str, agency: str | None
) -> dict[str, Any]:
    ids: list[int] = []
    if _has_actions(conn):
        pred = "x.on_time" if figure == "actions_on_time" else "TRUE"
        sql = q.with_(q.ACTIONS) + f"SELECT x.id FROM actions x WHERE {MATCH} AND {pred} ORDER BY 1"
        params = p.params() | {"kind": kind, "unit": unit, "agency": agency or ""}
        ids = [int(r.id) for r in conn.execute(text(sql), params)]
    return {"figure": figure, "kind": kind, "unit": unit, "action_ids": ids}


def monthly(
    conn: Connection, *, p: Period, kind: str = "town", given: Facts | None = None
) -> list[dict[str, Any]]:
    """Per unit of ``kind`` and month of receipt (China time): received, due for resolution,
    resolved on time; unit ``""`` is the whole district."""
    _check_kind(kind)
    with _using(conn, p, given) as f:
        return _monthly_rows(conn, _monthly_sql(f), p.params() | {"kind": kind})


def _monthly_sql(f: Facts) -> str:
    due, on_time = q.CASE_FIGURES["resolution_due"], q.CASE_FIGURES["resolved_on_time"]
    return q.with_(*q.case_base(f.table)) + (
        f"""SELECT CASE WHEN GROUPING(m.unit) = 1 THEN '' ELSE m.unit END AS unit,
            to_char(f.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month,
            count(*) AS received, count(*) FILTER (WHERE {due}) AS resolution_due,
            count(*) FILTER (WHERE {on_time}) AS resolved_on_time
        FROM facts f LEFT JOIN members m ON m.case_id = f.case_id AND m.kind = :kind
        GROUP BY GROUPING SETS ((m.unit, 2), (2))
        HAVING GROUPING(m.unit) = 1 OR m.unit IS NOT NULL ORDER BY 1, 2"""
    )


def _monthly_rows(conn: Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for r in conn.execute(text(sql), params):
        out.append(
            {
                "unit": r.unit,
                "month": r.month,
                "received": int(r.received),
                "resolution_due": int(r.resolution_due),
                "resolved_on_time": int(r.resolved_on_time),
            }
        )
    return out


def stage_histogram(
    conn: Connection, *, p: Period, given: Facts | None = None
) -> dict[str, list[int]]:
    """Per stage, the number of cases whose duration falls in each bin of
    :data:`assessment.queries.HOUR_BINS` (the last bin open-ended), district-wide."""
    bins = "ARRAY[" + ", ".join(f"{b}.0" for b in q.HOUR_BINS) + "]::float8[]"
    parts = " UNION ALL ".join(
        f"SELECT '{name}' AS stage, width_bucket({q.hours(expr)}, {bins}) AS bin "
        f"FROM facts f WHERE ({expr}) IS NOT NULL"
        for name, expr in q.STAGES.items()
    )
    out = {name: [0] * (len(q.HOUR_BINS) + 1) for name in q.STAGES}
    with _using(conn, p, given) as f:
        sql = q.with_(q.READ_FACTS.format(table=f.table)) + (
            f"SELECT stage, bin, count(*) AS n FROM ({parts}) s GROUP BY 1, 2"
        )
        for r in conn.execute(text(sql), p.params()):
            out[r.stage][int(r.bin)] += int(r.n)
    return out


def case_points(
    conn: Connection, *, p: Period, digits: int = 3, given: Facts | None = None
) -> list[dict[str, Any]]:
    """The period's cases for the map: position rounded to ``digits`` decimals (3 ≈ 100 m),
    handler, town and how the case stands as of the period's end."""
    with _using(conn, p, given) as f:
        rows = conn.execute(text(_points_sql(f)), p.params() | {"digits": digits})
        return [dict(r._mapping) for r in rows]


def _points_sql(f: Facts) -> str:
    return q.with_(q.READ_FACTS.format(table=f.table)) + (
        f"""SELECT f.case_id AS id, round(f.lon::numeric, :digits)::float8 AS lon,
            round(f.lat::numeric, :digits)::float8 AS lat, f.town_code AS town,
            f.handler_party AS agency, f.handler_unit_code AS agency_unit,
            CASE WHEN f.status = 'rejected' THEN 'rejected'
                 WHEN {q.CASE_FIGURES["resolved_on_time"]} THEN 'on_time'
                 WHEN {q.CASE_FIGURES["resolved_late"]} THEN 'late'
                 WHEN {q.CASE_FIGURES["overdue"]} THEN 'overdue'
                 WHEN f.resolved_at IS NOT NULL THEN 'resolved'
                 ELSE 'open' END AS state
        FROM facts f ORDER BY f.case_id"""
    )
