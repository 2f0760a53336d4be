"""吹哨报到: the response clock of each unit a town calls to a joint enforcement.

When the ``joint`` action creates a unit's task, :func:`open_clock` gives it a report-in
deadline and a completion deadline (per urgency level, :file:`data/report_in.yaml`; working
minutes are counted on the calendar of :mod:`incidents.deadlines`). The called unit confirms its
arrival (:func:`report_in`) with the phone's position, which must lie within the tolerance
(setting ``report_in_tolerance_m``) of the case's place; the town rates each called unit's
response 1–5 (:func:`rate`). This module owns the writes to ``task_response``.

States of a clock: ``waiting`` (not reported, not yet due), ``overdue`` (not reported, past
due), ``on_time``, ``late`` (reported after the deadline).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, text

from accounts.models import Role
from accounts.service import Principal
from gis.coords import CoordinateError, CoordSystem, to_wgs84, validate_lonlat
from incidents import store
from incidents.deadlines import Duration, add_working_hours, load_policy
from incidents.exceptions import InvalidReport, TaskNotFound, TooFarToReportIn, TransitionForbidden
from incidents.tasks import _unit_condition
from shudi.settings import get_settings

CLOCKS_PATH = Path(__file__).with_name("data") / "report_in.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReportIn(_Frozen):
    minutes: int = Field(gt=0)
    working: bool


class Clock(_Frozen):
    report_in: ReportIn
    complete: Duration


class Clocks(_Frozen):
    levels: dict[str, Clock] = Field(min_length=1)

    def due(self, urgency: str, start: datetime) -> tuple[datetime, datetime, str]:
        """(report-in deadline, completion deadline, basis in Chinese) of a call at ``start``."""
        clock = self.levels.get(urgency) or self.levels["ordinary"]
        r = clock.report_in
        if r.working:
            report_by = add_working_hours(start, timedelta(minutes=r.minutes))
            zh = f"{r.minutes}分钟内报到（工作时间计算）"
        else:
            report_by = start.astimezone(UTC) + timedelta(minutes=r.minutes)
            zh = f"{r.minutes}分钟内报到（自然时间）"
        complete_by = clock.complete.after(start, load_policy().working_hours)
        return report_by, max(complete_by, report_by), f"{zh}；{clock.complete.text('zh')}内完成"


@lru_cache(maxsize=4)
def load_clocks(path: Path = CLOCKS_PATH) -> Clocks:
    return Clocks.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def open_clock(conn: Connection, *, task_id: int, urgency: str, now: datetime) -> None:
    """Start the response clock of a joint task just created (called by the ``joint`` action)."""
    report_by, complete_by, basis = load_clocks().due(urgency, now)
    conn.execute(
        text("""INSERT INTO task_response (task_id, called_at, report_due_at, complete_due_at,
                    basis_zh) VALUES (:t, :now, :r, :c, :b)"""),
        {"t": task_id, "now": now, "r": report_by, "c": complete_by, "b": basis},
    )


def state(row: Any, now: datetime) -> str:
    """``waiting``, ``overdue``, ``on_time`` or ``late`` (see the module docstring)."""
    if row["reported_at"] is None:
        return "overdue" if now > row["report_due_at"] else "waiting"
    return "late" if row["reported_at"] > row["report_due_at"] else "on_time"


CLOCK_ROWS = """SELECT t.id AS task_id, t.case_id, t.party, t.unit_code, t.unit_name, t.done,
        t.done_at, r.called_at, r.report_due_at, r.complete_due_at, r.basis_zh, r.reported_at,
        r.report_accuracy_m, r.report_distance_m, r.rating, r.rating_note, r.rated_at,
        c.town_code, c.status, c.lon, c.lat
    FROM task_response r JOIN case_task t ON t.id = r.task_id
    JOIN case_file c ON c.id = t.case_id"""


def _shape(row: Any, now: datetime, principal: Principal | None = None) -> dict[str, Any]:
    out = dict(row)
    out["state"] = state(row, now)
    if principal is not None:
        out["may_report_in"] = bool(
            row["reported_at"] is None and not row["done"] and _is_called_unit(principal, row)
        )
        out["may_rate"] = _is_town(principal, row)
    return out


def _is_called_unit(principal: Principal, row: Any) -> bool:
    role, party = principal.role, row["party"]
    if role is Role.agency_officer:
        return bool(party == principal.agency and principal.agency_unit in (None, row["unit_code"]))
    if role is Role.town_coordinator:
        return bool(party == "town_government" and row["unit_code"] == principal.town_code)
    if role is Role.community_worker:
        return bool(party == "community_committee" and row["unit_code"] == principal.community_code)
    return False


def _is_town(principal: Principal, row: Any) -> bool:
    return bool(principal.role is Role.town_coordinator and principal.town_code == row["town_code"])


def case_clocks(
    conn: Connection,
    *,
    case_id: int,
    principal: Principal | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The response clocks of one case's called units (the caller has checked the case is
    visible to ``principal``); with a principal, what it may do with each."""
    now = now or datetime.now(UTC)
    rows = conn.execute(text(CLOCK_ROWS + " WHERE t.case_id = :c ORDER BY t.id"), {"c": case_id})
    return [_shape(r, now, principal) for r in rows.mappings()]


