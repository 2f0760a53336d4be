"""Tests for gis.io.read_boundaries: formats, encodings, CRS, fields and network refusal."""

import doctest
import functools
import http.server
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

import gis.exceptions
import gis.io
from gis.exceptions import BoundaryFileError, GisError
from gis.io import read_boundaries

RING = [(120.1, 30.2), (120.12, 30.2), (120.12, 30.215), (120.1, 30.215), (120.1, 30.2)]
RING2 = [(120.12, 30.2), (120.14, 30.2), (120.14, 30.215), (120.12, 30.215), (120.12, 30.2)]
NAMES = ["西湖街道", "北山街道"]


def geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    doc: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def polygon_feature(props: dict, ring: list = RING) -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}}  # fmt: skip


def towns_frame(crs: str = "EPSG:4490") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"XZQDM": [330106001, 330106002], "XZQMC": NAMES, "SJDM": ["330106", "330106"]},
        geometry=[Polygon(RING), Polygon(RING2)],
        crs=crs,
    )


def coords(gdf: gpd.GeoDataFrame, i: int = 0) -> np.ndarray:
    return shapely.get_coordinates(gdf.geometry.iloc[i])


def test_geojson_in_4326_with_progress(tmp_path: Path) -> None:
    path = geojson(tmp_path / "t.geojson", [
        polygon_feature({"code": "T1", "name": NAMES[0], "parent_code": "D1", "Area": 1.5}),
        polygon_feature({"code": " T2 ", "name": NAMES[1], "parent_code": None, "Area": 2}, RING2),
    ])  # fmt: skip
    calls: list[tuple[int, int]] = []
    gdf = read_boundaries(path, progress=lambda done, total: calls.append((done, total)))
    assert list(gdf.columns) == ["code", "name", "parent_code", "area", "geometry"]
    assert gdf["code"].tolist() == ["T1", "T2"] and gdf["name"].tolist() == NAMES
    assert gdf["parent_code"].tolist() == ["D1", None]
    assert gdf.crs.to_epsg() == 4326 and calls[-1] == (2, 2)
    assert all(isinstance(g, MultiPolygon) for g in gdf.geometry)  # Polygon -> MultiPolygon
    assert np.array_equal(coords(gdf), np.array(RING))


def test_legacy_crs_member_4490_is_honoured_without_shift(tmp_path: Path) -> None:
    path = geojson(tmp_path / "t.geojson", [polygon_feature({"code": "T1", "name": "a"})],
                   crs="urn:ogc:def:crs:EPSG::4490")  # fmt: skip
    assert pyogrio.read_info(path)["crs"] == "EPSG:4490"  # GDAL reads the legacy member
    gdf = read_boundaries(path)
    assert gdf.crs.to_epsg() == 4326
    assert np.array_equal(coords(gdf), np.array(RING))  # relabelled, not transformed


def test_legacy_crs_member_with_projected_crs(tmp_path: Path) -> None:
    gk = Transformer.from_crs(4490, 4549, always_xy=True)
    ring = [gk.transform(x, y) for x, y in RING]
    path = geojson(tmp_path / "gk.geojson", [polygon_feature({"code": "T1", "name": "a"}, ring)],
                   crs="urn:ogc:def:crs:EPSG::4549")  # fmt: skip
    assert np.allclose(coords(read_boundaries(path)), RING, rtol=0, atol=1e-7)


def test_geopackage_and_layer_choice(tmp_path: Path) -> None:
    path = tmp_path / "b.gpkg"
    frame = towns_frame().rename(columns={"XZQDM": "code", "XZQMC": "name"})
    pyogrio.write_dataframe(frame, path, layer="towns")
    gdf = read_boundaries(path)
    assert gdf["code"].tolist() == ["330106001", "330106002"] and gdf["name"].tolist() == NAMES
    pyogrio.write_dataframe(frame.iloc[:1], path, layer="other")
    with pytest.raises(BoundaryFileError, match=r"2 layers \(towns, other\); pass --file-layer"):
        read_boundaries(path)
    assert len(read_boundaries(path, file_layer="other")) == 1
    with pytest.raises(BoundaryFileError, match="no layer 'nope'"):
        read_boundaries(path, file_layer="nope")


