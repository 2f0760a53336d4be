"""HTTP routes of units' work lists, of the staff's "dissuaded, refused to correct" report
(三（二）) and of the handler's before/after photos (处置前后). Thin: :mod:`incidents.tasks`,
:mod:`incidents.dissuasion` and :mod:`incidents.evidence` decide."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from accounts.router import CurrentPrincipal
from gis.coords import CoordSystem
from incidents import dissuasion, evidence, tasks
from incidents.request_body import photos_of, read_filing
from shudi.database import db_connection, writer_factory

router = APIRouter(prefix="/api/v1", tags=["work lists"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
ConnectionFactory = Callable[[], AbstractContextManager[Connection]]


def _json(payload: Any, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(payload, default=str), status_code=status_code, media_type="application/json"
    )


class TaskDoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000)


class RefusalIn(BaseModel):
    """Found, dissuaded, refused to correct: where, what, when, what was said."""

    model_config = ConfigDict(extra="forbid")
    lon: float
    lat: float
    crs: CoordSystem = CoordSystem.WGS84
    type: str = Field(min_length=1, max_length=64)
    said: str = Field(min_length=1, max_length=2000)
    dissuaded_at: datetime | None = None
    party: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=4000)
    address_text: str = Field(default="", max_length=500)


@router.get("/tasks")
def work_list(conn: Conn, principal: CurrentPrincipal, include_done: bool = False) -> Response:
    """The tasks in the caller's unit's work list (refusal reports, joint-enforcement parts and
    proposals, escalated disputes), open ones first."""
    return _json(tasks.work_list(conn, principal=principal, include_done=include_done))


@router.post("/tasks/{task_id}/done")
def task_done(conn: Conn, principal: CurrentPrincipal, task_id: int, body: TaskDoneIn) -> Response:
    """Mark a task of the caller's work list done, saying what was done."""
    return _json(tasks.finish_task(conn, principal=principal, task_id=task_id, note=body.note))


@router.post("/staff/refusals", status_code=201)
async def file_refusal(
    request: Request,
    principal: CurrentPrincipal,
    writer: Annotated[ConnectionFactory, Depends(writer_factory)],
) -> Response:
    """A property company's or community worker's report of a violation in its own estate or
    community that the violator refused to correct after being dissuaded (JSON, or multipart
    with ``photos``). The town and the competent enforcement department get it at once."""
    body, files = await read_filing(request, RefusalIn, drop_empty=True)

    def work() -> dict[str, Any]:
        photos = photos_of(files)
        report = dissuasion.RefusalReport(
            **body.model_dump(exclude={"crs"}), crs=body.crs.value, photos=photos
        )
        with writer() as conn:
            return dissuasion.file_refusal(conn, principal=principal, report=report)

    return _json(await run_in_threadpool(work), status_code=201)


class EvidenceIn(BaseModel):
    """The handler's photos from before or after handling, with a short note of what was done."""

    model_config = ConfigDict(extra="forbid")
    stage: Literal["before", "after"]
    note: str = Field(default="", max_length=2000)


@router.post("/cases/{case_id}/evidence", status_code=201)
async def add_evidence(
    request: Request,
    principal: CurrentPrincipal,
    case_id: int,
    writer: Annotated[ConnectionFactory, Depends(writer_factory)],
) -> Response:
    """Add the handler's photos from ``before`` or ``after`` handling (multipart: ``stage``,
    ``note``, ``photos``). Types whose remedy can be seen on site are resolved only with both."""
    body, files = await read_filing(request, EvidenceIn, drop_empty=True)

    def work() -> dict[str, Any]:
        photos = photos_of(files)
        with writer() as conn:
            return evidence.add(
                conn,
                case_id=case_id,
                principal=principal,
                stage=body.stage,
                photos=photos,
                note=body.note,
            )

    return _json(await run_in_threadpool(work), status_code=201)
