"""Gazetteer geometry for the maps: the roads drawn between the estates, with their names."""

from __future__ import annotations

from sqlalchemy import Connection, text

from places.search import active_generations

_ROADS = text("""
    SELECT coalesce(json_build_object('type', 'FeatureCollection', 'features',
        coalesce(json_agg(json_build_object(
            'type', 'Feature',
            'properties', json_build_object('code', code, 'name', name, 'kind', kind),
            'geometry', ST_AsGeoJSON(
                CASE WHEN :tol > 0 THEN ST_Simplify(geom, :tol) ELSE geom END, 7)::json)
            ORDER BY name, code), '[]'::json))::text, '')
    FROM place
    WHERE dataset IS NOT NULL AND kind = 'road'
      AND (CAST(:xmin AS float8) IS NULL
           OR geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326))
""")


def roads_geojson(
    conn: Connection,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    tolerance: float = 0.0,
) -> str:
    """The gazetteer's roads (WGS-84 GeoJSON text), in ``bbox`` when given."""
    xmin, ymin, xmax, ymax = bbox if bbox else (None, None, None, None)
    params = {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax, "tol": tolerance}
    return str(conn.execute(_ROADS, params).scalar_one())


_LABELS = text("""
    SELECT kind, code, name, round(ST_X(point)::numeric, 6)::float8 AS lon,
           round(ST_Y(point)::numeric, 6)::float8 AS lat
    FROM place WHERE generation_id = ANY(:gens)
    ORDER BY array_position(ARRAY['town', 'community', 'estate'], kind::text), code
""")


def labels(conn: Connection) -> list[dict[str, object]]:
    """Where the maps write the names of the active towns, communities and estates."""
    gens = active_generations(conn)
    return [dict(r._mapping) for r in conn.execute(_LABELS, {"gens": gens})]
