"""The pages: ``/report``, ``/track/{code}``, ``/directory``, the staff's ``/map/dispatch``;
and ``/static``.

Thin: each route asks the services for plain data, hands it to a :mod:`webmap.pages` renderer
and serves the HTML after :func:`webmap.assets.localize` (every library from
``/static/vendor``; only the configured basemap's tiles may come from elsewhere).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Connection

from accounts.exceptions import Forbidden, NotAuthenticated
from accounts.models import Role
from accounts.router import CurrentPrincipal, current_principal, page_principal
from accounts.service import Principal
from incidents import disclosure, evidence, feeds, followup, followup_review, intake, report_in
from incidents import service as cases
from incidents.exceptions import CaseNotFound
from incidents.messages import case_messages
from incidents.workflow import BY_ACTION, weight
from jurisdictions import boundary_tiles, catalog, directory, resident, service
from jurisdictions.exceptions import NoActiveGeneration, TooManyFeatures
from shudi.database import db_connection
from shudi.exceptions import ShudiError
from shudi.settings import get_settings
from webmap import pages
from webmap.assets import localize, vendor_dir
from webmap.basemaps import Basemap, basemap_from_settings
from webmap.pages import case as case_page_view
from webmap.pages import dispatch
from webmap.pages.common import TILED_LAYERS
from webmap.pages.followup_card import followup_card

router = APIRouter(include_in_schema=False, tags=["pages"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
Lang = Annotated[str | None, Query(description="`en` for English; Chinese otherwise.")]

# Boundaries drawn on the maps: simplified as for this zoom (the sample district: ~70 kB).
BOUNDARY_ZOOM = 14
BOUNDARY_LAYERS = ("town", "community")
CODE_RE = re.compile(r"^[A-Za-z0-9]{4,32}$")

# The more specific mount first: /static/pages is the pages' own scripts and stylesheet.
router.mount("/static/pages", StaticFiles(directory=pages.STATIC_DIR), name="static-pages")
router.mount("/static", StaticFiles(directory=vendor_dir().parent, check_dir=False), name="static")


class BasemapSettingError(ShudiError):
    """The basemap settings name no usable basemap."""


def current_basemap() -> Basemap:
    """The basemap the settings name (``SHUDI_BASEMAP`` …); ``none`` by default."""
    s = get_settings()
    kind = s.basemap.strip().lower()
    own_crs = kind == "local" or kind.startswith("file:")  # the other kinds have a fixed CRS
    return basemap_from_settings(
        s.basemap, s.basemap_url, s.tianditu_key, s.basemap_crs if own_crs else None
    )


def check_basemap() -> Basemap:
    """The configured basemap, or :class:`BasemapSettingError` saying in one line what is
    wrong: ``shudi serve`` and the app's start-up call it, so a bad setting stops the server
    instead of failing every map page."""
    try:
        return current_basemap()
    except ValueError as exc:
        raise BasemapSettingError(f"refusing to serve: bad basemap setting: {exc}") from exc


def vector_tiles(conn: Connection, basemap: Basemap) -> dict[str, str]:
    """The active layers' vector tile URLs, for maps on a WGS-84 basemap (none on GCJ-02 ones:
    the tiles are not shifted, so those maps keep GeoJSON)."""
    return {} if basemap.shifts else boundary_tiles.tile_urls(conn)


def boundaries(conn: Connection, tiles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The active town and community layers (WGS-84 GeoJSON); a layer not loaded is left out,
    and so is one the map draws from vector ``tiles`` (:data:`webmap.pages.TILED_LAYERS`)."""
    out = {}
    cap = get_settings().layer_max_features
    for layer in BOUNDARY_LAYERS:
        if tiles and layer in tiles and layer in TILED_LAYERS:
            continue
        try:
            text = service.layer_geojson(conn, layer=layer, zoom=BOUNDARY_ZOOM, cap=cap)
        except (NoActiveGeneration, TooManyFeatures):  # nothing loaded, or too much to draw
            continue
        out[layer] = orjson.loads(text)
    return out


