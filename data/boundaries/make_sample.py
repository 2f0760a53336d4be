"""Generate the FICTIONAL sample district 清溪区 (Qingxi District) — see README.md.

Deterministic (fixed seed): every run writes byte-identical files on the same shapely/GEOS build.
Usage: .venv/bin/python data/boundaries/make_sample.py [--out DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely import STRtree, affinity
from shapely.geometry import LineString, Point, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry as Geom

SEED = 3301060
LON0, LAT0 = 120.20, 30.28  # origin of the local metric frame (x east, y north, metres)
M_LAT = 110_860.0
M_LON = 111_320.0 * math.cos(math.radians(LAT0))
GRID = 0.5  # metres: snap-rounding grid of the planar partition
DISTRICT = "330106"
BBOX = (120.10, 30.20, 120.30, 30.36)
CORE = Point(-3800, 200)  # old town centre: estates get sparser away from it
Rng = np.random.Generator
Props = dict[str, Any]

# code suffix, name, pinyin, kind, seed x, seed y (metres), number of communities
TOWNS = [
    ("001", "青溪街道", "Qingxi Jiedao", "subdistrict", -4300, 600, 8),
    ("002", "望江街道", "Wangjiang Jiedao", "subdistrict", -2600, -3600, 8),
    ("003", "文澜街道", "Wenlan Jiedao", "subdistrict", -5600, 4000, 7),
    ("004", "紫荆街道", "Zijing Jiedao", "subdistrict", -1000, 1000, 8),
    ("101", "柳岸镇", "Liu'an Zhen", "town", 3000, -3600, 6),
    ("102", "桃源镇", "Taoyuan Zhen", "town", 5000, 2400, 6),
    ("103", "白沙镇", "Baisha Zhen", "town", 600, 5600, 5),
]


def words(spec: str) -> list[tuple[str, str]]:
    return [(w.split(":")[0], w.split(":")[1]) for w in spec.split()]


URBAN = words(
    "翠苑:Cuiyuan 桂花:Guihua 梧桐:Wutong 银杏:Yinxing 枫林:Fenglin 竹园:Zhuyuan 荷塘:Hetang "
    "兰亭:Lanting 春晓:Chunxiao 晨光:Chenguang 朝晖:Zhaohui 明月:Mingyue 清泉:Qingquan "
    "锦华:Jinhua 瑞丰:Ruifeng 和平:Heping 新华:Xinhua 长青:Changqing 东湖:Donghu 南山:Nanshan "
    "北苑:Beiyuan 金沙:Jinsha 星河:Xinghe 望湖:Wanghu 书香:Shuxiang 紫薇:Ziwei 丹桂:Dangui "
    "芳草:Fangcao 嘉禾:Jiahe 永安:Yong'an 德胜:Desheng 凤起:Fengqi 玉兰:Yulan 海棠:Haitang"
)
VILLAGE = words(
    "溪口:Xikou 石桥:Shiqiao 杨家:Yangjia 塘头:Tangtou 马岙:Ma'ao 竹坞:Zhuwu 梅坞:Meiwu "
    "上湾:Shangwan 下湾:Xiawan 前山:Qianshan 后山:Houshan 沙田:Shatian 龙潭:Longtan "
    "新塘:Xintang 白鹭:Bailu 方家埠:Fangjiabu 青石:Qingshi 柏树:Baishu 茶园:Chayuan"
)
PREFIX = words(
    "金桂:Jingui 锦绣:Jinxiu 翠竹:Cuizhu 银湖:Yinhu 阳光:Yangguang 枫丹:Fengdan 春江:Chunjiang "
    "碧水:Bishui 蓝湾:Lanwan 紫金:Zijin 香樟:Xiangzhang 悦澜:Yuelan 云栖:Yunqi 玉泉:Yuquan "
    "清风:Qingfeng 朗月:Langyue 桃李:Taoli 杏林:Xinglin 梅园:Meiyuan 松涛:Songtao 凤凰:Fenghuang "
    "天鹅:Tian'e 百合:Baihe 水岸:Shui'an 滨河:Binhe 湖畔:Hupan 山水:Shanshui 东方:Dongfang "
    "溪畔:Xipan 南苑:Nanyuan 北辰:Beichen 嘉信:Jiaxin 恒泰:Hengtai 宏润:Hongrun 新城:Xincheng "
    "文锦:Wenjin 御景:Yujing 翡翠:Feicui 珍珠:Zhenzhu 星汇:Xinghui 景澜:Jinglan 颐和:Yihe "
    "瑞景:Ruijing 荷风:Hefeng 聆涛:Lingtao 芙蓉:Furong 秋水:Qiushui 晴川:Qingchuan 汀兰:Tinglan"
)
SUFFIX = words(
    "苑:Yuan 花园:Huayuan 家园:Jiayuan 公寓:Gongyu 小区:Xiaoqu 新村:Xincun 雅苑:Yayuan "
    "名邸:Mingdi 华庭:Huating 府:Fu 轩:Xuan 湾:Wan 公馆:Gongguan 雅居:Yaju"
)
COMPANIES = [  # fictional property-management companies
    f"{name}物业{kind}有限公司"
    for name, kind in words(
        "青溪绿苑:服务 清溪城投:管理 望江锦程:服务 柳岸恒信:管理 溪畔嘉禾:服务 "
        "文澜安居:服务 紫荆颐和:服务 桃源宜居:管理 白沙和顺:服务"
    )
]
FIELDS = {  # layer -> property names, in output order
    "towns": "code name name_pinyin kind parent_code households",
    "communities": "code name name_pinyin parent_code households",
    "property_areas": "code name name_pinyin parent_code property_company owners_committee"
    " households",
    "police_precincts": "code name name_pinyin agency",
    "urban_management_squads": "code name name_pinyin agency",
}
Feature = tuple[Props, Geom]


def feature(layer: str, geom: Geom, *values: Any) -> Feature:
    return dict(zip(FIELDS[layer].split(), values, strict=True)), geom


def wiggle(line: LineString, amp: float, rng: Rng) -> LineString:
    """Bend a straight edge irregularly (1/k harmonic noise); the end points stay put."""
    pts = shapely.get_coordinates(shapely.segmentize(line, 50.0))
    ks = np.arange(1, 9)
    coef, phase = rng.normal(size=8) / ks**1.2, rng.uniform(0, 2 * math.pi, 8)
    d = pts[-1] - pts[0]
    length = float(np.hypot(*d))
    if len(pts) < 3:
        return line
    t = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T)))) / length
    noise = np.sin(np.pi * t) * (np.sin(np.pi * np.outer(t, ks) + phase) @ coef)
    off = min(amp, 0.05 * length) * noise / float(np.abs(noise).max())
    return LineString(pts + off[:, None] * np.array([-d[1], d[0]]) / length)


def planar_faces(lines: Sequence[Geom]) -> list[Polygon]:
    """Node all lines by snap-rounding on GRID and polygonize: shared edges come out identical."""
    noded = shapely.get_parts(shapely.unary_union(np.array(lines, dtype=object), grid_size=GRID))
    noded = noded[shapely.get_type_id(noded) == 1]  # LineStrings only
    return list(shapely.get_parts(shapely.polygonize(noded)))


def sample_points(poly: Geom, n: int, rng: Rng, spacing: float = 0.7) -> np.ndarray:
    dmin = spacing * math.sqrt(poly.area / n)
    pts: list[np.ndarray] = []
    while len(pts) < n:
        inner, tries = poly.buffer(-0.3 * dmin), 0
        x0, y0, x1, y1 = inner.bounds
        while len(pts) < n and tries < 4000:
            tries += 1
            p = rng.uniform((x0, y0), (x1, y1))
            if inner.contains(Point(p)) and all(np.hypot(*(p - q)) >= dmin for q in pts):
                pts.append(p)
        dmin *= 0.9
    return np.array(pts)


def partition(area: Polygon, seeds: np.ndarray, amp: float, rng: Rng) -> tuple[list, list]:
    """Wiggled Voronoi tiling of `area`: (cut lines, one Polygon per seed in seed order)."""
    edges = shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=area.buffer(3000), only_edges=True
    )
    clip = area.buffer(2.0, join_style="mitre")
    lines = [shapely.intersection(wiggle(e, amp, rng), clip) for e in shapely.get_parts(edges)]
    lines = [ln for ln in lines if not ln.is_empty]
    faces = planar_faces([area.boundary, *lines])
    faces = [f for f in faces if area.contains(f.point_on_surface())]
    pts = shapely.points(seeds)
    owner = []
    for f in faces:
        hit = np.flatnonzero(shapely.contains(f, pts))
        near = int(np.argmin(shapely.distance(f.point_on_surface(), pts)))
        owner.append(int(hit[0]) if len(hit) == 1 else near)
    regions = [
        shapely.coverage_union_all([f for f, o in zip(faces, owner, strict=True) if o == i])
        for i in range(len(seeds))
    ]
    assert all(r.geom_type == "Polygon" for r in regions), "a Voronoi region fell apart"
    return lines, regions


def make_outline(rng: Rng) -> Polygon:
    th = np.linspace(0, 2 * math.pi, 240, endpoint=False)
    r = np.ones_like(th)
    for k in range(2, 25):
        r += 0.16 / k**1.4 * np.cos(k * th + rng.uniform(0, 2 * math.pi))
    return Polygon(np.column_stack((8300 * r * np.cos(th), 7300 * r * np.sin(th))))


def label(tree: STRtree, pt: Point) -> int:
    hit = tree.query(pt, predicate="within")
    return int(hit.min()) if len(hit) else int(tree.query_nearest(pt)[0])


def estates_in(comm: Geom, urban: bool, rng: Rng) -> list[Polygon]:
    """Blocks of a rotated street grid, inset from the streets and the community border."""
    ang, c = rng.uniform(-40, 40), comm.centroid
    g = affinity.rotate(comm, -ang, origin=c)
    sx, sy = (rng.uniform(190, 290), rng.uniform(160, 240)) if urban else (240.0, 200.0)
    inner = g.buffer(-rng.uniform(7.5, 12), join_style="mitre")
    x0, y0, x1, y1 = g.bounds
    out: list[Polygon] = []
    for y in np.arange(y0 - rng.uniform(0, sy), y1, sy):
        x = x0 - rng.uniform(0, sx)
        while x < x1:
            w = sx * (2 if urban and rng.random() < 0.15 else 1)
            h, curved = rng.uniform(7.5, 15), rng.random() < 0.03
            cell = box(x + h, y + h, x + w - h, y + sy - h)
            d = affinity.rotate(cell.centroid, ang, origin=c).distance(CORE)
            keep = rng.random() < (0.6 * min(1, max(0.06, (4500 - d) / 2500)) if urban else 0.035)
            x += w
            if not keep:
                continue
            piece = shapely.set_precision(shapely.intersection(cell, inner), GRID)
            for part in shapely.get_parts(piece):
                if part.area < 6000 or part.buffer(-12).is_empty:
                    continue
                if curved:
                    part = part.buffer(-35, quad_segs=24).buffer(35, quad_segs=24)
                elif len(part.exterior.coords) > 40:
                    part = part.simplify(1.0)
                part = shapely.set_precision(affinity.rotate(part, ang, origin=c), GRID)
                out.extend(p for p in shapely.get_parts(part) if p.area >= 6000)
    return out


def to_deg(g: Geom) -> Geom:
    """Metric frame -> WGS-84 lon/lat, rounded to 7 decimals, RFC 7946 ring orientation."""
    g = shapely.transform(
        g, lambda xy: np.column_stack((LON0 + xy[:, 0] / M_LON, LAT0 + xy[:, 1] / M_LAT))
    )
    g = shapely.set_precision(g, 1e-7, mode="pointwise")
    g = shapely.transform(g, lambda xy: np.round(xy, 7))
    return shapely.orient_polygons(shapely.normalize(g), exterior_cw=False)


def north_west_order(geoms: Sequence[Geom]) -> list[int]:
    reps = [g.point_on_surface() for g in geoms]
    return sorted(range(len(geoms)), key=lambda i: (-round(reps[i].y, -2), reps[i].x))


def build(rng: Rng) -> dict[str, list[Feature]]:
    outline = make_outline(rng)
    tseeds = np.array([t[4:6] for t in TOWNS], dtype=float) + rng.uniform(-300, 300, (7, 2))
    town_lines, town_regions = partition(outline, tseeds, 400, rng)
    comm_lines: list[Geom] = []
    comm_regions: list[Geom] = []
    comm_town: list[int] = []
    for ti, treg in enumerate(town_regions):
        lines, regs = partition(treg, sample_points(treg, TOWNS[ti][6], rng), 150, rng)
        order = north_west_order(regs)
        comm_lines += lines
        comm_regions += [regs[i] for i in order]
        comm_town += [ti] * len(regs)
    agency_lines, agency_regions = [], []
    for n in (6, 4):
        seeds = sample_points(outline, n, rng, spacing=0.8)
        lines, regs = partition(outline, seeds, 300, rng)
        agency_lines += lines
        agency_regions.append([regs[i] for i in north_west_order(regs)])
    # exclave: a village of a 镇 owns a piece of land inside a community of a neighbouring 街道
    mic = shapely.maximum_inscribed_circle(comm_regions)
    rural = [t for t in range(len(TOWNS)) if TOWNS[t][3] == "town"]
    cands = []  # (radius, community, neighbouring town with the longest shared border)
    for c, tb in enumerate(comm_town):
        border, ta = max((town_regions[tb].intersection(town_regions[t]).length, t) for t in rural)
        if TOWNS[tb][3] == "subdistrict" and border > 500:
            cands.append((mic[c].length, c, ta))
    radius, cb, ta = max(cands)
    centre = shapely.get_coordinates(mic[cb])[0]
    th = np.sort(rng.uniform(0, 2 * math.pi, 7))
    rad = rng.uniform(0.6, 1.0, 7) * min(260.0, 0.7 * radius)
    exclave = Polygon(centre + np.column_stack((rad * np.cos(th), rad * np.sin(th))))
    ca = min(
        (c for c in range(len(comm_regions)) if comm_town[c] == ta),
        key=lambda c: comm_regions[c].distance(Point(centre)),
    )
    assert comm_regions[cb].buffer(-60).contains(exclave)
    # final planar partition: every layer's lines noded together, faces labelled per layer
    all_lines = [outline.boundary, *town_lines, *comm_lines, *agency_lines, exclave.boundary]
    faces = [f for f in planar_faces(all_lines) if outline.contains(f.point_on_surface())]
    trees = [STRtree(comm_regions), *(STRtree(r) for r in agency_regions)]
    labels = []
    for f in faces:
        rep = f.point_on_surface()
        lab = [label(t, rep) for t in trees]
        labels.append([ca if exclave.contains(rep) else lab[0], *lab[1:]])
    lab_arr = np.array(labels)

    def union(layer: int, keys: Sequence[int]) -> Geom:
        return shapely.coverage_union_all(
            [faces[i] for i in np.flatnonzero(np.isin(lab_arr[:, layer], keys))]
        )

    comms = [union(0, [c]) for c in range(len(comm_regions))]
    towns = [union(0, [c for c in range(len(comms)) if comm_town[c] == t]) for t in range(7)]
    agencies = [[union(k + 1, [i]) for i in range(len(r))] for k, r in enumerate(agency_regions)]
    for layer in (comms, towns, *agencies):
        assert shapely.coverage_is_valid(layer, gap_width=1.0), "not a clean coverage"
    assert towns[ta].geom_type == "MultiPolygon" and len(towns[comm_town[cb]].interiors) == 1
    assert sum(g.geom_type != "Polygon" for g in (*comms, *towns)) == 2, "unexpected multipart"
    return assemble(rng, towns, comms, comm_town, agencies, exclave)


def assemble(
    rng: Rng,
    towns: list[Geom],
    comms: list[Geom],
    comm_town: list[int],
    agencies: list[list[Geom]],
    exclave: Polygon,
) -> dict[str, list[Feature]]:
    out: dict[str, list[Feature]] = {k: [] for k in FIELDS}
    names = [(p + s, f"{pp} {sp}") for p, pp in PREFIX for s, sp in SUFFIX]
    names = [names[i] for i in rng.permutation(len(names))]
    urban, village = iter(URBAN), iter(VILLAGE)
    estates: list[tuple[Props, Polygon]] = []
    town_hh = [0] * len(towns)
    comm_feats: list[Feature] = []
    seq = {t: 0 for t in range(len(towns))}
    for c, geom in enumerate(comms):
        t = comm_town[c]
        seq[t] += 1
        is_urban = TOWNS[t][3] == "subdistrict"
        code = f"{DISTRICT}{TOWNS[t][0]}{seq[t]:03d}"
        word, py = next(urban) if is_urban else next(village)
        blocks = estates_in(geom, is_urban, rng)
        hh = int(rng.integers(150, 700) if is_urban else geom.area * rng.uniform(1.5e-4, 3e-4))
        for k, i in enumerate(north_west_order(blocks), start=1):
            b = blocks[i]
            dens = rng.uniform(0.006, 0.015) if is_urban else rng.uniform(0.004, 0.009)
            n_hh = max(24, int(b.area * dens))
            hh += n_hh
            company = COMPANIES[int(rng.integers(len(COMPANIES)))]
            row: tuple[Any, ...] = (f"{code}{k:03d}", *names.pop(), code, company, True, n_hh)
            estates.append(feature("property_areas", b, *row))
        town_hh[t] += hh
        suffix = ("社区", "Shequ") if is_urban else ("村", "Cun")
        row = (code, word + suffix[0], f"{py} {suffix[1]}", code[:9], hh)
        comm_feats.append(feature("communities", geom, *row))
    n = len(estates)
    for i in rng.permutation(n)[: round(0.10 * n)]:
        estates[i][0]["property_company"] = ""
    for i in rng.permutation(n)[: round(0.25 * n)]:
        estates[i][0]["owners_committee"] = False
    # two estates enclose land that is not theirs: a school and a substation
    mic = shapely.maximum_inscribed_circle([g for _, g in estates])
    holes = ((70.0, 90.0), (30.0, 40.0))
    for i, (w, h) in zip(np.argsort(-shapely.length(mic))[:2], holes, strict=True):
        props, geom = estates[i]
        ctr = shapely.get_coordinates(mic[i])[0]
        hole = affinity.rotate(box(-w / 2, -h / 2, w / 2, h / 2), rng.uniform(0, 90))
        hole = shapely.set_precision(affinity.translate(hole, *ctr), GRID)
        assert geom.buffer(-25).contains(hole)
        estates[i] = (props, geom.difference(hole))
    for t, (suf, name, py, kind, *_r) in enumerate(TOWNS):
        row = (DISTRICT + suf, name, py, kind, DISTRICT, town_hh[t])
        out["towns"].append(feature("towns", towns[t], *row))
    out["communities"] = comm_feats
    out["property_areas"] = estates
    used: set[str] = set()
    for key, agency, unit, unit_py, prefix in (
        ("police_precincts", "public_security", "派出所", "Paichusuo", "PS"),
        ("urban_management_squads", "urban_management", "城管中队", "Chengguan Zhongdui", "UM"),
    ):
        for i, geom in enumerate(agencies[0 if prefix == "PS" else 1], start=1):
            t = int(np.argmax(shapely.area(shapely.intersection(towns, geom))))
            name, py = TOWNS[t][1][:2], TOWNS[t][2].split()[0]
            if name + unit in used:  # a second unit in the same town: 城北/城南 by location
                name, py = ("城南", "Chengnan") if geom.centroid.y < 0 else ("城北", "Chengbei")
            used.add(name + unit)
            row = (f"{prefix}-{i:02d}", name + unit, f"{py} {unit_py}", agency)
            out[key].append(feature(key, geom, *row))
    out = {k: [(p, to_deg(g)) for p, g in v] for k, v in out.items()}
    out["_exclave"] = [({}, to_deg(exclave))]
    return out


def landmarks(layers: dict[str, list[Feature]]) -> dict[str, Any]:
    towns, comms, pas = layers["towns"], layers["communities"], layers["property_areas"]
    trees = {k: STRtree([g for _, g in v]) for k, v in layers.items()}

    def covering(key: str, pt: Point) -> list[str]:
        hits = trees[key].query(pt, predicate="covered_by")  # pt covered_by g  <=>  g covers pt
        return sorted(layers[key][i][0]["code"] for i in hits)

    def expect(pt: Point) -> Props:
        tc, cc, pc = (covering(k, pt) for k in ("towns", "communities", "property_areas"))
        assert len(pc) <= 1
        first = [x[0] if x else None for x in (tc, cc, pc)]
        keys = ("town", "community", "property_area", "towns_covering", "communities_covering")
        return dict(zip(keys, (*first, tc, cc), strict=True))

    def rounded(p: Point) -> Point:
        return Point(round(p.x, 7), round(p.y, 7))

    picks: dict[str, tuple[Point, Props]] = {}
    for key, flags in (
        ("estate_with_company", (True, True)),
        ("estate_without_company", (False, True)),
        ("estate_without_owners_committee", (True, False)),
    ):
        props, g = next(
            f
            for f in pas
            if not len(f[1].interiors)
            and flags == (bool(f[0]["property_company"]), f[0]["owners_committee"])
        )
        picks[key] = (rounded(g.point_on_surface()), {"property_area": props["code"]})
    for (pa, ga), (pb, gb) in itertools.pairwise(pas):  # a road between two neighbours
        mid = rounded(shapely.shortest_line(ga, gb).interpolate(0.5, normalized=True))
        if (
            pa["parent_code"] == pb["parent_code"]
            and ga.distance(gb) < 0.0004
            and not covering("property_areas", mid)
            and covering("communities", mid) == [pa["parent_code"]]
        ):
            picks["road"] = (mid, {"property_area": None, "community": pa["parent_code"]})
            break
    seen: dict[tuple[float, float], set[str]] = {}
    for key, feats in (("t", towns), ("c", comms)):
        for props, g in feats:
            for xy in {tuple(c) for c in shapely.get_coordinates(g.boundary)}:
                seen.setdefault(xy, set()).add(key + props["code"])
    owners = {xy: sorted(s) for xy, s in sorted(seen.items())}
    two_towns = [
        xy for xy, s in owners.items() if len([c for c in s if c[0] == "t"]) == 2 and len(s) == 4
    ]
    triple = [xy for xy, s in owners.items() if len(s) == 3 and s[2][0] == "c"]
    xy = two_towns[len(two_towns) // 2]
    picks["shared_town_vertex"] = (Point(xy), {"towns_covering": [c[1:] for c in owners[xy][2:]]})
    on_border, segs = set(two_towns), []
    for _, g in towns:  # town border segments whose rounded midpoint stays exactly on them
        for ring in (r for p in shapely.get_parts(g) for r in (p.exterior, *p.interiors)):
            segs += [
                (a, b)
                for a, b in itertools.pairwise(ring.coords)
                if a in on_border and b in on_border
            ]
    for a, b in sorted(segs):
        mid = rounded(Point((a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
        tc = covering("towns", mid)
        if len(tc) == 2 and len(covering("communities", mid)) == 2 and (mid.x, mid.y) not in seen:
            picks["shared_town_edge"] = (mid, {"towns_covering": tc})
            break
    else:
        picks["shared_town_edge"] = picks["shared_town_vertex"]
    xy = triple[len(triple) // 2]
    picks["triple_point"] = (Point(xy), {"communities_covering": [c[1:] for c in owners[xy][:3]]})
    holed = next((p, g) for p, g in pas if g.interiors)
    hole = Polygon(holed[1].interiors[0])
    picks["in_hole"] = (
        rounded(hole.point_on_surface()),
        {"property_area": None, "community": holed[0]["parent_code"]},
    )
    exc = layers["_exclave"][0][1]
    town_a = next(p["code"] for p, g in towns if g.geom_type == "MultiPolygon")
    town_b = next(p["code"] for p, g in towns if getattr(g, "interiors", []))
    picks["exclave"] = (
        rounded(exc.point_on_surface()),
        {"town": town_a, "towns_covering": [town_a]},
    )
    ring = exc.buffer(0.0004).exterior
    for f in np.linspace(0, 1, 41):
        p = rounded(ring.interpolate(f, normalized=True))
        if not covering("property_areas", p):
            break
    picks["enclave_surroundings"] = (p, {"town": town_b, "towns_covering": [town_b]})
    bounds = shapely.total_bounds([g for _, g in towns])
    nowhere: Props = {"town": None, "community": None, "property_area": None, "towns_covering": []}
    picks["outside"] = (rounded(Point(bounds[2] + 0.05, (bounds[1] + bounds[3]) / 2)), nowhere)
    picks["far_outside"] = (Point(121.5, 31.2), nowhere)
    result: dict[str, Any] = {}
    for name, (pt, want) in picks.items():
        got = expect(pt)
        bad = {k: v for k, v in want.items() if got[k] != v}
        assert not bad, f"landmark {name}: expected {bad}, got {got}"
        result[name] = {"lon": pt.x, "lat": pt.y, "expect": got}
    return result


def dump(path: Path, feats: list[Feature]) -> None:
    rows = [{"type": "Feature", "properties": p, "geometry": mapping(g)} for p, g in feats]
    text = ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows)
    path.write_text(f'{{"type":"FeatureCollection","features":[\n{text}\n]}}\n', encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "sample")
    out = ap.parse_args(argv).out
    rng = np.random.default_rng(SEED)
    layers = build(rng)
    for key, feats in layers.items():
        geoms = [g for _, g in feats]
        assert all(shapely.is_valid(geoms)), f"{key}: invalid geometry"
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        assert BBOX[0] <= x0 and x1 <= BBOX[2] and BBOX[1] <= y0 and y1 <= BBOX[3], key
    for key in ("towns", "communities", "police_precincts", "urban_management_squads"):
        assert shapely.coverage_is_valid([g for _, g in layers[key]]), f"{key}: edges differ"
    marks = landmarks(layers)
    out.mkdir(parents=True, exist_ok=True)
    for key, feats in layers.items():
        if not key.startswith("_"):
            dump(out / f"{key}.geojson", sorted(feats, key=lambda f: f[0]["code"]))
    (out / "landmarks.json").write_text(
        json.dumps(marks, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(", ".join(f"{k}: {len(v)}" for k, v in layers.items() if not k.startswith("_")))


if __name__ == "__main__":
    main()
