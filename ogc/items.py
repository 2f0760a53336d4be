"""The SQL that answers ``/items`` and ``/items/{featureId}``, assembled from named pieces.

Each collection kind is a :class:`Source`: its table, the feature id, the geometry, the
properties (a ``json_build_object`` of named columns: only what the collection publishes),
its base condition, how ``datetime`` selects and which column each property filter reads.
Features are serialised by PostGIS (``ST_AsGeoJSON``) in the requested CRS and axis order;
the answer's envelope (links, counts, time stamp) is added by :mod:`ogc.documents`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import access
from incidents.queries import TYPED_CASE_ROWS
from ogc.catalog import Collection
from ogc.crs import CrsRef
from ogc.exceptions import FeatureNotFound, InvalidParameter
from ogc.params import Interval, ItemsQuery


@dataclass(frozen=True)
class Source:
    """How one kind of collection is read."""

    table: str
    id: str
    geom: str
    properties: dict[str, str]  # published name → SQL expression
    filters: dict[str, str]  # query parameter → column it is compared with
    time: str  # a condition on :t_start / :t_end (NULL: open), or TRUE


BOUNDARY_TIME = """b.generation_id IN (
  SELECT p.generation_id FROM generation_period p
  WHERE p.layer = :layer AND p.agency = :agency
    AND (CAST(:t_end AS timestamptz) IS NULL OR p.valid_from <= :t_end)
    AND (CAST(:t_start AS timestamptz) IS NULL OR p.valid_to IS NULL OR p.valid_to > :t_start))"""

_BOUNDARY_COMMON = {"code": "b.code", "name": "b.name", "name_en": "b.name_en"}
#: The published properties of each boundary layer (the store's columns that layer uses).
BOUNDARY_PROPERTIES: dict[str, dict[str, str]] = {
    "town": _BOUNDARY_COMMON | {"kind": "b.kind"},
    "community": _BOUNDARY_COMMON | {"parent_code": "b.parent_code"},
    "property_area": _BOUNDARY_COMMON
    | {
        "parent_code": "b.parent_code",
        "property_company": "b.property_company",
        "owners_committee": "b.owners_committee",
        "households": "b.households",
    },
    "agency_unit": _BOUNDARY_COMMON | {"agency": "b.agency"},
}
BOUNDARY_FILTERS = {"code": "b.code", "name": "b.name", "parent_code": "b.parent_code"}

PLACE = Source(
    table="place p",
    id="p.id",
    geom="p.geom",
    properties={
        "code": "p.code",
        "name": "p.name",
        "kind": "p.kind",
        "context": "p.context",
        "dataset": "p.dataset",
    },
    filters={"code": "p.code", "name": "p.name", "kind": "p.kind"},
    time="TRUE",  # the gazetteer has no time: datetime selects everything
)

#: What staff read of a case: place, type, status, handler and times — the fields a property
#: company may see of any case (``access.LIMITED_FIELDS``); never the reporter, the
#: description or the address a resident typed.
CASE = Source(
    table=TYPED_CASE_ROWS,
    id="c.id",
    geom="c.geom",
    properties={
        "type": "c.type_code",
        "type_name": "vt.name_zh",
        "scope": "c.scope",
        "urgency": "c.urgency",
        "status": "c.status",
        "agency": "c.handler_party",
        "agency_unit": "c.handler_unit_code",
        "handler": "c.handler_name",
        "town": "c.town_code",
        "community": "c.community_code",
        "property_area": "c.property_area_code",
        "created_at": "c.created_at",
        "updated_at": "c.updated_at",
        "due_at": "c.due_at",
        "closed_at": "c.closed_at",
        "overdue": "(c.due_at IS NOT NULL AND c.due_at < now() "
        "AND c.status NOT IN ('resolved', 'closed', 'rejected'))",
    },
    filters={
        "status": "c.status",
        "type": "c.type_code",
        "agency": "c.handler_party",
        "town": "c.town_code",
        "community": "c.community_code",
        "property_area": "c.property_area_code",
    },
    time="""((CAST(:t_end AS timestamptz) IS NULL OR c.created_at <= :t_end)
         AND (CAST(:t_start AS timestamptz) IS NULL OR c.created_at >= :t_start))""",
)

#: The geometry in the requested CRS and axis order (ST_AsGeoJSON option 0: no crs member).
GEOMETRY = "ST_AsGeoJSON({flip}(ST_Transform({geom}, CAST(:srid AS int))), :digits, 0)::json"
BBOX = """ST_Intersects({geom}, ST_Transform(
  ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, CAST(:bbox_srid AS int)), 4326))"""
FEATURE = """SELECT json_build_object('type', 'Feature', 'id', {id}, 'geometry', {geometry},
  'properties', json_build_object({properties}))::text
