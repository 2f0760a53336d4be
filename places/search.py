"""The ranked place search behind ``GET /api/v1/places`` and the pages' search box.

Best first, by tier (a better kind of match always wins), then shorter names, then the kind
(estates before communities, towns, roads, addresses and POIs), then the name:

====  ==================================================================
100   the name exactly
 90   the name starts with the query
 80   the query is part of the name
 76   the full pinyin exactly (``tianeyayuan``)
 74   the initials exactly (``tey`` is 天鹅苑)
 70   the full pinyin starts with the query
 68   the initials start with the query (``tey`` → 天鹅雅苑)
 60   mixed pinyin from the first syllable (``tianey``, ``teya``)
 50   mixed pinyin from a later syllable (``yayuan`` → 天鹅雅苑: part of a name)
 30   gapped pinyin: whole syllables skipped (``tiany``: 天 … 雅), ranked by :func:`gap_cost`
====  ==================================================================

A Chinese query is matched against names (tiers 100–80), a Latin one against the pinyin; both
only among the rows of the active boundary generations and the gazetteer. A Latin query runs
in up to two steps (measured in docs/benchmarks.md): tiers 76–60 all start at the first
syllable, so the ``text_pattern_ops`` index on the initials narrows them to names with the
key's first letter; only when they give fewer than three places (or ``limit``) are tiers 50
and 30 looked for (one regular expression over every name), the gapped ones ranked by
:func:`gap_cost` only when the tier above leaves room. The name's trigram index serves
Chinese substrings.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, text

from places import store
from places.pinyin import latin_key, normalise_query, syllable_pattern

KINDS = ("estate", "community", "town", "road", "address", "poi")
MAX_LIMIT = 50
GAPPED_WINDOW = 100  # Latin queries: at most this many gapped matches are ranked by gap_cost
FALLBACK_BELOW = 3  # Latin: later-syllable and gapped matches only when the first tiers give fewer

_RANKED = """
SELECT kind, code, name, context, syllables, ST_X(point) AS lon, ST_Y(point) AS lat,
       west, south, east, north, tier
FROM (
    SELECT p.*, {tier} AS tier
    FROM place p
    WHERE (p.dataset IS NOT NULL OR p.generation_id = ANY(:gens)) AND ({filter})
) ranked
WHERE tier > 0
ORDER BY tier DESC, char_length(name), array_position(:kinds, kind::text), name, code
LIMIT :limit
"""

_CHINESE_TIER = """CASE WHEN p.name = :q THEN 100
    WHEN starts_with(p.name, :q) THEN 90 ELSE 80 END"""
_CHINESE_FILTER = "p.name LIKE :like"

_FROM_START = """p.pinyin LIKE :prefix OR p.initials LIKE :prefix OR p.syllables ~ :first"""
_START_TIER = """CASE WHEN p.pinyin = :k THEN 76 WHEN p.initials = :k THEN 74
    WHEN p.pinyin LIKE :prefix THEN 70 WHEN p.initials LIKE :prefix THEN 68 ELSE 60 END"""
_START_FILTER = f"p.initials LIKE :k0 AND ({_FROM_START})"
_LATER_TIER = "CASE WHEN p.syllables ~ :mixed THEN 50 ELSE 30 END"
_LATER_FILTER = (  # the LIKE (letters in order) is cheap and rules out most names first
    f"p.pinyin LIKE :letters AND p.syllables ~ :gapped "
    f"AND NOT (p.initials LIKE :k0 AND ({_FROM_START}))"
)

_SQL = {
    "zh": text(_RANKED.format(tier=_CHINESE_TIER, filter=_CHINESE_FILTER)),
    "start": text(_RANKED.format(tier=_START_TIER, filter=_START_FILTER)),
    "later": text(_RANKED.format(tier=_LATER_TIER, filter=_LATER_FILTER)),
}

_ACTIVE = text("""
    SELECT g.generation_id,
           EXISTS (SELECT 1 FROM place p WHERE p.generation_id = g.generation_id) AS copied
    FROM generation_period g
    WHERE g.valid_to IS NULL AND g.layer IN ('town', 'community', 'property_area')