TOWN_FIELDS = {"code": "XZQDM", "name": "XZQMC", "parent_code": "SJDM"}


def gbk_shapefile(folder: Path, *, cpg: bool) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "towns.shp"
    pyogrio.write_dataframe(towns_frame(), path, encoding="GBK")
    dbf = path.with_suffix(".dbf").read_bytes()
    assert NAMES[0].encode("gbk") in dbf  # really GBK on disk
    assert path.with_suffix(".cpg").read_text().strip().upper() == "GBK"
    if not cpg:
        path.with_suffix(".cpg").unlink()
        path.with_suffix(".dbf").write_bytes(dbf[:29] + b"\0" + dbf[30:])  # no code page mark
    return path


def test_shapefile_gbk_with_cpg(tmp_path: Path) -> None:
    gdf = read_boundaries(gbk_shapefile(tmp_path / "s", cpg=True), fields=TOWN_FIELDS)
    assert gdf["name"].tolist() == NAMES
    assert gdf["parent_code"].tolist() == ["330106", "330106"]


def test_shapefile_gbk_without_cpg_needs_encoding(tmp_path: Path) -> None:
    path = gbk_shapefile(tmp_path / "s", cpg=False)
    assert read_boundaries(path, fields=TOWN_FIELDS)["name"].tolist() != NAMES  # mojibake
    assert read_boundaries(path, fields=TOWN_FIELDS, encoding="GBK")["name"].tolist() == NAMES
    with pytest.raises(BoundaryFileError, match="unknown encoding"):
        read_boundaries(path, fields=TOWN_FIELDS, encoding="NO-SUCH-CODEC")


@pytest.mark.parametrize("folder", ["", "数据/towns/"])
def test_zipped_shapefile(tmp_path: Path, folder: str) -> None:
    shp = gbk_shapefile(tmp_path / "s", cpg=True)
    archive = tmp_path / "towns.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in sorted(shp.parent.iterdir()):
            zf.write(part, folder + part.name)
        # ArcGIS metadata, full of URLs, is not a reason to refuse the archive
        zf.writestr(
            folder + "towns.shp.xml", '<metadata xml:lang="zh">http://www.esri.com</metadata>'
        )
    gdf = read_boundaries(archive, fields=TOWN_FIELDS)
    assert gdf["name"].tolist() == NAMES and gdf.crs.to_epsg() == 4326


