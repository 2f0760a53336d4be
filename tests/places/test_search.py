"""Place search ranking and ``GET /api/v1/places``.

Expected answers are worked out by hand from the names and standard pinyin, not from the
search code: 天鹅雅苑 is tiān é yǎ yuàn (initials t-e-y-y), 天鹅苑 tiān é yuàn (t-e-y),
翠苑社区 cuì yuàn shè qū (c-y-s-q), 望江街道 wàng jiāng jiē dào (w-j-j-d), 梧桐路 wú tóng lù.
"""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import pytest
from sqlalchemy import Connection, create_engine, text
from support import MINI, app_client, collection, feature

from console.demo import load_sample_district
from jurisdictions.generations import import_layer
from places import search
from places.pinyin import romanise, syllable_pattern


@pytest.fixture(scope="module")
def sample(module_scratch_db_url: str) -> Iterator[Connection]:
    """The sample district with its gazetteer (``shudi demo``'s loader), one connection."""
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_sample_district(conn, note=lambda _m: None)
    with eng.connect() as conn:
        yield conn
    eng.dispose()


def names(conn: Connection, q: str, limit: int = 10) -> list[str]:
    return [p["name"] for p in search.search(conn, q=q, limit=limit)]


def test_romanise_by_hand() -> None:
    assert romanise("天鹅雅苑").initials == "teyy"
    assert romanise("天鹅雅苑").pinyin == "tianeyayuan"
    assert romanise("绿苑3幢").syllables == "lv yuan 3 zhuang"
    assert romanise("望江街道").initials == "wjjd"


def test_patterns_match_as_typed() -> None:
    import re

    s = "tian e ya yuan"
    for key in ("tey", "teyy", "tianey", "tey", "teya", "tianeyay", "eya"):
        assert re.search(syllable_pattern(key, gapped=False), s), key
    assert not re.search(syllable_pattern("tiany", gapped=False), s)
    assert re.search(syllable_pattern("tiany", gapped=True), s)
    assert not re.search(syllable_pattern("tix", gapped=True), s)


def test_initials_find_the_estate_first(sample: Connection) -> None:
    found = search.search(sample, q="teyy", limit=5)
    assert (found[0]["name"], found[0]["kind"]) == ("天鹅雅苑", "estate")
    assert found[0]["context"].endswith("街道") or found[0]["context"].endswith("镇")


def test_tey_and_tiany_find_tian_e_ya_yuan(sample: Connection) -> None:
    tey = names(sample, "tey", 5)
    assert tey[0] == "天鹅苑"  # t-e-y exactly: the better answer
    assert "天鹅雅苑" in tey[:3]  # t-e-y-y starts with t-e-y
    assert "天鹅雅苑" in names(sample, "tiany", 3)  # 天 … 雅: one syllable (鹅) skipped
    assert names(sample, "tianeyayuan", 1) == ["天鹅雅苑"]
    assert names(sample, "Tian'e Ya Yuan", 1) == ["天鹅雅苑"]


def test_names_and_parts_of_names(sample: Connection) -> None:
    exact = search.search(sample, q="天鹅雅苑", limit=3)
    assert exact[0]["name"] == "天鹅雅苑" and exact[0]["match"] == 100
    assert all("雅苑" in n for n in names(sample, "雅苑", 20))
    starts = names(sample, "天鹅", 20)
    assert len(starts) == 20 and all(n.startswith("天鹅") for n in starts[:12])


def test_communities_towns_roads_addresses(sample: Connection) -> None:
    first = search.search(sample, q="cysq", limit=1)[0]
    assert (first["name"], first["kind"]) == ("翠苑社区", "community")
    first = search.search(sample, q="wjjd", limit=1)[0]
    assert (first["name"], first["kind"]) == ("望江街道", "town")
    first = search.search(sample, q="wutonglu", limit=1)[0]
    assert (first["name"], first["kind"]) == ("梧桐路", "road")
    address = search.search(sample, q="天鹅雅苑1幢", limit=1)[0]
    assert (address["name"], address["kind"]) == ("天鹅雅苑1幢", "address")
    poi = search.search(sample, q="翠苑社区居民委员会", limit=1)[0]
    assert poi["kind"] == "poi"


def test_results_lie_in_their_extent(sample: Connection) -> None:
    for place in search.search(sample, q="tey", limit=10):
        west, south, east, north = place["bbox"]
        assert west - 1e-9 <= place["lon"] <= east + 1e-9
        assert south - 1e-9 <= place["lat"] <= north + 1e-9


def test_nothing_for_nothing(sample: Connection) -> None:
    assert search.search(sample, q="   ", limit=5) == []
    assert search.search(sample, q="%_%", limit=5) == []
    assert search.search(sample, q="qqqqqqqq", limit=5) == []
    assert search.search(sample, q="\x00\x1f", limit=5) == []  # control characters dropped
    assert names(sample, "天鹅雅苑\x00", 1) == ["天鹅雅苑"]


def test_api_feature_collection(conn: Connection, mini: dict) -> None:
    """Boundary names are searchable with no gazetteer loaded (the mini district has none)."""
    with app_client(conn) as client:
        r = client.get("/api/v1/places", params={"q": "jgy", "limit": 5})  # 金桂苑 jīn guì yuàn
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/geo+json")
        fc = r.json()
        assert fc["type"] == "FeatureCollection"
        top = fc["features"][0]
        assert top["properties"]["name"] == "金桂苑"
        assert {"code", "name", "kind"} <= set(top["properties"])
        assert top["properties"]["code"] == "P111" and top["properties"]["kind"] == "estate"
        assert top["geometry"]["type"] == "Point"
        west, south, east, north = top["bbox"]
        assert (west, south, east, north) == pytest.approx((120.001, 30.001, 120.004, 30.004))
        kinds = {
            f["properties"]["name"]: f["properties"]["kind"]
            for f in client.get("/api/v1/places", params={"q": "甲"}).json()["features"]
        }
        assert kinds == {"甲街道": "town", "甲一社区": "community", "甲二社区": "community"}
        assert (
            client.get("/api/v1/places", params={"q": "jia", "limit": 2})
            .json()["features"]
            .__len__()
            == 2
        )
        bad = client.get("/api/v1/places", params={"q": "x", "limit": 0})
        assert bad.status_code == 422 and bad.json()["code"]
        assert client.get("/api/v1/places").status_code == 422


def test_a_new_generation_is_searchable_at_once(conn: Connection, mini: dict) -> None:
    assert names(conn, "金桂苑") == ["金桂苑"]
    estates = [
        f
        if f["properties"]["code"] != "P111"
        else {**f, "properties": {**f["properties"], "name": "银杏苑"}}
        for f in MINI[("property_area", "")]["features"]
    ]
    gdf = gpd.GeoDataFrame.from_features(collection(*estates)["features"], crs="EPSG:4326")
    import_layer(conn, gdf=gdf, layer="property_area", source="renamed", activate=True)
    assert names(conn, "金桂苑") == []
    assert names(conn, "yxy") == ["银杏苑"]
    old = conn.execute(text("SELECT count(*) FROM place WHERE name = '金桂苑'")).scalar_one()
    assert old == 0  # the old generation's names are gone, not only filtered out
    assert feature  # (support's helpers build the mini district)
