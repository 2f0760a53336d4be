"""Hypothesis on the boundary import: generated layers with flaws mixed in.

Each example is a small town layer (grid cells around lon 120.00–120.04, lat 30.00–30.02) as
GeoJSON, with up to three flaws applied to random features: self-intersections (bow ties),
spikes, unclosed rings, holes outside their shell, swapped coordinates (lat, lon), 3D
coordinates, empty geometries, out-of-range coordinates, points and lines among polygons,
missing and duplicate codes, and odd attribute values (any text, NUL characters, numbers,
lists, objects).

:func:`check_file` writes it as a file and reads it with ``read_boundaries`` before
``import_layer``; :func:`check_frame` hands the geometries to ``import_layer`` directly, with and
without ``repair``. Both hold the contract: a layer with a flaw that makes it bad is refused
with a reason — ``BoundaryFileError`` with a message, or ``BoundaryImportRejected`` with its
problems — a good one (3D coordinates and odd attribute values are good) is imported whole,
and nothing raises anything else. Imports run in a savepoint that is rolled back.

``tests/fuzz`` runs a hundred examples; ``reliability/fuzz.py`` runs :func:`run` with thousands.
"""

from __future__ import annotations

import json
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import shape
from sqlalchemy import Connection, create_engine

from gis.exceptions import BoundaryFileError
from gis.io import read_boundaries
from gis.validation import KINDS, repair, validate_layer
from jurisdictions.exceptions import BoundaryImportRejected
from jurisdictions.generations import import_layer

Example = tuple[dict[str, Any], bool, list[str]]
STEP = 0.004  # grid cells of 0.004° (~400 m) from lon 120.00, lat 30.00

Feature = dict[str, Any]


def cell(i: int, j: int) -> list[list[float]]:
    x0, y0 = 120.0 + i * STEP, 30.0 + j * STEP
    x1, y1 = x0 + STEP, y0 + STEP
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def _ring(f: Feature) -> list[list[float]]:
    """The outer ring, in 2D."""
    return [[p[0], p[1]] for p in f["geometry"]["coordinates"][0]]


def bow_tie(f: Feature, _d: st.DataObject) -> None:
    r = _ring(f)  # swap two corners: the edges cross
    f["geometry"]["coordinates"] = [[r[0], r[2], r[1], r[3], r[0]]]


def spike(f: Feature, _d: st.DataObject) -> None:
    r = _ring(f)  # out along the bottom edge's line and back: a zero-width spike
    tip = [r[1][0] + STEP, r[1][1]]
    f["geometry"]["coordinates"] = [[r[0], r[1], tip, r[1], r[2], r[3], r[0]]]


def unclosed(f: Feature, _d: st.DataObject) -> None:
    f["geometry"]["coordinates"] = [_ring(f)[:-1]]


def hole_outside(f: Feature, _d: st.DataObject) -> None:
    x, y = _ring(f)[2]
    hole = [[x + 1, y + 1], [x + 1.001, y + 1], [x + 1.001, y + 1.001], [x + 1, y + 1]]
    f["geometry"]["coordinates"] = [_ring(f), hole]


def swapped(f: Feature, _d: st.DataObject) -> None:
    f["geometry"]["coordinates"] = [[[y, x] for x, y in _ring(f)]]


def out_of_range(f: Feature, d: st.DataObject) -> None:
    shift = d.draw(st.sampled_from([(200.0, 0.0), (0.0, 95.0), (-400.0, 0.0)]))
    f["geometry"]["coordinates"] = [[[x + shift[0], y + shift[1]] for x, y in _ring(f)]]


def empty(f: Feature, d: st.DataObject) -> None:
    f["geometry"] = d.draw(st.sampled_from([None, {"type": "Polygon", "coordinates": []}]))


def other_type(f: Feature, d: st.DataObject) -> None:
    x, y = _ring(f)[0]
    f["geometry"] = d.draw(
        st.sampled_from(
            [
                {"type": "Point", "coordinates": [x, y]},
                {"type": "LineString", "coordinates": [[x, y], [x + STEP, y + STEP]]},
            ]
        )
    )


def no_code(f: Feature, d: st.DataObject) -> None:
    f["properties"]["code"] = d.draw(st.sampled_from([None, "", "   "]))


def three_d(f: Feature, d: st.DataObject) -> None:
    z = d.draw(st.floats(-100, 3000))
    f["geometry"]["coordinates"] = [[[x, y, z] for x, y in _ring(f)]]


garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=False),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)


def odd_attributes(f: Feature, d: st.DataObject) -> None:
    name = d.draw(st.text(min_size=1, max_size=20).filter(lambda t: t.strip("\x00")))
    f["properties"]["name"] = name + d.draw(st.sampled_from(["", "\x00", "\x00尾"]))
    extra = d.draw(
        st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), garbage, max_size=4)
    )
    for key, value in extra.items():
        if key not in ("code", "name", "parent_code"):
            f["properties"][key] = value


#: Flaw -> whether a file with it must be refused.
FLAWS: dict[Callable[[Feature, st.DataObject], None], bool] = {
    bow_tie: True,
    spike: True,
    unclosed: True,
    hole_outside: True,
    swapped: True,
    out_of_range: True,
    empty: True,
    other_type: True,
    no_code: True,
    three_d: False,
    odd_attributes: False,
}
FLAW_NAMES = {flaw.__name__: flaw for flaw in FLAWS}
ATTRIBUTE_FLAWS = {no_code, odd_attributes}