""")


def active_generations(conn: Connection) -> list[int]:
    """The active town, community and estate generations, copied into ``place`` if need be
    (one index probe each; the copy runs once per newly active generation)."""
    rows = conn.execute(_ACTIVE).all()
    if not all(r.copied for r in rows):
        store.sync_boundaries(conn)
    return sorted(int(r.generation_id) for r in rows)


def gap_cost(key: str, syllables: str) -> tuple[int, float, int]:
    """How well ``key`` spells ``syllables`` as prefixes of syllables taken in order: (whole
    syllables skipped between the first and the last used, minus the share of each used
    syllable typed, syllables skipped before the first). Lower is better; among names the
    tier leaves tied, ``tiany`` ranks 天鹅雅苑 (天 … 雅, one skipped) before 天鹅公寓 (two).

    >>> gap_cost("tiany", "tian e ya yuan")
    (1, -1.5, 0)
    >>> gap_cost("tiany", "tian e gong yu")
    (2, -1.5, 0)
    """
    syl = syllables.split()
    n, m = len(key), len(syl)
    worst = (n + m + 1, 0.0, m)

    @cache
    def best(i: int, j: int) -> tuple[int, float]:
        if i == n:
            return (0, 0.0)
        out = (n + m + 1, 0.0)
        for t in range(j, m):
            s = syl[t]
            length = 0
            while length < len(s) and i + length < n and s[length] == key[i + length]:
                length += 1
                skip, cover = best(i + length, t + 1)
                cand = (skip + (t - j), cover - length / len(s))
                out = min(out, cand)
        return out

    options = []
    for start in range(m):
        skip, cover = best(0, start)
        if skip <= n + m:
            options.append((skip, cover, start))
    return min(options) if options else worst


def _like_escape(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(conn: Connection, *, q: str, limit: int = 10) -> list[dict[str, Any]]:
    """Places matching ``q``, best first (at most ``limit``, capped at :data:`MAX_LIMIT`).

    Each is ``{kind, code, name, context, lon, lat, bbox: [w, s, e, n], match}`` in WGS-84.
    An empty query finds nothing.
    """
    query = normalise_query(q)
    limit = max(1, min(int(limit), MAX_LIMIT))
    if not query:
        return []
    params: dict[str, Any] = {
        "gens": active_generations(conn),
        "kinds": list(KINDS),
        "limit": limit,
    }
    key = latin_key(query)
    if key is None:
        params |= {"q": query, "like": f"%{_like_escape(query)}%"}
        rows = list(conn.execute(_SQL["zh"], params))
    else:
        params |= {
            "k": key,
            "k0": key[0] + "%",
            "prefix": key + "%",
            "first": "^" + syllable_pattern(key, gapped=False).removeprefix("(?:^| )"),
            "mixed": syllable_pattern(key, gapped=False),
            "gapped": syllable_pattern(key, gapped=True),
            "letters": "%" + "%".join(key) + "%",
        }
        rows = list(conn.execute(_SQL["start"], params))
        if len(rows) < min(limit, FALLBACK_BELOW):
            later = conn.execute(_SQL["later"], params | {"limit": GAPPED_WINDOW}).all()
            rows += [r for r in later if r.tier == 50][: limit - len(rows)]
            if len(rows) < limit:
                gapped = sorted(
                    (r for r in later if r.tier == 30), key=lambda r: gap_cost(key, r.syllables)
                )
                rows += gapped[: limit - len(rows)]
    return [
        {
            "kind": r.kind,
            "code": r.code,
            "name": r.name,
            "context": r.context,
            "lon": r.lon,
            "lat": r.lat,
            "bbox": [r.west, r.south, r.east, r.north],
            "match": r.tier,
        }
        for r in rows
    ]


def as_feature_collection(places: list[dict[str, Any]]) -> dict[str, Any]:
    """Search results as a GeoJSON FeatureCollection (label points; each feature's ``bbox`` is
    the place's extent, to fit a map to)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "bbox": p["bbox"],
                "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
                "properties": {
                    "code": p["code"],
                    "name": p["name"],
                    "kind": p["kind"],
                    "context": p["context"],
                    "rank": i + 1,
                },
            }
            for i, p in enumerate(places)
        ],
    }
