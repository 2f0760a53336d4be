"""Vector tiles of the boundary layers: ``/tiles/{collection}/{z}/{x}/{y}.mvt``.

Mapbox Vector Tiles (``ST_AsMVT``) on the Web Mercator grid (EPSG:3857, XYZ: row 0 at the
north), one MVT layer per tile named after its collection: ``town``, ``community``,
``property_area`` or ``agency_unit-<agency>``. Each feature carries the public attributes of its
area only: ``code``, ``name`` (the Chinese name) and ``parent_code`` (absent for towns and
agency units) — never anything about people.

A tile is drawn from the layer's *active* generation, or from the generation named by the
caller (``generation=``; it must be one of the collection's). Generations are immutable — a
change is a new generation — so a tile is a function of (database, generation, z, x, y): that
is the key of the in-process cache (:class:`TileCache`) and of the ``ETag``. Activating a
generation changes the active id, hence the key: the next request renders the new generation,
and a browser revalidating its copy gets the new tile instead of a 304.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from jurisdictions.exceptions import (
    GenerationNotFound,
    InvalidTile,
    NoActiveGeneration,
    TileOutOfRange,
    UnknownCollection,
)
from jurisdictions.models import Layer
from jurisdictions.service import generations_at

#: Deepest zoom served (Leaflet's maps stop at 19-22; past this a tile would be a few metres).
MAX_ZOOM = 22
#: MVT grid of a tile and the margin drawn around it (in those units): lines at the tile's
#: edge are not cut short by the renderer's stroke. 1024 units = 4 per pixel of a 256-pixel
#: tile (2 on a high-density screen): outlines are simplified to one unit, a quarter pixel —
#: measured on the sample district's dispatch view, 4096 units made the tiles 30 % larger for
#: no visible difference (benchmarks/mvt.py).
EXTENT = 1024
BUFFER = 16
#: The collections' names: plain layers, and ``agency_unit-<agency>`` for one agency's units.
PLAIN_LAYERS = ("town", "community", "property_area")
AGENCY_PREFIX = "agency_unit-"
#: Bump when the tile's content changes for the same generation (new attributes …).
FORMAT_VERSION = 2
#: gzip level of the tiles sent compressed (once per tile: the cache keeps the result).
GZIP_LEVEL = 6


@dataclass(frozen=True)
class TileAddress:
    z: int
    x: int
    y: int


def parse_address(z: str, x: str, y: str) -> TileAddress:
    """``z``/``x``/``y`` as they come in a URL → a tile, or :class:`InvalidTile` (not whole
    numbers, z past :data:`MAX_ZOOM`) / :class:`TileOutOfRange` (x or y off the grid)."""
    if not all(v.isascii() and v.isdigit() and len(v) <= 9 for v in (z, x, y)):
        raise InvalidTile(f"tile {z}/{x}/{y}: z, x and y must be whole numbers ≥ 0")
    zi, xi, yi = int(z), int(x), int(y)
    if zi > MAX_ZOOM:
        raise InvalidTile(f"tile {z}/{x}/{y}: zoom {zi} is past the deepest served, {MAX_ZOOM}")
    side = 1 << zi
    if xi >= side or yi >= side:
        raise TileOutOfRange(
            f"tile {z}/{x}/{y} does not exist: at zoom {zi}, x and y run from 0 to {side - 1}"
        )
    return TileAddress(zi, xi, yi)


@dataclass(frozen=True)
class Collection:
    """A boundary collection: the layer, and the agency for agency units."""

    name: str
    layer: str
    agency: str

    @property
    def key(self) -> str:
        """The key of :func:`jurisdictions.service.generations_at`."""
        return f"{self.layer}:{self.agency}" if self.agency else self.layer


def parse_collection(name: str) -> Collection:
    """``town`` | ``community`` | ``property_area`` | ``agency_unit-<agency>``; anything else is
    :class:`UnknownCollection`."""
    if name in PLAIN_LAYERS:
        return Collection(name, name, "")
    agency = name[len(AGENCY_PREFIX) :] if name.startswith(AGENCY_PREFIX) else ""
    if agency and all(c.isascii() and (c.isalnum() or c == "_") for c in agency):
        return Collection(name, Layer.agency_unit.value, agency)
    known = ", ".join((*PLAIN_LAYERS, f"{AGENCY_PREFIX}<agency>"))
    raise UnknownCollection(f"no vector tile collection {name!r}; collections: {known}")


def collection_name(layer: str, agency: str = "") -> str:
    """The collection of a layer key's parts (``agency_unit``, ``public_security`` →
    ``agency_unit-public_security``)."""
    return f"{AGENCY_PREFIX}{agency}" if agency else layer


# --- the SQL, in named pieces ------------------------------------------------------------------

#: The tile's envelope in Web Mercator, and the same grown by the buffer in the store's
#: WGS-84 (a Mercator rectangle is a longitude/latitude rectangle: its corners suffice).
TILE_BOUNDS = f"""
SELECT ST_TileEnvelope(:z, :x, :y) AS env,
       ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 4326) AS env4326
