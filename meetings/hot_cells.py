"""Hot cells of a town from the planner analysis (``hotspots``: Getis-Ord Gi* on H3 cells).

Used by the agenda when the ``hotspots`` package is installed: the analysis runs on the town's
cases of the month (its cache is shared with the planner pages), and every cell it calls a
significant hot spot (``gi_bin`` > 0, after its false-discovery-rate control) becomes an
agenda item listing the town's cases of the month inside that cell.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, text

from incidents.queries import CASE_ROWS, SHOWN

#: The analysis grid of agenda hot spots (H3 resolution 9: cells of about 0.1 km²).
GRID = "h3:9"

CASES_IN_CELL = text(f"""
SELECT c.id FROM {CASE_ROWS}
WHERE c.town_code = :town AND {SHOWN}
  AND c.created_at >= :since AND c.created_at < :until
  AND ST_Covers(ST_SetSRID(ST_GeomFromGeoJSON(:cell), 4326), c.geom)
ORDER BY c.id
""")


def gi_star_hot_cells(
    conn: Connection, *, town: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """The significant Gi* hot cells of ``town``'s cases in ``[since, until)``, with their
    cases (none when there are too few cases to analyse)."""
    from hotspots.exceptions import NotEnoughData
    from hotspots.schemas import HotspotQuery
    from hotspots.service import hotspots

    query = HotspotQuery.model_validate({"grid": GRID, "town": town, "from": since, "to": until})
    try:
        outcome = hotspots(conn, query=query, min_count=1)
    except NotEnoughData:
        return []
    features = orjson.loads(outcome.answer.body)["features"]
    cells = []
    for f in features:
        props = f["properties"]
        if (props.get("gi_bin") or 0) <= 0:
            continue
        geom = f["geometry"]
        geom = geom if isinstance(geom, str) else orjson.dumps(geom).decode()
        ids = conn.execute(
            CASES_IN_CELL, {"town": town, "since": since, "until": until, "cell": geom}
        ).scalars()
        cells.append(
            {
                "label": (
                    f"H3 网格 {props['cell']}（{props['count']} 件，Gi* z={props['gi_z']:.2f}）"
                ),
                "case_ids": [int(i) for i in ids],
                "cell": props["cell"],
                "gi_z": props["gi_z"],
                "gi_p": props.get("gi_p_sim", props.get("gi_p")),
                "rule": "Gi* hot spot (hotspots package)",
            }
        )
    return cells