FROM {table} WHERE {where} ORDER BY {id} LIMIT :limit OFFSET :offset"""
COUNT = "SELECT count(*) FROM {table} WHERE {where}"


def source_of(collection: Collection) -> Source:
    """The :class:`Source` of a collection."""
    if collection.kind == "boundary":
        return Source(
            table="boundary b",
            id="b.id",
            geom="b.geom",
            properties=BOUNDARY_PROPERTIES[collection.layer] | {"generation": "b.generation_id"},
            filters=BOUNDARY_FILTERS,
            time=BOUNDARY_TIME,
        )
    if collection.kind in ("places", "roads"):
        return PLACE
    return CASE


def _base(
    collection: Collection, principal: Principal | None, generation: int | None, dated: bool
) -> tuple[list[str], dict[str, Any]]:
    """The collection's own condition: its layer and generation, the gazetteer's rows, or the
    cases the principal may see."""
    if collection.kind == "boundary":
        where = ["b.layer = :layer", "b.agency = :agency"]
        params: dict[str, Any] = {"layer": collection.layer, "agency": collection.agency}
        if generation is not None:
            known = [g["id"] for g in collection.generations]
            if generation not in known:
                raise InvalidParameter(
                    f"generation {generation} is not one of {collection.id}'s: {known}"
                )
            where.append("b.generation_id = :generation")
            params["generation"] = generation
        elif not dated:  # neither generation nor datetime: the active generation
            where.append("b.generation_id = :generation")
            params["generation"] = collection.active_generation or 0
        return where, params
    if collection.kind in ("places", "roads"):
        kind = "=" if collection.kind == "places" else "<>"
        return [f"p.dataset IS NOT NULL AND GeometryType(p.geom) {kind} 'POINT'"], {}
    assert principal is not None, "the router lets no anonymous caller read cases"
    visible, scope = access.visibility(principal)
    return [visible], dict(scope)


def _geometry(source: Source, out: CrsRef) -> tuple[str, dict[str, Any]]:
    sql = GEOMETRY.format(flip="ST_FlipCoordinates" if out.north_first else "", geom=source.geom)
    return sql, {"srid": out.srid, "digits": out.digits}


def _properties(source: Source) -> str:
    return ", ".join(f"'{name}', {expr}" for name, expr in source.properties.items())


def _conditions(
    source: Source, query: ItemsQuery, where: list[str], params: dict[str, Any]
) -> None:
    """Add the request's ``bbox``, ``datetime`` and property filters (values may be lists:
    ``status=accepted,joint``)."""
    if query.bbox is not None:
        where.append(BBOX.format(geom=source.geom))
        xmin, ymin, xmax, ymax = query.bbox
        params |= {
            "xmin": xmin,
            "ymin": ymin,
            "xmax": xmax,
            "ymax": ymax,
            "bbox_srid": query.bbox_crs.srid,
        }
    if query.datetime is not None:
        where.append(source.time)
        params |= _interval(query.datetime)
    for i, (name, value) in enumerate(sorted(query.filters.items())):
        where.append(f"{source.filters[name]} = ANY(CAST(:f{i} AS text[]))")
        params[f"f{i}"] = [v.strip() for v in value.split(",") if v.strip()]


def _interval(interval: Interval) -> dict[str, Any]:
    return {"t_start": interval.start, "t_end": interval.end}


def read_items(
    conn: Connection,
    *,
    collection: Collection,
    query: ItemsQuery,
    principal: Principal | None = None,
) -> tuple[list[str], int]:
    """The page of features (each as GeoJSON text) and how many match in all."""
    source = source_of(collection)
    where, params = _base(collection, principal, query.generation, query.datetime is not None)
    _conditions(source, query, where, params)
    condition = " AND ".join(f"({w})" for w in where)
    matched = conn.execute(
        text(COUNT.format(table=source.table, where=condition)), params
    ).scalar_one()
    geometry, geo_params = _geometry(source, query.out_crs)
    sql = FEATURE.format(
        id=source.id,
        geometry=geometry,
        properties=_properties(source),
        table=source.table,
        where=condition,
    )
    rows = conn.execute(
        text(sql), params | geo_params | {"limit": query.limit, "offset": query.offset}
    ).scalars()
    return list(rows), int(matched)


def read_feature(
    conn: Connection,
    *,
    collection: Collection,
    feature_id: str,
    out: CrsRef,
    principal: Principal | None = None,
) -> str:
    """One feature as GeoJSON text (of any generation, for a boundary layer);
    :class:`FeatureNotFound` when there is none the caller may see."""
    if not feature_id.isdigit() or len(feature_id) > 18:
        raise FeatureNotFound(f"no feature {feature_id!r} in {collection.id}")
    source = source_of(collection)
    where, params = _base(collection, principal, None, dated=True)
    where.append(f"{source.id} = :fid")
    geometry, geo_params = _geometry(source, out)
    sql = FEATURE.format(
        id=source.id,
        geometry=geometry,
        properties=_properties(source),
        table=source.table,
        where=" AND ".join(f"({w})" for w in where),
    )
    row = conn.execute(
        text(sql), params | geo_params | {"fid": int(feature_id), "limit": 1, "offset": 0}
    ).scalar_one_or_none()
    if row is None:
        raise FeatureNotFound(f"no feature {feature_id} in {collection.id}")
    return str(row)
