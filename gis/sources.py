"""Where a boundary file may be read from: local files and local archives only.

Government intranets have no internet and a boundary file must not reach out to one: URLs,
GDAL's network file systems, and VRT/GDALG/WFS files that point at remote sources or database
and web-service connections are refused with one clear error, GDAL's network options are set to
fail fast, and the dataset inside a zip (Shapefiles in a sub-folder, several layers) is found.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import IO

import pyogrio

from gis.exceptions import BoundaryFileError

_HEAD_BYTES = 4096  # where GDAL's VRT driver looks for its root element too
_MAX_SCAN_BYTES = 64 << 20

OFFLINE_GDAL_CONFIG = {
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/vsicurl/shudi-network-access-disabled.invalid",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".shudi-network-access-disabled",
    "GDAL_HTTP_PROXY": "127.0.0.1:0",
    "GDAL_HTTPS_PROXY": "127.0.0.1:0",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GML_DOWNLOAD_SCHEMA": "NO",
    "GML_DOWNLOAD_WFS_SCHEMA": "NO",
}
_REMOTE_VSI = re.compile(r"/vsi(?:curl|s3|gs|az|adls|oss|swift|hdfs|webhdfs)", re.IGNORECASE)
_URL = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_CONNECTION = re.compile(
    r"(?:^|[>\"'\s])(?:WFS|OAPIF|OGCAPI|PG|MYSQL|ODBC|MSSQL|OCI|HANA|CARTO|NGW|EEDA|ES|"
    r"ELASTICSEARCH|CSW|PLSCENES|AMIGOCLOUD|ADBC|MONGODBV3):",
    re.IGNORECASE,
)
_XMLNS = re.compile(r"\sxmlns(?::[\w.-]+)?\s*=\s*(\"[^\"]*\"|'[^']*')")
_INDIRECTION_MARKERS = (b"<ogrvrtdatasource", b"<vrtdataset", b"gdal_streamed_alg", b"<ogrwfs")
_ARCHIVE_VSI = re.compile(r"^/vsi(?:zip|tar|gzip|7z|rar)/", re.IGNORECASE)
_VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".fgb", ".gml", ".kml", ".tab", ".mif", ".vrt")


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _refuse_remote(text: str, where: str) -> None:
    if _URL.search(text) or _REMOTE_VSI.search(text):
        raise BoundaryFileError(
            f"{where}: network sources are disabled; download the data and import a local file"
        )


def local_source(label: str, file_layer: str | None) -> str:
    """Check ``label`` is local and return the string to hand to GDAL."""
    _refuse_remote(label, label)
    if label.lower().startswith("/vsi"):
        if not _ARCHIVE_VSI.match(label):
            raise BoundaryFileError(
                f"{label}: only local files and /vsizip/, /vsitar/, /vsigzip/ archives are read"
            )
        candidate = Path(_ARCHIVE_VSI.sub("", label).replace("{", "").replace("}", ""))
        while not candidate.is_file() and candidate != candidate.parent:
            candidate = candidate.parent
        if not candidate.is_file():
            raise BoundaryFileError(f"{label}: no such archive")
        return label
    file = Path(label).expanduser()
    if not file.exists():
        raise BoundaryFileError(f"{label}: no such file")
    if file.is_file() and file.suffix.lower() == ".zip":
        return _zip_source(file, file_layer, label)
    if file.is_file():
        with file.open("rb") as handle:
            _check_indirection(handle, label)
    return str(file)


def _check_indirection(handle: IO[bytes], label: str) -> None:
    """Refuse VRT/GDALG/WFS files that point at URLs, network file systems or services."""
    head = handle.read(_HEAD_BYTES)
    if not any(marker in head.lower() for marker in _INDIRECTION_MARKERS):
        return
    if b"<ogrwfs" in head.lower():
        raise BoundaryFileError(f"{label}: WFS service descriptions are network sources")
    content = head + handle.read(_MAX_SCAN_BYTES)
    text = _XMLNS.sub("", content.decode("utf-8", errors="replace"))
    _refuse_remote(text, f"{label} references a remote source")
    if _CONNECTION.search(text):
        raise BoundaryFileError(f"{label} references a database or web service; not allowed")


def _zip_source(file: Path, file_layer: str | None, label: str) -> str:
    """Find the dataset inside a zip: Shapefiles may sit in a sub-folder GDAL would not search."""
    try:
        with zipfile.ZipFile(file) as archive:
            members = [
                info
                for info in archive.infolist()
                if not info.is_dir() and not info.filename.startswith("__MACOSX/")
            ]
            for info in members:
                with archive.open(info) as handle:
                    _check_indirection(handle, label)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BoundaryFileError(f"cannot read {label}: {first_line(exc)}") from exc
    root = f"/vsizip/{file.resolve()}"
    names = [info.filename for info in members]
    shapefiles = [n for n in names if n.lower().endswith(".shp")]
    if shapefiles:
        if file_layer is not None:
            shapefiles = [n for n in shapefiles if posixpath.basename(n)[:-4] == file_layer]
        folders = sorted({posixpath.dirname(n) for n in shapefiles})
        if len(folders) > 1:
            raise BoundaryFileError(
                f"{label} holds Shapefiles in several folders ({', '.join(folders)}); "
                "pass --file-layer or zip one folder"
            )
        if folders and folders[0]:
            return f"{root}/{folders[0]}"
        return root
    datasets = [n for n in names if n.lower().endswith(_VECTOR_SUFFIXES)]
    return f"{root}/{datasets[0]}" if len(datasets) == 1 else root


def choose_layer(source: str, file_layer: str | None, label: str) -> str:
    try:
        layers = pyogrio.list_layers(source)
    except (RuntimeError, OSError, ValueError) as exc:
        raise BoundaryFileError(f"cannot read {label}: {first_line(exc)}") from exc
    names = [str(row[0]) for row in layers]
    if file_layer is not None:
        if file_layer in names:
            return file_layer
        raise BoundaryFileError(
            f"{label} has no layer {file_layer!r}; layers: {', '.join(names) or 'none'}"
        )
    spatial = [str(row[0]) for row in layers if row[1] is not None]
    if len(names) == 1:
        return names[0]
    if len(spatial) == 1:
        return spatial[0]
    if not names:
        raise BoundaryFileError(f"{label} contains no layers")
    raise BoundaryFileError(
        f"{label} has {len(names)} layers ({', '.join(names)}); pass --file-layer"
    )
