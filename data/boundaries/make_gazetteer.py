"""Generate the FICTIONAL sample gazetteer of 清溪区 from the sample boundaries (README.md).

Roads run where the sample leaves room for them: along the community borders (estates are inset
7.5–12 m from them) and along the lanes between neighbouring estates of one community; every
estate gets a gate address on its nearest road (``梧桐路18号``) and numbered buildings
(``天鹅雅苑3幢``); every community and town office is a POI. Deterministic (fixed seed): each run
writes the same file for the same boundaries on the same shapely/GEOS build.

Usage: .venv/bin/python data/boundaries/make_gazetteer.py [--sample DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import LineString, MultiLineString, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry as Geom
from shapely.ops import linemerge

SEED = 3301061
LON0, LAT0 = 120.20, 30.28  # the metric frame of make_sample.py
M_LAT = 110_860.0
M_LON = 111_320.0 * math.cos(math.radians(LAT0))
LANE_GAP_M = 40.0  # estates closer than this have a lane between them
MIN_ROAD_M = 60.0
ACCESS_M = 25.0  # an estate farther than this from every road gets an access lane
HERE = Path(__file__).resolve().parent

ROAD_WORDS = [
    "梧桐",
    "银杏",
    "香樟",
    "玉兰",
    "海棠",
    "紫薇",
    "丹桂",
    "石榴",
    "枇杷",
    "杨梅",
    "青松",
    "翠柏",
    "红枫",
    "金桂",
    "白玉",
    "碧波",
    "清波",
    "明珠",
    "望仙",
    "迎春",
    "凤鸣",
    "鹤鸣",
    "龙井",
    "虎跑",
    "延安",
    "解放",
    "建国",
    "复兴",
    "学院",
    "文晖",
    "文二",
    "文三",
    "教工",
    "保俶",
    "莫干",
    "古墩",
    "丰潭",
    "紫金",
    "三墩",
    "振华",
    "西溪",
    "留下",
    "石祥",
    "秋涛",
    "德胜",
    "东新",
    "新塘",
    "天城",
    "机场",
    "九堡",
    "钱江",
    "之江",
    "江晖",
    "滨盛",
    "长河",
    "浦沿",
    "闻涛",
    "听涛",
    "观澜",
    "临江",
    "沿江",
    "望湖",
    "环湖",
    "湖墅",
    "运河",
    "仓基",
]
ROAD_KINDS = ("路", "路", "路", "街", "大道")
NUMERALS = "一二三四五六七八九十"


def to_m(g: Geom) -> Geom:
    return shapely.transform(
        g, lambda xy: np.column_stack(((xy[:, 0] - LON0) * M_LON, (xy[:, 1] - LAT0) * M_LAT))
    )


def to_deg(g: Geom) -> Geom:
    g = shapely.transform(
        g, lambda xy: np.column_stack((LON0 + xy[:, 0] / M_LON, LAT0 + xy[:, 1] / M_LAT))
    )
    return shapely.transform(g, lambda xy: np.round(xy, 7))


def load(path: Path) -> list[tuple[dict[str, Any], Geom]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(f["properties"], to_m(shape(f["geometry"]))) for f in data["features"]]


def lines_of(g: Geom, shortest: float = MIN_ROAD_M) -> list[LineString]:
    if g.is_empty:
        return []
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("LineString", "MultiLineString")]
    merged = linemerge(MultiLineString([c for p in parts for c in shapely.get_parts(p)]))
    return [p for p in shapely.get_parts(merged) if p.length >= shortest]


def border_roads(comms: list[tuple[dict[str, Any], Geom]]) -> list[Geom]:
    """The borders two communities share (town borders among them): main roads."""
    geoms = [g for _, g in comms]
    tree = STRtree(geoms)
    out: list[Geom] = []
    for i, g in enumerate(geoms):
        for j in tree.query(g, predicate="intersects"):
            if j <= i:
                continue
            shared = shapely.intersection(g.boundary, geoms[j].boundary)
            out += [line.simplify(2.0) for line in lines_of(shared)]
    return out


def lanes(
    estates: list[tuple[dict[str, Any], Geom]], comms: list[tuple[dict[str, Any], Geom]]
) -> dict[str, list[Geom]]:
    """Streets of each community's grid: the mid-line of a gap between two neighbouring
    estates, extended both ways across the community until it meets an estate."""
    geoms = [g for _, g in estates]
    tree = STRtree(geoms)
    area = {p["code"]: g.buffer(-4) for p, g in comms}
    blocked: dict[str, Geom] = {}
    for props, g in estates:
        code = props["parent_code"]
        blocked[code] = shapely.union(blocked.get(code, Polygon()), g.buffer(2))
    found: dict[str, list[Geom]] = {}
    for i, (props, a) in enumerate(estates):
        code = props["parent_code"]
        for j in tree.query(a, predicate="dwithin", distance=LANE_GAP_M):
            b_props, b = estates[j]
            if j <= i or b_props["parent_code"] != code:
                continue
            half = a.distance(b) / 2 + 0.5
            mid = shapely.intersection(a.buffer(half, quad_segs=2).boundary, b.buffer(half + 1))
            for seg in lines_of(mid, 10.0):
                street = extend(seg, area[code], blocked[code])
                kept = found.setdefault(code, [])
                if street is None or street.length < MIN_ROAD_M:
                    continue
                if any(k.buffer(8).intersection(street).length > 0.6 * street.length for k in kept):
                    continue
                kept.append(street)
    return found


def extend(seg: LineString, area: Geom, blocked: Geom) -> LineString | None:
    """The straight line through ``seg`` (its end points' direction) within ``area``, cut
    where it meets ``blocked``: the piece that holds ``seg``'s middle."""
    (x0, y0), (x1, y1) = seg.coords[0], seg.coords[-1]
    length = math.hypot(x1 - x0, y1 - y0)
    if length < 5:
        return None
    dx, dy = (x1 - x0) / length * 5000, (y1 - y0) / length * 5000
    mid = seg.interpolate(0.5, normalized=True)
    long = LineString([(mid.x - dx, mid.y - dy), (mid.x + dx, mid.y + dy)])
    free = shapely.difference(shapely.intersection(long, area), blocked)
    pieces = [p for p in shapely.get_parts(free) if p.distance(mid) < 3]
    return pieces[0] if pieces and pieces[0].geom_type == "LineString" else None


def build(sample: Path, rng: np.random.Generator) -> list[dict[str, Any]]:
    towns = load(sample / "towns.geojson")
    comms = load(sample / "communities.geojson")
    estates = load(sample / "property_areas.geojson")
    words = [w for w in ROAD_WORDS]
    rng.shuffle(words)
    names = iter(f"{w}{k}" for k in ROAD_KINDS[:3] for w in words)
    features: list[dict[str, Any]] = []
    roads: list[tuple[str, Geom]] = []
    for line in border_roads(comms):
        roads.append((next(names), line))
    comm_word = {p["code"]: p["name"].removesuffix("社区").removesuffix("村") for p, _ in comms}
    for code, lines in sorted(lanes(estates, comms).items()):
        for k, line in enumerate(sorted(lines, key=lambda g: (-g.length, g.centroid.x))):
            suffix = f"{NUMERALS[k]}弄" if k < len(NUMERALS) else f"{k + 1}弄"
            roads.append((f"{comm_word[code]}{suffix}", line))
    roads += access_roads(estates, roads)
    for n, (name, line) in enumerate(roads, 1):
        features.append(feature(f"R{n:04d}", name, "road", line))
    road_tree = STRtree([g for _, g in roads])
    used: set[str] = set()
    for serial, (props, estate) in enumerate(estates, 1):
        r = int(road_tree.query_nearest(estate)[0])
        road_name, road = roads[r]
        gate = shapely.shortest_line(estate.exterior, road).coords[0]
        number = 2 * max(1, round(road.project(Point(gate)) / 25)) + (serial % 2)
        while f"{road_name}{number}号" in used:
            number += 2
        used.add(f"{road_name}{number}号")
        extra = {"estate": props["code"]}
        features.append(
            feature(f"A{serial:05d}", f"{road_name}{number}号", "address", Point(gate), extra)
        )
        buildings = int(min(8, max(1, (props.get("households") or 100) // 120)))
        for b, point in enumerate(points_inside(estate, buildings, rng), 1):
            code = f"A{serial:05d}-{b:02d}"
            features.append(feature(code, f"{props['name']}{b}幢", "address", point, extra))
    for props, comm in comms:
        office = "村民委员会" if props["name"].endswith("村") else "居民委员会"
        features.append(
            feature(f"P{props['code']}", props["name"] + office, "poi", comm.point_on_surface())
        )
    for props, town in towns:
        office = "人民政府" if props["name"].endswith("镇") else "办事处"
        features.append(
            feature(f"P{props['code']}", props["name"] + office, "poi", town.point_on_surface())
        )
    return features


def access_roads(
    estates: list[tuple[dict[str, Any], Geom]], roads: list[tuple[str, Geom]]
) -> list[tuple[str, Geom]]:
    """A lane from each estate farther than :data:`ACCESS_M` from every road to the nearest
    road, unless it would cross another estate; named after the estate (天鹅雅苑 → 天鹅支路)."""
    inner = STRtree([g.buffer(-1) for _, g in estates])
    network = shapely.union_all([g for _, g in roads])
    out: list[tuple[str, Geom]] = []
    for props, estate in estates:
        if estate.distance(network) <= ACCESS_M:
            continue
        link = shapely.shortest_line(estate.exterior, network)
        crossed = inner.query(link, predicate="intersects")
        if len(crossed):
            continue
        out.append((f"{props['name'][:2]}支路", link))
        network = shapely.union(network, link)
    return out


def points_inside(poly: Geom, n: int, rng: np.random.Generator) -> list[Point]:
    inner = poly.buffer(-8)
    if inner.is_empty:
        inner = poly
    x0, y0, x1, y1 = inner.bounds
    out: list[Point] = []
    while len(out) < n:
        p = Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if inner.contains(p) and all(p.distance(q) > 15 for q in out):
            out.append(p)
        elif len(out) == 0 and rng.random() < 0.01:
            out.append(inner.point_on_surface())
    return out


def feature(code: str, name: str, kind: str, geom: Geom, extra: dict[str, Any] | None = None):
    props = {"code": code, "name": name, "kind": kind, **(extra or {})}
    return {"type": "Feature", "properties": props, "geometry": mapping(to_deg(geom))}


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sample", type=Path, default=HERE / "sample")
    ap.add_argument("--out", type=Path, default=HERE / "sample" / "gazetteer.geojson")
    args = ap.parse_args(argv)
    features = build(args.sample, np.random.default_rng(SEED))
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    args.out.write_text(
        f'{{"type":"FeatureCollection","features":[\n{lines}\n]}}\n', encoding="utf-8"
    )
    kinds: dict[str, int] = {}
    for f in features:
        kinds[f["properties"]["kind"]] = kinds.get(f["properties"]["kind"], 0) + 1
    print(", ".join(f"{k}: {n}" for k, n in kinds.items()))


if __name__ == "__main__":
    main()