def late_report_ins(
    conn: Connection, *, principal: Principal, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Clocks of open joint cases whose report-in is overdue or was late, for the dispatch
    map: the dispatcher sees all, a town coordinator its town's."""
    if principal.role not in (Role.dispatcher, Role.town_coordinator):
        raise TransitionForbidden("only dispatchers and town coordinators watch report-in clocks")
    now = now or datetime.now(UTC)
    rows = conn.execute(
        text(
            CLOCK_ROWS
            + """ WHERE c.status = 'joint' AND NOT t.done
                   AND (r.reported_at > r.report_due_at
                        OR (r.reported_at IS NULL AND r.report_due_at < :now))
                   AND (CAST(:town AS text) IS NULL OR c.town_code = :town)
                 ORDER BY r.report_due_at, t.id"""
        ),
        {
            "now": now,
            "town": principal.town_code if principal.role is Role.town_coordinator else None,
        },
    )
    return [_shape(r, now) for r in rows.mappings()]


def overdue_completions(
    conn: Connection, *, principal: Principal, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Clocks of open joint tasks past their completion deadline, for the dispatch map: the
    dispatcher sees all, a town coordinator its town's."""
    if principal.role not in (Role.dispatcher, Role.town_coordinator):
        raise TransitionForbidden("only dispatchers and town coordinators watch report-in clocks")
    now = now or datetime.now(UTC)
    rows = conn.execute(
        text(
            CLOCK_ROWS
            + """ WHERE c.status = 'joint' AND NOT t.done AND r.complete_due_at < :now
                   AND (CAST(:town AS text) IS NULL OR c.town_code = :town)
                 ORDER BY r.complete_due_at, t.id"""
        ),
        {
            "now": now,
            "town": principal.town_code if principal.role is Role.town_coordinator else None,
        },
    )
    return [_shape(r, now) for r in rows.mappings()]


def _locked(conn: Connection, task_id: int, cond: str = "TRUE", **params: Any) -> Any:
    return (
        conn.execute(
            text(CLOCK_ROWS + f" WHERE t.id = :id AND t.kind = 'joint' AND {cond} FOR UPDATE OF r"),
            params | {"id": task_id},
        )
        .mappings()
        .first()
    )


def report_in(
    conn: Connection,
    *,
    principal: Principal,
    task_id: int,
    lon: float,
    lat: float,
    crs: CoordSystem | str = CoordSystem.WGS84,
    accuracy_m: float,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The called unit confirms its arrival (报到) at the case's place; the clock's new state.

    Only the called unit may; the position (in ``crs``) must be within the tolerance of the
    case's place and its stated accuracy no worse than the tolerance."""
    now = now or datetime.now(UTC)
    cond, params = _unit_condition(principal)
    row = _locked(conn, task_id, cond, **params) if principal.role is not Role.dispatcher else None
    if row is None:
        raise TaskNotFound(f"no joint-enforcement task {task_id} for your unit")
    if row["done"] or row["status"] != "joint":
        raise InvalidReport("该联合执法任务已结束，无需报到")
    if row["reported_at"] is not None:
        raise InvalidReport("本单位已报到，无需重复报到")
    try:
        validate_lonlat(lon, lat)
        wlon, wlat = to_wgs84(lon, lat, crs)
    except (CoordinateError, ValueError) as e:
        raise InvalidReport(f"位置无效：{e}") from e
    tolerance = get_settings().report_in_tolerance_m
    if not 0 <= accuracy_m <= tolerance:
        raise TooFarToReportIn(
            f"定位精度为 {accuracy_m:.0f} 米，超过允许的 {tolerance:.0f} 米，"
            "请打开卫星定位或到室外后重试",
            accuracy_m=round(accuracy_m, 1),
            tolerance_m=tolerance,
        )
    distance = float(
        conn.execute(
            text("""SELECT ST_Distance(c.geom::geography,
                        ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
                    FROM case_file c WHERE c.id = :c"""),
            {"lon": wlon, "lat": wlat, "c": row["case_id"]},
        ).scalar_one()
    )
    if distance > tolerance:
        raise TooFarToReportIn(
            f"您距离案件地点约 {distance:.0f} 米，超出允许的 {tolerance:.0f} 米，"
            "请到达现场后再报到",
            distance_m=round(distance, 1),
            tolerance_m=tolerance,
        )
    conn.execute(
        text("""UPDATE task_response SET reported_at = :now, reported_by = :u, report_lon = :lon,
                    report_lat = :lat, report_accuracy_m = :acc, report_distance_m = :d
                WHERE task_id = :t"""),
        {"now": now, "u": principal.user_id, "lon": wlon, "lat": wlat, "acc": accuracy_m,
         "d": distance, "t": task_id},
    )  # fmt: skip
    late = now > row["report_due_at"]
    store.add_event(
        conn,
        case_id=row["case_id"],
        actor=principal,
        action="report_in",
        from_status=row["status"],
        to_status=row["status"],
        note=f"{row['unit_name']} 到场报到" + ("（超时）" if late else ""),
        data={"task_id": task_id, "party": row["party"], "late": late,
              "distance_m": round(distance, 1)},
        public=False,
    )  # fmt: skip
    return _shape(_locked(conn, task_id), now, principal)


def rate(
    conn: Connection,
    *,
    principal: Principal,
    task_id: int,
    rating: int,
    note: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The town coordinating the case rates a called unit's response, 1–5 (again: replaced)."""
    now = now or datetime.now(UTC)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidReport("评分须为 1 至 5 的整数")
    row = _locked(conn, task_id)
    if row is None:
        raise TaskNotFound(f"no joint-enforcement task {task_id}")
    if not _is_town(principal, row):
        raise TransitionForbidden("只有协调该案件的镇（街道）可以评价参与单位的响应")
    conn.execute(
        text("""UPDATE task_response SET rating = :r, rating_note = :n, rated_by = :u,
                    rated_at = :now WHERE task_id = :t"""),
        {"r": rating, "n": note.strip(), "u": principal.user_id, "now": now, "t": task_id},
    )
    store.add_event(
        conn,
        case_id=row["case_id"],
        actor=principal,
        action="rate_response",
        from_status=row["status"],
        to_status=row["status"],
        note=f"{row['unit_name']} 响应评分 {rating}"
        + (f"：{note.strip()}" if note.strip() else ""),
        data={"task_id": task_id, "party": row["party"], "rating": rating},
        public=False,
    )
    return _shape(_locked(conn, task_id), now, principal)


def unit_clocks(
    conn: Connection, *, principal: Principal, case_ids: list[int], now: datetime | None = None
) -> dict[int, list[dict[str, Any]]]:
    """Case id → the clocks of the principal's unit's open joint tasks on those cases (the
    work list shows when the unit must report in)."""
    if not case_ids:
        return {}
    now = now or datetime.now(UTC)
    cond, params = _unit_condition(principal)
    rows = conn.execute(
        text(
            CLOCK_ROWS
            + f""" WHERE t.case_id = ANY(:ids) AND t.kind = 'joint' AND NOT t.done AND {cond}
                   AND {"FALSE" if principal.role is Role.dispatcher else "TRUE"}
                 ORDER BY t.id"""
        ),
        params | {"ids": case_ids},
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows.mappings():
        out.setdefault(int(r["case_id"]), []).append(_shape(r, now))
    return out
