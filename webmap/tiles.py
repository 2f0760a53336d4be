"""A tile package the district supplies, served by the app itself: ``SHUDI_BASEMAP=file:PATH``.

An MBTiles file (the SQLite format of the MBTiles 1.3 specification: a ``tiles`` table of
``zoom_level``, ``tile_column``, ``tile_row`` (TMS: row 0 at the south) and ``tile_data``, and a
``metadata`` table of ``name``/``value``) holding raster tiles (PNG, JPEG or WebP) in Web
Mercator. The app serves them at ``/tiles/basemap/{z}/{x}/{y}`` (XYZ, row 0 at the north), so an
intranet needs no tile server and pages no internet. Vector tiles (``pbf``) are refused: the
pages draw raster tiles. A PMTiles archive is converted first (``pmtiles convert`` writes
MBTiles); docs/basemaps.md says how to get a package.

The file is opened read-only (``mode=ro``, ``immutable``): replace it and restart to change it.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

URL = "/tiles/basemap/{z}/{x}/{y}"
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


class TilePackageError(ValueError):
    """The tile package cannot be served (missing, not MBTiles, vector tiles …)."""


@dataclass(frozen=True)
class TilePackage:
    path: Path
    format: str
    min_zoom: int
    max_zoom: int
    attribution: str
    name: str

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ ``z/x/y`` (``None`` when the package has none there)."""
        if not (0 <= z <= 30 and 0 <= x < 2**z and 0 <= y < 2**z):
            return None
        row = (
            _connection(self.path)
            .execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                "AND tile_row = ?",
                (z, x, (1 << z) - 1 - y),
            )
            .fetchone()
        )
        return bytes(row[0]) if row else None


_local = threading.local()


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


def _connection(path: Path) -> sqlite3.Connection:
    """One read-only connection per thread and file."""
    cache: dict[Path, sqlite3.Connection] = getattr(_local, "conns", None) or {}
    _local.conns = cache
    if path not in cache:
        cache[path] = _connect(path)
    return cache[path]


@lru_cache(maxsize=4)
def _open(path: Path, _mtime: float) -> TilePackage:
    try:
        conn = _connect(path)
        try:
            meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
            zooms = conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise TilePackageError(f"{path} is not an MBTiles file ({exc})") from exc
    fmt = str(meta.get("format") or "png").strip().lower()
    if fmt in ("pbf", "mvt"):
        raise TilePackageError(
            f"{path} holds vector tiles ({fmt}); the maps need raster tiles (png, jpg, webp)"
        )
    if fmt not in MEDIA_TYPES:
        raise TilePackageError(f"{path}: unknown tile format {fmt!r} (png, jpg or webp)")
    if zooms is None or zooms[0] is None:
        raise TilePackageError(f"{path} holds no tiles")
    return TilePackage(
        path=path,
        format=fmt,
        min_zoom=int(meta.get("minzoom") or zooms[0]),
        max_zoom=int(meta.get("maxzoom") or zooms[1]),
        attribution=str(meta.get("attribution") or meta.get("name") or path.name),
        name=str(meta.get("name") or path.stem),
    )


def open_package(path: str | Path) -> TilePackage:
    """The package at ``path``, checked (cached until the file changes)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise TilePackageError(f"no tile package at {file}")
    return _open(file.resolve(), file.stat().st_mtime)