def _page(html: str, basemap: Basemap | None = None, status_code: int = 200) -> HTMLResponse:
    allow = basemap.tile_urls if basemap else ()
    return HTMLResponse(
        localize(html, allow=allow),
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _staff(request: Request, conn: Connection) -> dict[str, Any] | None:
    """The logged-in staff member filing from the field, with the channel their reports go
    through (``None`` when nobody is logged in: a resident)."""
    try:
        principal = current_principal(request, conn)
    except NotAuthenticated:
        return None
    return {
        "username": principal.username,
        "role": principal.role.value,
        "channel": intake.staff_channel(principal.role),
    }


@router.get("/report", response_class=HTMLResponse)
def report_page(request: Request, conn: Conn, lang: Lang = None) -> HTMLResponse:
    """Report a problem: pin, type, details, one submission. A logged-in staff member files
    through their own channel (a community worker's patrol, a property company's …)."""
    basemap = current_basemap()
    tiles = vector_tiles(conn, basemap)
    staff = _staff(request, conn)
    audience: Literal["resident", "staff"] = (
        "staff" if staff and staff.get("channel") else "resident"
    )
    html = pages.render_report(
        types=catalog.resident_types(conn, audience=audience),
        categories=resident.categories(),
        boundaries=boundaries(conn, tiles),
        basemap=basemap,
        lang=pages.lang_of(lang),
        staff=staff,
        tiles=tiles,
    )
    return _page(html, basemap)


@router.get("/track", response_model=None)
def track_lookup(code: str | None = None, lang: Lang = None) -> Response:
    """The form to look a case up; with ``code``, on to its page."""
    language = pages.lang_of(lang)
    value = (code or "").strip().upper()
    if not value:
        return _page(pages.render_track_lookup(lang=language))
    if not CODE_RE.match(value):
        html = pages.render_track_lookup(lang=language, code=value, not_found=True)
        return _page(html, status_code=404)
    suffix = "?lang=en" if language == "en" else ""
    return RedirectResponse(f"/track/{quote(value)}{suffix}", status_code=303)


@router.get("/track/{tracking_code}", response_class=HTMLResponse)
def track_page(conn: Conn, tracking_code: str, lang: Lang = None) -> HTMLResponse:
    """A case as its reporter sees it (no personal data); 404 for an unknown code."""
    language = pages.lang_of(lang)
    try:
        data = cases.track(conn, tracking_code=tracking_code)
    except CaseNotFound:
        html = pages.render_track_lookup(lang=language, code=tracking_code, not_found=True)
        return _page(html, status_code=404)
    basemap = current_basemap()
    plain = resident.annotate({"code": data["type_code"], "name_zh": data.get("type_name")})
    data |= {"plain_zh": plain["plain_zh"], "plain_en": plain["plain_en"]}
    tiles = [dataclasses.asdict(layer) for layer in basemap.layers]
    html = pages.render_track(data, lang=language, tiles=tiles, crs=basemap.coordinate_system.value)
    return _page(html, basemap)


@router.get("/directory", response_class=HTMLResponse)
def directory_page(conn: Conn, lang: Lang = None, type: str | None = None) -> HTMLResponse:
    """Who is responsible here: tap the map (``type``: list its agency early)."""
    basemap = current_basemap()
    tiles = vector_tiles(conn, basemap)
    html = pages.render_directory(
        boundaries=boundaries(conn, tiles),
        basemap=basemap,
        lang=pages.lang_of(lang),
        type_code=type,
        tiles=tiles,
    )
    return _page(html, basemap)


@router.get("/directory/{property_area_code}", response_class=HTMLResponse)
def estate_directory_page(conn: Conn, property_area_code: str, lang: Lang = None) -> HTMLResponse:
    """One estate's directory, rendered on the server; 404 for an unknown estate."""
    basemap = current_basemap()
    tiles = vector_tiles(conn, basemap)
    language = pages.lang_of(lang)
    path = f"/directory/{quote(property_area_code)}"
    try:
        data = directory.directory_for_property_area(conn, code=property_area_code)
    except directory.PropertyAreaNotFound:
        html = pages.render_directory(
            boundaries=boundaries(conn, tiles),
            basemap=basemap,
            lang=language,
            path=path,
            not_found=property_area_code,
            tiles=tiles,
        )
        return _page(html, basemap, status_code=404)
    html = pages.render_directory(
        boundaries=boundaries(conn, tiles),
        basemap=basemap,
        lang=language,
        data=data,
        path=path,
        tiles=tiles,
    )
    return _page(html, basemap)


# --- staff: the dispatcher's live map ----------------------------------------------------------

DISPATCH_ROLES = frozenset({Role.dispatcher, Role.town_coordinator})


def _towns(conn: Connection) -> dict[str, Any]:
    """The active town layer (WGS-84 GeoJSON); empty when none is loaded."""
    try:
        text = service.layer_geojson(
            conn, layer="town", zoom=BOUNDARY_ZOOM, cap=get_settings().layer_max_features
        )
    except (NoActiveGeneration, TooManyFeatures):
        return {"type": "FeatureCollection", "features": []}
    return dict(orjson.loads(text))


@router.get("/map/dispatch", response_model=None)
def dispatch_page(request: Request, conn: Conn, lang: Lang = None) -> Response:
    """Open cases, live, for dispatchers and town coordinators; others get a 403 page and
    a visitor who is not logged in is sent to the log-in page."""
    language = pages.lang_of(lang)
    principal = page_principal(
        request, conn, here=dispatch.PATH + ("?lang=en" if language == "en" else "")
    )
    if not isinstance(principal, Principal):
        return principal
    user = {
        "username": principal.username,
        "role": principal.role.value,
        "town_code": principal.town_code,
    }
    if principal.role not in DISPATCH_ROLES:
        html = dispatch.render_dispatch_forbidden(user=user, lang=language)
        return _page(html, status_code=403)
    basemap = current_basemap()
    html = dispatch.render_dispatch(
        basemap=basemap,
        towns=_towns(conn),
        agencies=catalog.list_agencies(conn),
        types=catalog.list_types(conn),
        layers=service.generations_at(conn),
        user=user,
        lang=language,
        tiles=vector_tiles(conn, basemap),
        communities=service.area_names(conn, layers=("community",)),
    )
    return _page(html, basemap)


@router.get("/map/dispatch/heat.json", response_model=None)
def dispatch_heat(conn: Conn, principal: CurrentPrincipal) -> Response:
    """The dispatch map's heat layer: the visible cases of the last 30 days, counted per
    ~10 m cell, positioned for the basemap."""
    if principal.role not in DISPATCH_ROLES:
        raise Forbidden("the dispatch map is for dispatchers and town coordinators")
    points = feeds.heat_points(conn, principal=principal, days=dispatch.HEAT_DAYS)
    body = dispatch.heat_payload(points, current_basemap())
    return Response(
        orjson.dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"}
    )


# --- staff: one case ---------------------------------------------------------------------------


def _followup_card(conn: Connection, case: dict[str, Any], principal: Principal, lang: str) -> str:
    """The case's 回访 card: answers, the open 回访 call, the rating exclusion."""
    visit = next(
        (t["id"] for t in case.get("tasks") or ()
         if t.get("kind") == "return_visit" and not t["done"]),
        None,
    )  # fmt: skip
    return followup_card(
        case_id=int(case["id"]),
        answers=followup.case_followups(conn, case_id=int(case["id"])),
        exclusion=followup_review.exclusion_of(conn, case_id=int(case["id"])),
        open_visit=visit,
        role=principal.role.value,
        lang=lang,
    )


@router.get("/cases/{case_id}", response_model=None)
def case_page(request: Request, conn: Conn, case_id: int, lang: Lang = None) -> Response:
    """A case for the staff who may see it (as ``GET /api/v1/cases/{id}`` decides: others get
    a 404 page), with the actions they may take; not logged in → the log-in page."""
    language = pages.lang_of(lang)
    principal = page_principal(
        request, conn, here=f"/cases/{case_id}" + ("?lang=en" if language == "en" else "")
    )
    if not isinstance(principal, Principal):
        return principal
    try:
        case = cases.get_case(conn, case_id=case_id, principal=principal)
        history = cases.events(conn, case_id=case_id, principal=principal)
        photos = cases.photos(conn, case_id=case_id, principal=principal)
        messages = case_messages(conn, case_id=case_id, principal=principal)
    except CaseNotFound:
        user = {"username": principal.username, "role": principal.role.value}
        html = case_page_view.render_case_not_found(case_id=case_id, lang=language, user=user)
        return _page(html, None, 404)
    en = language == "en"
    basemap = current_basemap()
    html = case_page_view.render_case(
        case,
        events=history,
        photos=photos,
        messages=messages,
        actions=[
            {
                "action": a,
                "summary": BY_ACTION[a].summary,
                "requires": BY_ACTION[a].requires,
                "public": BY_ACTION[a].public,
                "weight": weight(a),
            }
            for a in case["allowed_actions"]
        ],
        agencies={
            str(a["code"]): str((en and a.get("name_en")) or a.get("name_zh") or a["code"])
            for a in catalog.list_agencies(conn)
        },
        types={  # the type-correction picker: problems a report may name, not duties
            str(t["code"]): str((en and t.get("name_en")) or t.get("name_zh") or t["code"])
            for t in catalog.list_types(conn, reportable=True)
        },
        user={"username": principal.username, "role": principal.role.value},
        lang=language,
        event_labels={a: t.summary for a, t in BY_ACTION.items()},
        basemap=basemap,
        evidence=evidence.state(conn, case=case, principal=principal),
        disclosure=disclosure.state(conn, case=case, principal=principal),
        followup=_followup_card(conn, case, principal, language),
        report_ins=report_in.case_clocks(conn, case_id=case_id, principal=principal),
    )
    return _page(html, basemap)
