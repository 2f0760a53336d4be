"""HTTP routes of the assessment: the figures (JSON, Excel, PDF), the case ids behind each
figure, and the dashboard pages. Town coordinators and administrators only (others 403)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.responses import Response as RawResponse
from sqlalchemy import Connection

from accounts.exceptions import Forbidden
from accounts.models import Role
from accounts.router import CurrentPrincipal, page_principal
from accounts.service import Principal
from assessment import bulletin, export, service
from assessment import figures_page as figures
from assessment.period import CHINA, Period
from assessment.period import period as make_period
from assessment.report_in_figures import report_in_figures, report_in_table
from assessment.schemas import Assessment, AuditList
from jurisdictions import service as territory
from jurisdictions.exceptions import NoActiveGeneration, TooManyFeatures
from shudi.clock import beijing_text
from shudi.database import db_connection
from shudi.settings import get_settings
from webmap.basemaps import Basemap, basemap_from_settings
from webmap.pages import assessment as pages

router = APIRouter(prefix="/api/v1/assessment", tags=["assessment"])
page_router = APIRouter(include_in_schema=False, tags=["pages"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
ASSESSORS = frozenset({Role.town_coordinator, Role.admin})
MAP_DIGITS = 3  # ≈ 100 m: where cases cluster, not whose home it is


def assessor(principal: CurrentPrincipal) -> Principal:
    """The principal, if a town coordinator or an administrator; 403 otherwise."""
    if principal.role not in ASSESSORS:
        raise Forbidden("the assessment is for town coordinators and administrators")
    return principal


Assessor = Annotated[Principal, Depends(assessor)]


def period(
    first: Annotated[
        date | None, Query(alias="from", description="First day (default 1 January)")
    ] = None,
    last: Annotated[date | None, Query(alias="to", description="Last day, included")] = None,
) -> Period:
    """The period asked for (China time), this year so far by default."""
    today = datetime.now(UTC).astimezone(CHINA).date()
    return make_period(first=first or date(today.year, 1, 1), last=last or today)


PeriodQ = Annotated[Period, Depends(period)]


@router.get("/report-ins")
def report_ins(conn: Conn, _who: Assessor, p: PeriodQ) -> RawResponse:
    """吹哨报到: each called unit's on-time report-in rate and the towns' mean rating of its
    responses, for joint-enforcement calls made in the period."""
    payload = {"from": p.first, "to": p.last, "units": report_in_figures(conn, p=p)}
    return RawResponse(orjson.dumps(payload), media_type="application/json")


@router.get(
    "",
    response_model=Assessment,
    responses={200: {"content": {"application/pdf": {}, export.RENDERERS["xlsx"][1]: {}}}},
)
def assessment(
    conn: Conn,
    _who: Assessor,
    p: PeriodQ,
    format: Literal["json", "xlsx", "pdf"] = "json",
) -> RawResponse:
    """Every agency's, agency unit's and town's figures for the period (definitions in
    docs/assessment.md); ``format=xlsx|pdf`` for the export."""
    if format == "json":
        payload = export.figures(conn, p=p)
        return RawResponse(orjson.dumps(payload), media_type="application/json")
    out = export.render(conn, p=p, fmt=format)
    return RawResponse(
        out.content,
        media_type=out.media_type,
        headers={"Content-Disposition": f'attachment; filename="{out.filename}"'},
    )


@router.get("/cases", response_model=AuditList)
def audit(
    conn: Conn,
    who: Assessor,
    p: PeriodQ,
    kind: Literal["agency", "agency_unit", "town"],
    unit: str,
    figure: str,
    agency: str | None = None,
) -> AuditList:
    """The case ids behind one unit's figure (meeting-action ids for the action figures),
    limited to the cases the user may see."""
    found = service.audit(
        conn, p=p, kind=kind, unit=unit, figure=figure, agency=agency, principal=who
    )
    return AuditList.model_validate(found)


# --- pages ------------------------------------------------------------------------------------


def _basemap() -> Basemap:
    s = get_settings()
    local = s.basemap.strip().lower() == "local"
    return basemap_from_settings(
        s.basemap, s.basemap_url, s.tianditu_key, s.basemap_crs if local else None
    )


def _page_principal(request: Request, conn: Connection, here: str) -> Principal | RawResponse:
    """The logged-in assessor; else a redirect to log in, or a 403 page."""
    principal = page_principal(request, conn, here=here)
    if not isinstance(principal, Principal):
        return principal
    if principal.role not in ASSESSORS:
        user = {"username": principal.username, "role": principal.role.value}
        return HTMLResponse(pages.render_forbidden(user=user), status_code=403)
    return principal


@page_router.get(pages.PATH, response_model=None)
def dashboard(request: Request, conn: Conn, p: PeriodQ) -> RawResponse:
    """The ranking tables, charts and case map for the period."""
    principal = _page_principal(request, conn, pages.PATH)
    if not isinstance(principal, Principal):
        return principal
    query = urlencode({"from": str(p.first), "to": str(p.last)})
    doc, result = export.document_and_figures(conn, p=p)
    own = principal.town_code if principal.role is Role.town_coordinator else None
    html = pages.render_dashboard(
        content=figures.dashboard_content(
            doc,
            figures.render_rankings(
                result["units"], first=str(p.first), last=str(p.last), own_town=own
            )
            + report_in_table(report_in_figures(conn, p=p)),  # 吹哨报到
        ),
        first=str(p.first),
        last=str(p.last),
        user={"username": principal.username, "role": principal.role.value},
        downloads={
            "Excel": f"{router.prefix}?{query}&format=xlsx",
            "PDF": f"{router.prefix}?{query}&format=pdf",
            "JSON": f"{router.prefix}?{query}",
        },
        map_url=f"{pages.MAP_PATH}?{query}",
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@page_router.get(figures.CASES_PATH, response_model=None)
def figure_cases(
    request: Request,
    conn: Conn,
    p: PeriodQ,
    kind: Literal["agency", "agency_unit", "town"],
    unit: Annotated[str, Query(max_length=64)],
    figure: Annotated[str, Query(max_length=64)],
    agency: Annotated[str | None, Query(max_length=64)] = None,
) -> RawResponse:
    """What lies behind one figure of one unit: its cases (for a rate, those of its numerator
    and denominator), meeting actions or months, as ``GET /api/v1/assessment/cases`` lists."""
    principal = _page_principal(request, conn, figures.CASES_PATH)
    if not isinstance(principal, Principal):
        return principal
    parts = service.RATES.get(figure, (figure,))
    lists = [
        (
            bulletin.DEFINITIONS[f][0] if f in bulletin.DEFINITIONS else f,
            service.audit(
                conn, p=p, kind=kind, unit=unit, figure=f, agency=agency, principal=principal
            ),
        )
        for f in parts
    ]
    html = figures.render_audit(
        lists,
        unit_name=service.unit_name(conn, kind=kind, unit=unit, agency=agency),
        figure=figure,
        first=str(p.first),
        last=str(p.last),
        as_of=beijing_text(p.as_of, label=True),
        user={"username": principal.username, "role": principal.role.value},
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


def _names(result: dict) -> dict[tuple[str, str], str]:
    out = {}
    for u in result["units"]:
        code = f"{u['agency']}/{u['unit']}" if u["kind"] == "agency_unit" else u["unit"]
        out[(u["kind"], code)] = u["name"]
    return out


def _towns(conn: Connection) -> dict:
    try:
        text = territory.layer_geojson(
            conn, layer="town", zoom=14, cap=get_settings().layer_max_features
        )
    except (NoActiveGeneration, TooManyFeatures):
        return {"type": "FeatureCollection", "features": []}
    return dict(orjson.loads(text))


@page_router.get(pages.MAP_PATH, response_model=None)
def case_map(request: Request, conn: Conn, p: PeriodQ) -> RawResponse:
    """Each unit's cases of the period on a map (positions rounded to about 100 m)."""
    principal = _page_principal(request, conn, pages.MAP_PATH)
    if not isinstance(principal, Principal):
        return principal
    with service.facts(conn, p=p) as shared:
        points = service.case_points(conn, p=p, digits=MAP_DIGITS, given=shared)
        names = _names(service.assess(conn, p=p, given=shared))
    html = pages.render_case_map(points=points, names=names, towns=_towns(conn), basemap=_basemap())
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})
