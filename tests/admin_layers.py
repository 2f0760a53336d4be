"""Boundary layers the administrator's tests upload, drawn by hand on the mini district of
``support.py`` (C11 = lon 120.00–120.01 with a hole, C12 = 120.01–120.02, both in T1;
C21/C22 in T2, C21 with the exclave filling T1's hole)."""

from __future__ import annotations

import json

from support import HOLE, box


def fc(*features: tuple[str, str, str, list]) -> bytes:
    """A GeoJSON FeatureCollection of (code, name, parent code, rings) as bytes."""
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": code, "name": name, "parent_code": parent},
                    "geometry": {
                        "type": "MultiPolygon" if isinstance(rings[0][0][0], list) else "Polygon",
                        "coordinates": rings,
                    },
                }
                for code, name, parent, rings in features
            ],
        },
        ensure_ascii=False,
    ).encode()


#: The community layer renumbered: C11 becomes C13 and takes lon 120.010–120.012 from C12.
RENUMBERED = fc(
    ("C13", "甲三社区", "T1", [box(120.00, 30.00, 120.012, 30.02), HOLE]),
    ("C12", "甲二社区", "T1", [box(120.012, 30.00, 120.02, 30.02)]),
    ("C21", "乙一社区", "T2", [[box(120.02, 30.00, 120.04, 30.01)], [HOLE]]),  # as it was
    ("C22", "乙二社区", "T2", [box(120.02, 30.01, 120.04, 30.02)]),
)

#: A community layer with errors: C31 and C32 overlap (lon 120.010–120.012), C33 runs out of
#: T2 (which ends at lon 120.04), one feature has no code.
BAD = fc(
    ("C31", "一", "T1", [box(120.00, 30.00, 120.012, 30.02)]),
    ("C32", "二", "T1", [box(120.010, 30.00, 120.02, 30.02)]),
    ("C33", "三", "T2", [box(120.03, 30.00, 120.05, 30.01)]),
    ("", "无编码", "T2", [box(120.02, 30.01, 120.03, 30.02)]),
)

#: Open cases placed west of lon 120.012 in T1 change community (C11/C12 → C13); the others
#: stay. (name, (lon, lat), moves)
PLACES = (
    ("P111 in C11", (120.002, 30.002), True),
    ("P112 in C11", (120.002, 30.012), True),
    ("C12 west strip", (120.011, 30.015), True),
    ("C12 east", (120.016, 30.015), False),
    ("T2", (120.03, 30.015), False),
)
