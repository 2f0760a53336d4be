"""HTTP routes of joint meetings (the API; the pages are ``api/meeting_pages.py``). Thin: the
service decides who may do what."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Connection

from accounts.router import CurrentPrincipal
from meetings import minutes, papers, service
from meetings.schemas import ActionDoneIn, PrepareIn, RecordIn
from shudi.database import db_connection

router = APIRouter(tags=["meetings"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
Format = Literal["json", "html", "pdf", "xlsx"]


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    raise TypeError(type(obj).__name__)


def _json(payload: Any, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(payload, default=_default),
        status_code=status_code,
        media_type="application/json",
    )


async def _export(meeting: dict[str, Any], fmt: Format) -> Response:
    if fmt == "json":
        return _json(meeting)
    body, media = await run_in_threadpool(papers.export, meeting, fmt)
    name = f"meeting-{meeting['town_code']}-{meeting['month']}-{meeting['id']}.{fmt}"
    disposition = "inline" if fmt in ("html", "pdf") else "attachment"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'{disposition}; filename="{name}"'}
    )


@router.post("/api/v1/meetings", status_code=201)
def prepare(conn: Conn, principal: CurrentPrincipal, body: PrepareIn) -> Response:
    """Prepare a town's agenda from the case data (the month's regular meeting, refreshed
    while a draft; or a new extraordinary meeting)."""
    meeting = service.prepare(
        conn,
        town=body.town,
        month=body.month,
        principal=principal,
        kind=body.kind,
        topic=body.topic,
    )
    return _json(meeting, status_code=201)


@router.get("/api/v1/meetings")
def list_meetings(conn: Conn, principal: CurrentPrincipal, town: str | None = None) -> Response:
    """The meetings this user may read, newest month first."""
    return _json(service.list_meetings(conn, principal=principal, town=town))


@router.get(
    "/api/v1/meetings/{meeting_id}",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/json": {},
                "text/html": {},
                "application/pdf": {},
                papers.EXPORTS["xlsx"][1]: {},
            }
        }
    },
)
async def get_meeting(
    conn: Conn, principal: CurrentPrincipal, meeting_id: int, format: Format = "json"
) -> Response:
    """A meeting: agenda, decisions, actions, attendees, figures; as JSON, HTML, PDF or Excel."""
    meeting = await run_in_threadpool(
        service.load, conn, meeting_id=meeting_id, principal=principal
    )
    return await _export(meeting, format)


@router.get("/api/v1/meetings/{meeting_id}/agenda")
def get_agenda(conn: Conn, principal: CurrentPrincipal, meeting_id: int) -> Response:
    """The agenda in its published JSON form: town, month, items, figures."""
    meeting = service.load(conn, meeting_id=meeting_id, principal=principal)
    return _json(service.agenda_json(meeting))


@router.post("/api/v1/meetings/{meeting_id}/record")
def record(conn: Conn, principal: CurrentPrincipal, meeting_id: int, body: RecordIn) -> Response:
    """Record the meeting: date, attendees, decisions and their actions."""
    meeting = minutes.record(
        conn,
        meeting_id=meeting_id,
        principal=principal,
        held_on=body.held_on,
        attendees=[a.model_dump() for a in body.attendees],
        decisions=[d.model_dump() for d in body.decisions],
        note=body.note,
    )
    return _json(meeting)


@router.post("/api/v1/meetings/actions/{action_id}/done")
def action_done(
    conn: Conn, principal: CurrentPrincipal, action_id: int, body: ActionDoneIn
) -> Response:
    """Mark a decision's action done; it then leaves the next agendas' follow-ups."""
    meeting = minutes.complete_action(
        conn, action_id=action_id, principal=principal, done_on=body.done_on, note=body.note
    )
    return _json(meeting)