"""

#: The active generation of one layer (and agency); none when the layer is not loaded.
ACTIVE_GENERATION = text("""
SELECT generation_id FROM generation_period
WHERE valid_to IS NULL AND layer = :layer AND agency = :agency
""")

#: What a named generation is a generation of.
GENERATION_LAYER = text("SELECT layer, agency FROM boundary_generation WHERE id = :g")

#: An area in Web Mercator simplified to one tile unit (collapsed parts kept).
SIMPLIFIED = f"""ST_Simplify(ST_Transform(b.geom, 3857),
                             (ST_XMax(bounds.env) - ST_XMin(bounds.env)) / {EXTENT}, true)"""

#: One tile of one generation: its areas clipped to the tile and its buffer, in tile units.
BOUNDARY_TILE = text(f"""
WITH bounds AS ({TILE_BOUNDS})
SELECT ST_AsMVT(t.*, :name, {EXTENT}, 'geom')
FROM (
  SELECT b.code, b.name, b.parent_code,
         ST_AsMVTGeom({SIMPLIFIED}, bounds.env, {EXTENT}, {BUFFER}, true) AS geom
  FROM boundary b, bounds
  WHERE b.generation_id = :gen AND b.geom && bounds.env4326
  ORDER BY b.code
) t
WHERE t.geom IS NOT NULL
""")

#: Where the tiles of this connection's database come from (a cache shared by databases
#: in one process — tests — must tell their generations apart).
DATABASE_IDENTITY = text("""
SELECT current_database() || '@' || COALESCE(inet_server_addr()::text, 'local')
       || ':' || current_setting('port')
""")


# --- the cache ---------------------------------------------------------------------------------


class TileCache:
    """A thread-safe LRU of rendered tiles, bounded by their total bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return data

    def put(self, key: tuple[Any, ...], data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes -= len(old) if old is not None else 0
            self._items[key] = data
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def __contains__(self, key: tuple[Any, ...]) -> bool:
        with self._lock:
            return key in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


#: Every worker's own (a few hundred kB per zoom level of the sample district).
CACHE = TileCache(max_bytes=64 * 1024 * 1024)
_identities: dict[str, str] = {}


def _database(conn: Connection) -> str:
    url = conn.engine.url.render_as_string(hide_password=True)
    ident = _identities.get(url)
    if ident is None:
        ident = _identities[url] = f"{url}|{conn.execute(DATABASE_IDENTITY).scalar_one()}"
    return ident


# --- the use case ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundaryTile:
    """A tile's key (its ``etag``), whether it is pinned to a named generation (immutable:
    cache it for good) and its bytes (empty when no area reaches the tile)."""

    collection: str
    generation_id: int
    address: TileAddress
    pinned: bool
    key: tuple[Any, ...]

    @property
    def etag(self) -> str:
        a = self.address
        return f'"{self.collection}-g{self.generation_id}-{a.z}-{a.x}-{a.y}-v{FORMAT_VERSION}"'


def tile_key(
    conn: Connection,
    *,
    collection: str,
    z: str,
    x: str,
    y: str,
    generation: int | None = None,
) -> BoundaryTile:
    """Which tile a request names — the generation it is drawn from and its cache key —
    without drawing it (a revalidation with the same ``ETag`` needs no more)."""
    coll = parse_collection(collection)
    address = parse_address(z, x, y)
    if generation is None:
        gen = conn.execute(ACTIVE_GENERATION, {"layer": coll.layer, "agency": coll.agency})
        gen_id = gen.scalar_one_or_none()
        if gen_id is None:
            raise NoActiveGeneration(f"layer {coll.key} has no active generation")
    else:
        row = conn.execute(GENERATION_LAYER, {"g": generation}).first()
        if row is None or (row.layer, row.agency) != (coll.layer, coll.agency):
            raise GenerationNotFound(
                f"no generation {generation} of {coll.name}", generation_id=generation
            )
        gen_id = generation
    key = (_database(conn), int(gen_id), address.z, address.x, address.y, FORMAT_VERSION)
    return BoundaryTile(coll.name, int(gen_id), address, generation is not None, key)


def render(conn: Connection, tile: BoundaryTile) -> bytes:
    """The tile's MVT bytes (from the cache when drawn before; empty: no area there)."""
    data = CACHE.get(tile.key)
    if data is None:
        a = tile.address
        params = {"z": a.z, "x": a.x, "y": a.y, "gen": tile.generation_id, "name": tile.collection}
        data = bytes(conn.execute(BOUNDARY_TILE, params).scalar_one() or b"")
        CACHE.put(tile.key, data)
    return data


def gzipped(tile: BoundaryTile, data: bytes) -> bytes:
    """The tile's bytes gzip-compressed (from the cache when compressed before)."""
    key = (*tile.key, "gzip")
    packed = CACHE.get(key)
    if packed is None:
        packed = gzip.compress(data, GZIP_LEVEL, mtime=0)
        CACHE.put(key, packed)
    return packed


def boundary_tile(
    conn: Connection,
    *,
    collection: str,
    z: str,
    x: str,
    y: str,
    generation: int | None = None,
) -> tuple[BoundaryTile, bytes]:
    """A boundary collection's tile ``z/x/y``: its key and its MVT bytes."""
    tile = tile_key(conn, collection=collection, z=z, x=x, y=y, generation=generation)
    return tile, render(conn, tile)


def tile_urls(conn: Connection) -> dict[str, str]:
    """Layer key (``town``, ``agency_unit:public_security`` …) → the URL template of its active
    generation's tiles, pinned to that generation (``?generation=N``: cached for good; a page
    rendered after an activation names the new one)."""
    out = {}
    for key, gen in generations_at(conn).items():
        layer, _, agency = key.partition(":")
        out[key] = f"/tiles/{collection_name(layer, agency)}/{{z}}/{{x}}/{{y}}.mvt?generation={gen}"
    return out