def test_projected_cgcs2000_gauss_kruger_zone(tmp_path: Path) -> None:
    gk = towns_frame().to_crs("EPSG:4549")  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
    assert coords(gk)[0, 0] > 400_000  # metres, really projected
    path = tmp_path / "gk.gpkg"
    pyogrio.write_dataframe(gk, path)
    gdf = read_boundaries(path, fields=TOWN_FIELDS)
    assert gdf.crs.to_epsg() == 4326
    for i, ring in enumerate((RING, RING2)):
        assert np.allclose(coords(gdf, i), ring, rtol=0, atol=1e-7)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_file_without_crs(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.shp"
    pyogrio.write_dataframe(towns_frame().set_crs(None, allow_override=True), path)
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(BoundaryFileError, match=r"nocrs.shp has no CRS; pass --src-crs$"):
        read_boundaries(path, fields=TOWN_FIELDS)
    gdf = read_boundaries(path, fields=TOWN_FIELDS, src_crs="EPSG:4490")
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.iloc[0].equals_exact(MultiPolygon([Polygon(RING)]), 0, normalize=True)
    with pytest.raises(BoundaryFileError, match="invalid --src-crs"):
        read_boundaries(path, fields=TOWN_FIELDS, src_crs="EPSG:999999")


def test_projected_coordinates_in_plain_geojson_need_src_crs(tmp_path: Path) -> None:
    gk = Transformer.from_crs(4490, 4549, always_xy=True)
    ring = [gk.transform(x, y) for x, y in RING]
    path = geojson(tmp_path / "gk.geojson", [polygon_feature({"code": "T1", "name": "a"}, ring)])
    with pytest.raises(BoundaryFileError, match="outside longitude/latitude range"):
        read_boundaries(path)  # RFC 7946: GDAL assumes EPSG:4326 when there is no crs member
    gdf = read_boundaries(path, src_crs="EPSG:4549")
    assert np.allclose(coords(gdf), RING, rtol=0, atol=1e-7)


def test_field_mapping_extras_and_case(tmp_path: Path) -> None:
    path = tmp_path / "t.gpkg"
    frame = towns_frame().assign(Households=[10, 20], CODE=["x", "y"], code_2=["p", "q"])
    pyogrio.write_dataframe(frame, path)
    gdf = read_boundaries(path, fields={"code": "xzqdm", "name": "XZQMC"})  # case-insensitive
    assert gdf["code"].tolist() == ["330106001", "330106002"]
    assert gdf["parent_code"].tolist() == [None, None]
    assert list(gdf.columns) == ["code", "name", "parent_code", "sjdm", "households", "code_3",
                                 "code_2", "geometry"]  # fmt: skip
    assert gdf["households"].tolist() == [10, 20] and type(gdf["households"][0]) is int
    with pytest.raises(BoundaryFileError, match="unknown field name"):
        read_boundaries(path, fields={"kode": "XZQDM"})


def test_missing_code_column_names_available_columns(tmp_path: Path) -> None:
    path = geojson(tmp_path / "t.geojson", [polygon_feature({"XZQDM": "1", "XZQMC": "a"})])
    with pytest.raises(BoundaryFileError) as err:
        read_boundaries(path)
    assert (
        str(err.value) == f"{path} has no column 'code' for code; available columns: XZQDM, XZQMC"
    )
    assert isinstance(err.value, GisError) and "\n" not in str(err.value)
    with pytest.raises(BoundaryFileError, match="no column 'SJDM' for parent_code"):
        read_boundaries(path, fields={"code": "XZQDM", "name": "XZQMC", "parent_code": "SJDM"})


def test_numeric_codes_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "t.gpkg"
    frame = gpd.GeoDataFrame(
        {"code": [330106001.0, 330106002.0, np.nan], "name": ["a", "b", "c"],
         "parent_code": ["330106.0", " 330106 ", ""]},
        geometry=[Polygon(RING)] * 3, crs="EPSG:4326",
    )  # fmt: skip
    pyogrio.write_dataframe(frame, path)
    assert pyogrio.read_info(path)["dtypes"][0] == "float64"
    gdf = read_boundaries(path)
    assert gdf["code"].tolist() == ["330106001", "330106002", None]
    assert gdf["parent_code"].tolist() == ["330106", "330106", None]


def test_attribute_values_are_json_serialisable(tmp_path: Path) -> None:
    path = geojson(tmp_path / "t.geojson", [polygon_feature(
        {"code": "1", "name": "a", "when": "2024-01-02T03:04:05", "list": [1, 2],
         "obj": {"k": "v"}, "n": 1.5, "flag": True, "missing": None})])  # fmt: skip
    record = read_boundaries(path).drop(columns="geometry").iloc[0].to_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["when"] == "2024-01-02T03:04:05" and record["list"] == [1, 2]
    assert record["obj"] == {"k": "v"} and record["flag"] is True and record["missing"] is None


def test_geometries_kept_for_validation(tmp_path: Path) -> None:
    path = tmp_path / "mixed.gpkg"
    frame = gpd.GeoDataFrame(
        {"code": ["Z", "P", "L", "N"], "name": ["z", "p", "l", "n"]},
        geometry=[Polygon([(x, y, 5.0) for x, y in RING]), Point(120.1, 30.2),
                  LineString(RING[:2]), None],
        crs="EPSG:4326",
    )  # fmt: skip
    pyogrio.write_dataframe(frame, path, geometry_type="Unknown")
    geoms = read_boundaries(path).geometry.tolist()
    assert geoms[0].geom_type == "MultiPolygon" and not geoms[0].has_z  # Z dropped
    assert geoms[1].geom_type == "Point" and geoms[2].geom_type == "LineString"
    assert geoms[3] is None


@pytest.mark.parametrize("source", [
    "http://example.com/towns.geojson", "https://example.com/towns.zip", "s3://bucket/t.shp",
    "/vsicurl/http://example.com/t.shp", "/vsis3/bucket/t.shp", "/vsigs/bucket/t.shp",
    "/vsiaz/c/t.shp", "/vsioss/b/t.shp", "/vsiswift/c/t.shp", "/vsihdfs/t.shp",
    "/vsiwebhdfs/http://h/t.shp", "/vsizip//vsicurl/http://example.com/t.zip",
    "/vsicurl_streaming/http://example.com/t.geojson",
])  # fmt: skip
def test_network_sources_are_refused(source: str) -> None:
    with pytest.raises(BoundaryFileError, match="network sources are disabled"):
        read_boundaries(source)


def test_local_paths_only(tmp_path: Path) -> None:
    with pytest.raises(BoundaryFileError, match="no such file"):
        read_boundaries(tmp_path / "missing.geojson")
    with pytest.raises(BoundaryFileError, match="no such file"):
        read_boundaries("PG:dbname=shudi")
    with pytest.raises(BoundaryFileError, match="only local files"):
        read_boundaries("/vsimem/t.geojson")
    (tmp_path / "junk.geojson").write_text("not json")
    with pytest.raises(BoundaryFileError, match="cannot read"):
        read_boundaries(tmp_path / "junk.geojson")


VRT = """<OGRVRTDataSource><OGRVRTLayer name="t">
<SrcDataSource>{src}</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"""


@pytest.mark.parametrize("src", [
    "/vsicurl/http://127.0.0.1:9/t.geojson", "http://127.0.0.1:9/t.geojson",
    "WFS:http://127.0.0.1:9/wfs", "PG:dbname=shudi",
])  # fmt: skip
def test_vrt_with_remote_source_is_refused(tmp_path: Path, src: str) -> None:
    path = tmp_path / "t.vrt"
    path.write_text(VRT.format(src=src))
    with pytest.raises(BoundaryFileError, match="references a"):
        read_boundaries(path)
    archive = tmp_path / "t.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(path, "t.vrt")
    with pytest.raises(BoundaryFileError, match="references a"):
        read_boundaries(archive)


def test_local_vrt_is_read(tmp_path: Path) -> None:
    geojson(tmp_path / "t.geojson", [polygon_feature({"code": "T1", "name": "a"})])
    path = tmp_path / "t.vrt"
    path.write_text(VRT.format(src="t.geojson").replace("<SrcDataSource>",
                    '<SrcDataSource relativeToVRT="1">'))  # fmt: skip
    assert read_boundaries(path)["code"].tolist() == ["T1"]


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 serving tmp_path, recording the paths it was asked for."""
    geojson(tmp_path / "t.geojson", [polygon_feature({"code": "T1", "name": "a"})])
    seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            seen.append(self.path)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/t.geojson", seen
    finally:
        server.shutdown()
        server.server_close()


def test_gdal_cannot_fetch_even_when_asked_directly(
    tmp_path: Path, local_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GDAL options set by read_boundaries block what the path checks would not see."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    url, seen = local_server
    geojson(tmp_path / "local.geojson", [polygon_feature({"code": "T1", "name": "a"})])
    read_boundaries(tmp_path / "local.geojson")  # applies the offline configuration
    for source in (f"/vsicurl/{url}", f"GeoJSON:{url}"):
        with pytest.raises(pyogrio.errors.DataSourceError):
            pyogrio.read_dataframe(source)
    nested = tmp_path / "nested.vrt"  # a VRT the path checks never saw
    nested.write_text(VRT.format(src=f"/vsicurl/{url}"))
    with pytest.raises(RuntimeError):
        pyogrio.read_dataframe(nested)
    assert seen == []


def test_docstring_examples() -> None:
    assert doctest.testmod(gis.io).failed == 0
    assert doctest.testmod(gis.exceptions).failed == 0
    assert pd.isna(np.nan)


def test_caps_on_features_and_vertices(tmp_path: Path) -> None:
    features = [polygon_feature({"code": f"T{i}", "name": f"镇{i}"}) for i in range(3)]
    path = geojson(tmp_path / "towns.geojson", features)
    assert len(read_boundaries(path, max_features=3, max_vertices=15)) == 3  # 5 a ring
    with pytest.raises(BoundaryFileError, match="3 features, more than the 2 allowed"):
        read_boundaries(path, max_features=2)
    with pytest.raises(BoundaryFileError, match="15 vertices, more than the 14 allowed"):
        read_boundaries(path, max_vertices=14)
