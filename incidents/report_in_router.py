"""HTTP routes of 吹哨报到 (joint enforcement's response clocks). Thin: :mod:`incidents.report_in`
decides."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from accounts.router import CurrentPrincipal
from gis.coords import CoordSystem
from incidents import report_in, service
from shudi.database import RequestConn as Conn
from shudi.responses import json_answer

router = APIRouter(prefix="/api/v1", tags=["work lists"])


class ReportInBody(BaseModel):
    """Where the phone is (the browser's geolocation: WGS-84) and how sure it is, in metres."""

    model_config = ConfigDict(extra="forbid")
    lon: float
    lat: float
    crs: CoordSystem = CoordSystem.WGS84
    accuracy: float = Field(ge=0)


class RatingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5)
    note: str = Field(default="", max_length=2000)


@router.post("/tasks/{task_id}/report-in")
def report_in_route(
    task_id: int, body: ReportInBody, conn: Conn, principal: CurrentPrincipal
) -> Response:
    """The called unit confirms its arrival at the case's place (报到); refused (422,
    ``too_far_to_report_in``, with ``distance_m``) from outside the tolerance."""
    return json_answer(
        report_in.report_in(
            conn,
            principal=principal,
            task_id=task_id,
            lon=body.lon,
            lat=body.lat,
            crs=body.crs,
            accuracy_m=body.accuracy,
        )
    )


@router.post("/tasks/{task_id}/rating")
def rate_route(task_id: int, body: RatingBody, conn: Conn, principal: CurrentPrincipal) -> Response:
    """The town coordinating the case rates a called unit's response, 1–5."""
    return json_answer(
        report_in.rate(
            conn, principal=principal, task_id=task_id, rating=body.rating, note=body.note
        )
    )


@router.get("/cases/{case_id}/report-ins")
def case_report_ins(case_id: int, conn: Conn, principal: CurrentPrincipal) -> Response:
    """The response clocks of a case's called units (to those who may see the case)."""
    service.get_case(conn, case_id=case_id, principal=principal)  # 404 when not visible
    return json_answer(report_in.case_clocks(conn, case_id=case_id, principal=principal))


@router.get("/report-ins/late")
def late_report_ins(conn: Conn, principal: CurrentPrincipal) -> Response:
    """Open joint cases with an overdue or late report-in (the dispatch map's badges)."""
    return json_answer(report_in.late_report_ins(conn, principal=principal))


@router.get("/joint-tasks/overdue")
def overdue_joint_tasks(conn: Conn, principal: CurrentPrincipal) -> Response:
    """Open joint tasks past their completion deadline (the dispatch map's badges)."""
    return json_answer(report_in.overdue_completions(conn, principal=principal))
