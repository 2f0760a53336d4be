"""Planted cases in the mini district: a uniform background and one dense cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Connection, text

CLUSTER = (120.015, 30.005)  # lon, lat: inside P121 (锦绣花园), town T1, community C12

INSERT = text("""
INSERT INTO case_file (tracking_code, type_code, scope, channel, lon, lat, geom, town_code,
                       community_code, handler_party, routing, generations, created_at, status)
SELECT 'HS' || left(md5(random()::text || i::text), 24), :type, 'property_service', 'test', x, y,
       ST_SetSRID(ST_MakePoint(x, y), 4326),
       CASE WHEN x < 120.02 THEN 'T1' ELSE 'T2' END,
       CASE WHEN x < 120.01 THEN 'C11' WHEN x < 120.02 THEN 'C12'
            WHEN y < 30.01 THEN 'C21' ELSE 'C22' END,
       :party, '{}', '{}', t, :status
FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[]), CAST(:ts AS timestamptz[]))
     WITH ORDINALITY AS p(x, y, t, i)
""")


def plant(
    conn: Connection,
    type_code: str,
    *,
    background: int = 400,
    cluster: int = 200,
    seed: int = 1,
    party: str = "urban_management",
    status: str = "closed",
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC),
) -> int:
    """Insert planted cases spread over 8 weeks; returns how many."""
    rng = np.random.default_rng(seed)
    xs = np.r_[rng.uniform(120.0005, 120.0395, background), rng.normal(CLUSTER[0], 0.0007, cluster)]
    ys = np.r_[rng.uniform(30.0005, 30.0195, background), rng.normal(CLUSTER[1], 0.0007, cluster)]
    days = rng.uniform(0, 56, len(xs))
    ts = [start + timedelta(days=float(d)) for d in days]
    conn.execute(
        INSERT,
        {
            "type": type_code,
            "party": party,
            "status": status,
            "xs": xs.round(7).tolist(),
            "ys": ys.round(7).tolist(),
            "ts": ts,
        },
    )
    return len(xs)