@st.composite
def layers(draw: st.DrawFn) -> tuple[dict[str, Any], bool, list[str]]:
    """A town layer as GeoJSON, whether it must be refused, and the flaws applied."""
    cells = draw(
        st.lists(
            st.tuples(st.integers(0, 9), st.integers(0, 4)), min_size=1, max_size=5, unique=True
        )
    )
    features: list[Feature] = [
        {
            "type": "Feature",
            "properties": {"code": f"T{n}", "name": f"镇{n}"},
            "geometry": {"type": "Polygon", "coordinates": [cell(i, j)]},
        }
        for n, (i, j) in enumerate(cells)
    ]
    data = draw(st.data())
    bad, applied, reshaped = False, [], set()
    for flaw in draw(st.lists(st.sampled_from(list(FLAWS)), max_size=3)):
        index = draw(st.integers(0, len(features) - 1))
        if flaw not in ATTRIBUTE_FLAWS:
            if index in reshaped:
                continue  # one geometry flaw per feature: another rebuilds the ring, undoing it
            reshaped.add(index)
        flaw(features[index], data)
        bad |= FLAWS[flaw]
        applied.append(flaw.__name__)
    if len(features) > 1 and draw(st.booleans()) and draw(st.booleans()):
        features[-1]["properties"]["code"] = features[0]["properties"]["code"]
        bad, applied = True, [*applied, "duplicate_code"]
    return {"type": "FeatureCollection", "features": features}, bad, applied


def _import(conn: Connection, gdf: gpd.GeoDataFrame, do_repair: bool = False) -> Any:
    savepoint = conn.begin_nested()
    try:
        return import_layer(conn, gdf=gdf, layer="town", source="fuzz", do_repair=do_repair)
    finally:
        savepoint.rollback()


def _assert_reasoned(exc: BoundaryImportRejected) -> None:
    problems = exc.details["problems"]
    assert problems and exc.message
    assert {p.kind for p in problems} <= set(KINDS)
    assert any(p.severity == "error" and p.message for p in problems)


def check_file(conn: Connection, example: Example, folder: Path) -> str:
    """Read and import the layer as a GeoJSON file; the outcome, or AssertionError."""
    collection, bad, applied = example
    path = folder / "towns.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    try:
        gdf = read_boundaries(path)
    except BoundaryFileError as exc:
        assert bad, f"a good file was refused: {exc} ({applied})"
        assert str(exc)
        return "refused_by_reader"
    try:
        result = _import(conn, gdf)
    except BoundaryImportRejected as exc:
        assert bad, f"a good file was refused: {exc.details['problems']} ({applied})"
        _assert_reasoned(exc)
        return "refused_with_problems"
    assert not bad, f"a bad file was imported ({applied})"
    assert result.feature_count == len(collection["features"])
    return "imported"


def check_frame(conn: Connection, example: Example) -> str:
    """Import the layer as a frame (no reader in front), repaired and not; the outcome."""
    collection, _, applied = example
    # shapely closes an open ring itself: as a frame, that flaw is gone
    bad = any(FLAWS[FLAW_NAMES[a]] if a in FLAW_NAMES else True for a in applied if a != "unclosed")
    rows = [{**f["properties"], "geometry": _shape(f["geometry"])} for f in collection["features"]]
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    problems = validate_layer(repair(gdf), layer="town")
    assert all(p.kind in KINDS and p.message for p in problems)
    try:
        _import(conn, gdf, do_repair=True)
    except BoundaryImportRejected as exc:
        _assert_reasoned(exc)
    try:
        result = _import(conn, gdf)
    except BoundaryImportRejected as exc:
        assert bad, f"a good frame was refused: {exc.details['problems']} ({applied})"
        _assert_reasoned(exc)
        return "refused_with_problems"
    assert not bad, f"a bad frame was imported ({applied})"
    assert result.feature_count == len(rows)
    return "imported"


def _shape(geometry: dict[str, Any] | None) -> Any:
    """A shapely geometry from GeoJSON, or None where shapely itself cannot build one."""
    if geometry is None:
        return None
    try:
        return shape(geometry)
    except (ValueError, TypeError, AttributeError):
        return None  # an unclosed ring or an empty coordinate list: as the reader would give


def run(db_url: str, *, examples: int, report: Callable[[str], None] = print) -> dict[str, Any]:
    """``examples`` generated layers through both paths; outcomes, crashes and wrong answers."""
    outcomes: Counter[str] = Counter()
    flaws: Counter[str] = Counter()
    crashes: list[str] = []
    wrong: list[str] = []
    engine = create_engine(db_url)
    started = time.perf_counter()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(example=layers())
    def one(example: Example) -> None:
        flaws.update(example[2] or ["none"])
        checks: dict[str, Callable[[Path], str]] = {
            "file": lambda folder: check_file(conn, example, folder),
            "frame": lambda _folder: check_frame(conn, example),
        }
        for path, check in checks.items():
            try:
                with tempfile.TemporaryDirectory() as folder:
                    outcomes[f"{path}: {check(Path(folder))}"] += 1
            except AssertionError as exc:
                wrong.append(f"{path}: {exc}")
            except Exception:
                crashes.append(f"{path} {example[2]}: {traceback.format_exc(limit=-3)}")

    try:
        with engine.connect() as conn, conn.begin() as tx, warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL: "Non closed ring detected"
            one()
            tx.rollback()
    finally:
        engine.dispose()
    elapsed = time.perf_counter() - started
    report(f"geometry import: {examples} layers, {len(crashes)} crashes, "
           f"{len(wrong)} wrong answers, {elapsed:.1f} s")  # fmt: skip
    return {
        "layers": examples,
        "crashes": len(crashes),
        "wrong_answers": len(wrong),
        "outcomes": dict(sorted(outcomes.items())),
        "flaws_applied": dict(sorted(flaws.items())),
        "time_s": round(elapsed, 1),
        "samples": (crashes + wrong)[:10],
    }
