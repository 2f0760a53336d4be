"""What a planner may read from an answer: the small-sample rule, the cases inside one cell and
the density surface as a file (PNG or GeoTIFF). Plain keyword-only use cases over the service.

Small-sample rule: an analysis of fewer than ``min_cases`` cases (the setting
``SHUDI_HOTSPOT_MIN_CASES``, 30 by default) draws no conclusion. Its cells keep their counts but
lose their hot/cold classes (``gi_bin`` 0, ``moran_label`` ``ns``, ``category``
``no_pattern``) and the summary says ``conclusive: false`` with the minimum, so neither the map
nor an export shows "new hot spots" made of a handful of cases. The rule is applied to the
answer as served (not to the cached one), so the cache stays shared with the meeting agenda.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, text

from hotspots import service
from hotspots.analysis import Answer, density
from hotspots.exceptions import InvalidHotspotQuery, NotEnoughData
from hotspots.schemas import HotspotQuery, Method
from incidents.queries import CASE_ROWS

#: The classes an inconclusive answer falls back to.
NEUTRAL = {"gi_bin": 0, "moran_label": "ns", "category": "no_pattern"}

#: The most cases one cell lists.
CELL_CASES_LIMIT = 500

CELL_CASES = text(
    "SELECT c.id, c.type_code, t.name_zh AS type_name, c.status, c.created_at, c.town_code "
    + service.CASES.replace(
        f"FROM {CASE_ROWS}", f"FROM {CASE_ROWS} LEFT JOIN violation_type t ON t.code = c.type_code"
    )
    + " AND ST_Covers(ST_SetSRID(ST_GeomFromGeoJSON(:cell), 4326), c.geom)"
    " ORDER BY c.created_at DESC, c.id DESC LIMIT :limit"
)


def small_sample(answer: Answer, *, min_cases: int) -> Answer:
    """``answer`` with the small-sample rule applied (unchanged when it has enough cases or is
    not a cell map)."""
    if answer.media_type != "application/geo+json" or answer.n_points >= min_cases:
        return answer
    body = orjson.loads(answer.body)
    for feature in body["features"]:
        props = feature["properties"]
        for key, value in NEUTRAL.items():
            if key in props:
                props[key] = value
    summary = body.setdefault("summary", {})
    for key in ("hot", "cold", "HH", "LL", "HL", "LH"):
        summary.pop(key, None)
    if "categories" in summary:
        summary["categories"] = {"no_pattern": len(body["features"])}
    summary |= {"conclusive": False, "min_cases": min_cases}
    return Answer(answer.media_type, orjson.dumps(body), answer.n_points)


def cell_cases(
    conn: Connection, *, query: HotspotQuery, cell: str, min_count: int, processes: int = 0
) -> dict[str, Any]:
    """The cases (id, type, status, report time) inside one cell of ``query``'s answer that
    match its filters, newest first. ``NotEnoughData`` when the answer has no such cell."""
    if query.method is Method.kde:
        raise InvalidHotspotQuery("the density surface has no cells; choose a cell map")
    answer = service.hotspots(conn, query=query, min_count=min_count, processes=processes).answer
    features = orjson.loads(answer.body)["features"]
    match = next((f for f in features if str(f["properties"].get("cell")) == cell), None)
    if match is None:
        raise NotEnoughData(f"no cell {cell!r} in this analysis")
    rows = conn.execute(
        CELL_CASES,
        {
            "type": query.type,
            "agency": query.agency,
            "scope": query.scope,
            "statuses": query.statuses,
            "from_": query.from_,
            "to": query.to,
            "town": query.town,
            "cell": orjson.dumps(match["geometry"]).decode(),
            "limit": CELL_CASES_LIMIT,
        },
    ).mappings()
    cases = [
        {
            "id": int(r["id"]),
            "type": r["type_code"],
            "type_name": r["type_name"] or r["type_code"],
            "status": r["status"],
            "created_at": r["created_at"].isoformat(),
            "town": r["town_code"],
        }
        for r in rows
    ]
    return {"cell": cell, "name": match["properties"].get("name"), "cases": cases}


def density_file(conn: Connection, *, query: HotspotQuery, min_count: int, kind: str) -> bytes:
    """The density surface of ``query`` as ``png`` (the map's picture, bounds in its text) or
    ``tif`` (a GeoTIFF of cases per km², float32, in the raster's projected CRS; pixels that
    stand for fewer than ``min_count`` cases within one bandwidth are 0)."""
    if kind not in ("png", "tif"):
        raise InvalidHotspotQuery(f"a density surface exports as png or tif, not {kind!r}")
    query = query.model_copy(update={"method": Method.kde})
    raster, png, blank = density(query, service.read_inputs(conn, query=query), min_count=min_count)
    if kind == "png":
        return png
    import rasterio
    from rasterio.transform import Affine

    values = np.where(raster.values < blank, 0.0, raster.values).astype(np.float32)
    out = io.BytesIO()
    with rasterio.MemoryFile() as memory:
        with memory.open(
            driver="GTiff",
            height=values.shape[0],
            width=values.shape[1],
            count=1,
            dtype="float32",
            crs=raster.crs,
            transform=Affine(*raster.transform),
            nodata=None,
            compress="deflate",
        ) as dst:
            dst.write(values, 1)
            dst.update_tags(units="cases per km2", bandwidth_m=f"{raster.bandwidth_m:.1f}")
        out.write(memory.read())
    return out.getvalue()
