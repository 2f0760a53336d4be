"""The JSON documents of the OGC API: landing page, conformance, collections and the items
envelope (links, ``numberMatched``, ``numberReturned``, ``timeStamp``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson

from ogc import crs
from ogc.catalog import Collection

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]


def _link(href: str, rel: str, media: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media, "title": title}


def landing(base: str) -> dict[str, Any]:
    """``/ogc``: what the API is and where its parts are (``base`` ends in ``/ogc``)."""
    root = base.removesuffix("/ogc")
    return {
        "title": "属地 Shudi — OGC API Features",
        "description": "The district's boundary layers (every generation), its gazetteer and, "
        "for logged-in staff, their cases. JSON only (GeoJSON items); CRS84, EPSG:4326, "
        "EPSG:4490 and the district's CGCS2000 Gauss-Krüger zone.",
        "links": [
            _link(base, "self", JSON, "This document"),
            _link(f"{root}/openapi.json", "service-desc", OPENAPI, "The API definition"),
            _link(f"{root}/docs", "service-doc", "text/html", "The API documentation"),
            _link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            _link(f"{base}/collections", "data", JSON, "The collections"),
        ],
    }


def conformance() -> dict[str, Any]:
    """``/ogc/conformance``: Core, GeoJSON, OpenAPI 3.0 and CRS by reference (no HTML)."""
    return {"conformsTo": CONFORMANCE}


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def collection(base: str, found: Collection, gk_epsg: int | None) -> dict[str, Any]:
    """One collection's description: links, extent, CRSs, what its items can be filtered by
    and, for a boundary layer, its generations."""
    here = f"{base}/collections/{found.id}"
    doc: dict[str, Any] = {
        "id": found.id,
        "title": found.title,
        "description": found.description,
        "itemType": "feature",
        "links": [
            _link(here, "self", JSON, "This collection"),
            _link(f"{here}/items", "items", GEOJSON, f"The features of {found.id}"),
        ],
        "crs": [ref.uri for ref in crs.supported(gk_epsg)],
        "storageCrs": crs.CRS84,
        "geometryType": found.geometry,
        "propertyFilters": list(found.queryables),
    }
    extent: dict[str, Any] = {}
    if found.bbox is not None:
        extent["spatial"] = {"bbox": [list(found.bbox)], "crs": crs.CRS84}
    if found.interval is not None and any(found.interval):
        extent["temporal"] = {"interval": [[_iso(t) for t in found.interval]], "trs": TRS}
    if extent:
        doc["extent"] = extent
    if found.generations:
        doc["generations"] = [
            g
            | {
                "imported": _iso(g["imported"]),
                "href": f"{here}/items?{urlencode({'generation': g['id']})}",
            }
            for g in found.generations
        ]
    return doc


def collections(base: str, found: list[Collection], gk_epsg: int | None) -> dict[str, Any]:
    """``/ogc/collections``."""
    return {
        "links": [_link(f"{base}/collections", "self", JSON, "The collections")],
        "crs": [ref.uri for ref in crs.supported(gk_epsg)],
        "collections": [collection(base, c, gk_epsg) for c in found],
    }


def _with(query: Mapping[str, str], **changes: int) -> str:
    params = dict(query) | {k: str(v) for k, v in changes.items()}
    return urlencode(params)


def items(
    base: str,
    found: Collection,
    query: Mapping[str, str],
    features: list[str],
    *,
    matched: int,
    limit: int,
    offset: int,
) -> bytes:
    """The items answer: a GeoJSON FeatureCollection with ``self``/``next``/``prev``/
    ``collection`` links, ``numberMatched``, ``numberReturned`` and ``timeStamp``."""
    here = f"{base}/collections/{found.id}/items"
    links = [_link(f"{here}?{_with(query)}".rstrip("?"), "self", GEOJSON, "This page")]
    if offset + len(features) < matched:
        nxt = _with(query, offset=offset + limit, limit=limit)
        links.append(_link(f"{here}?{nxt}", "next", GEOJSON, "The next page"))
    if offset > 0:
        prev = _with(query, offset=max(0, offset - limit), limit=limit)
        links.append(_link(f"{here}?{prev}", "prev", GEOJSON, "The previous page"))
    links.append(_link(f"{base}/collections/{found.id}", "collection", JSON, "The collection"))
    envelope = orjson.dumps(
        {
            "links": links,
            "timeStamp": _iso(datetime.now(UTC)),
            "numberMatched": matched,
            "numberReturned": len(features),
        }
    )
    head = b'{"type":"FeatureCollection","features":[' + ",".join(features).encode() + b"],"
    return head + envelope[1:]


def feature(base: str, found: Collection, body: str) -> bytes:
    """One feature with its ``self`` and ``collection`` links."""
    doc = orjson.loads(body)
    here = f"{base}/collections/{found.id}"
    doc["links"] = [
        _link(f"{here}/items/{doc['id']}", "self", GEOJSON, "This feature"),
        _link(here, "collection", JSON, "The collection"),
    ]
    return orjson.dumps(doc)
