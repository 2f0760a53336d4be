"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from abuse.router import router as abuse_router
from accounts.admin_router import router as admin_router
from accounts.router import router as accounts_router
from api import (
    admin_pages,
    docs,
    error_responses,
    logs,
    meeting_pages,
    metrics,
    openapi,
    pages,
    tiles,
    vector_tiles,
    workbench,
)
from api.admission import Admission
from api.boundaries_admin import router as boundaries_admin_router
from api.follow_pages import router as follow_pages_router
from api.headers import SecurityHeaders
from api.limits import BodySizeLimit
from assessment.router import page_router as assessment_pages
from assessment.router import router as assessment_router
from audit.sealer import seal_forever
from hotspots.pages import page_router as hotspots_pages
from hotspots.router import router as hotspots_router
from incidents import reminders
from incidents.area_feed_router import router as area_feed_router
from incidents.export_router import router as export_router
from incidents.followup_router import router as followup_router
from incidents.hotline_router import router as hotline_router
from incidents.live_router import router as live_router
from incidents.open311_router import router as open311_router
from incidents.report_in_router import router as report_in_router
from incidents.router import router as incidents_router
from incidents.worklist_router import router as worklist_router
from jurisdictions import index_watch
from jurisdictions.router import router as jurisdictions_router
from meetings.hotspot_router import router as hotspot_agenda_router
from meetings.router import router as meetings_router
from notify import sender as notify_sender
from notify.follow_router import router as follow_router
from notify.router import router as notify_router
from ogc.router import router as ogc_router
from places.router import router as places_router
from shudi.database import check_durability, get_engine
from shudi.settings import get_settings

log = logging.getLogger("shudi")


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Refuse to serve on a database that can lose acknowledged writes; seal the audit log;
    run the outbox's sender (unless ``SHUDI_NOTIFY_IN_SERVER=0`` / ``serve --no-notify``)."""
    settings = get_settings()
    pages.check_basemap()  # a page would answer 500 on every load: refuse to start instead
    if settings.require_durable_db:
        try:
            check_durability(get_engine())
        except SQLAlchemyError as exc:
            log.warning("database not reachable at start-up (%s); /healthz reports 503", exc)
    # everything imported so far lives as long as the process: keep it out of the cyclic
    # collector's full sweeps (measured: they stalled 10,000-point batches by 100-200 ms)
    gc.freeze()
    sealer = None
    if settings.audit_seal_interval_s > 0:
        sealer = asyncio.create_task(seal_forever(settings.audit_seal_interval_s, get_engine))
    outbox = None
    if settings.notify_in_server:  # the sender, and the 督办 reminders on its loop
        remind = notify_sender.Every(settings.notify_remind_every_s, reminders.run_due, "督办")
        outbox = notify_sender.start_thread(get_engine, jobs=[remind])
    boundaries = index_watch.start_thread(get_engine)  # the resolver's index follows activations
    yield
    boundaries[1].set()
    if outbox is not None:
        outbox[1].set()  # the sender finishes its batch (its transaction) and stops
        await asyncio.to_thread(outbox[0].join, 15)
    if sealer is not None:
        sealer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sealer


def create_app() -> FastAPI:
    """Build the app; settings and the engine are created on first use, not here."""
    app = FastAPI(
        title="Shudi 属地",
        summary="Jurisdiction resolution and incident maps for the property-management "
        "law-enforcement linkage mechanism",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # api/docs.py serves both pages from the app's own assets
        redoc_url=None,
    )
    error_responses.install(app)
    logs.install()  # no keys, phones or tracking codes in the access log
    app.add_middleware(SecurityHeaders)
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=1)
    app.add_middleware(Admission)  # no more requests inside than pooled connections
    app.add_middleware(BodySizeLimit)  # outermost: 413 before anything reads the body
    app.add_middleware(metrics.RequestTelemetry)  # request id, latency, access log
    # A request is matched against the routers in this order, each costing 5–55 µs to pass
    # (FastAPI's included routers), so the dispatch centre's busiest requests come first:
    # resolve and pin drops, the cases (map feed, lists, case, track, reports), the work list.
    app.include_router(jurisdictions_router)
    app.include_router(export_router)  # before /cases/{case_id}: /cases.csv etc.
    app.include_router(live_router)  # before /cases/{case_id}: /cases/stream
    app.include_router(incidents_router)
    app.include_router(worklist_router)
    app.include_router(open311_router)
    app.include_router(accounts_router)
    app.include_router(places_router)
    app.include_router(ogc_router)  # /ogc: OGC API - Features
    app.include_router(admin_router)
    app.include_router(boundaries_admin_router)
    app.include_router(hotline_router)
    app.include_router(followup_router)  # 回访 and satisfaction
    app.include_router(report_in_router)  # 吹哨报到
    app.include_router(abuse_router)
    app.include_router(meetings_router)
    app.include_router(meeting_pages.router)
    app.include_router(hotspots_router)
    app.include_router(hotspot_agenda_router)  # a hot cell proposed for the agenda
    app.include_router(notify_router)
    app.include_router(follow_router)
    app.include_router(follow_pages_router)  # /follow: an estate's or community's updates
    app.include_router(area_feed_router)
    app.include_router(hotspots_pages)
    app.include_router(assessment_router)
    app.include_router(assessment_pages)
    app.include_router(workbench.router)
    app.include_router(admin_pages.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.include_router(tiles.router)
    app.include_router(vector_tiles.router)  # after /tiles/basemap
    app.include_router(metrics.router)  # /metrics, /readyz

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        """200 once the database answers, 503 otherwise."""
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return JSONResponse(
                error_responses.error_body("database_unavailable", "the database is not answering"),
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return JSONResponse({"status": "ok"})

    openapi.install(app)
    return app
