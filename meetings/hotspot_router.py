"""The planner's "propose this hot cell for the agenda" route: it reads a hot cell's cases
(``hotspots``) and proposes them for the town's next joint meeting (``meetings.proposals``), so
it sits in ``meetings``, above both."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Connection

from accounts.service import Principal
from hotspots import readable
from hotspots.access import analyst, scoped
from hotspots.exceptions import InvalidHotspotQuery
from hotspots.schemas import HotspotQuery
from meetings.proposals import propose_hotspot
from shudi.database import db_connection
from shudi.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["hotspots"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]


@router.post("/hotspots/cells/{cell}/agenda", status_code=201)
def hotspot_cell_to_agenda(
    conn: Conn,
    who: Annotated[Principal, Depends(analyst)],
    cell: str,
    query: Annotated[HotspotQuery, Query()],
) -> dict[str, Any]:
    """Propose one cell, with its cases, for its town's next joint meeting (the town chosen,
    else the town most of the cell's cases lie in)."""
    settings = get_settings()
    listed = readable.cell_cases(
        conn,
        query=scoped(who, query),
        cell=cell,
        min_count=settings.hotspot_min_count,
        processes=settings.hotspot_processes,
    )
    towns = [c["town"] for c in listed["cases"] if c["town"]]
    town = query.town or who.town_code or max(set(towns), key=towns.count, default=None)
    if town is None:
        raise InvalidHotspotQuery("this cell has no cases in a town; choose a town first")
    title = f"{listed['name'] or '网格 ' + cell}（{len(listed['cases'])} 件）"
    return propose_hotspot(
        conn,
        town=town,
        cell=cell,
        title=title,
        case_ids=[c["id"] for c in listed["cases"] if c["town"] == town],
        proposed_by=who.username,
    )
