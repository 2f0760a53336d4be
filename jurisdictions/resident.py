"""The words residents use: a resident-facing layer over the legal taxonomy.

:file:`data/resident_words.yaml` (reviewed like code, checked by ``shudi taxonomy check``) gives
about twelve everyday categories (the tiles of the report page), for each reportable type a plain
name and the everyday words and phrasings residents use for it, and the numbers to call first for
urgent types. Routing never reads it: who handles a type stays in ``violation_types.yaml``.

:func:`rank` orders types for a word or a whole sentence: every name, keyword and everyday word of
a type is a *term*; a term equal to the query scores 100, a query that is part of a term
40–80 (more the more of the term it covers), and each term found inside a longer query adds the
square of its length (a four-character phrase says far more than one character). When no term
matches, shared character pairs (bigrams) with the type's terms give a small score, so that an
unforeseen phrasing still finds something. Ties go to the order of the categories.

Mediation types (scope ``dispute``) and non-reportable duties are never offered to residents
(``audience="resident"``, the default); staff (``audience="staff"``) see every type that matches.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jurisdictions.taxonomy import CODE_PATTERN, DATA_DIR, TaxonomyFileError, ViolationType

RESIDENT_WORDS_PATH = DATA_DIR / "resident_words.yaml"
UTILITY_CALLS = ("gas", "water", "power", "heat")
#: Numbers a resident may be offered to call: emergency services, the lift rescue platform,
#: the citizens' hotline.
EMERGENCY_NUMBERS = ("110", "119", "120", "122", "12345", "96333")

Audience = Literal["resident", "staff"]


class Call(BaseModel):
    """A number to call before filing (or instead of it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: str = Field(pattern=r"^[0-9]{3,8}$", description="The fallback / fixed number.")
    utility: str | None = Field(
        default=None, description="Call this utility's published line of the place first."
    )
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)


class Category(BaseModel):
    """A tile of the report page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=CODE_PATTERN, max_length=32)
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    icon: str = Field(pattern=r"^fa-[a-z0-9-]+$")
    types: list[str] = Field(min_length=1)
    calls: list[Call] = Field(default_factory=list)


class ResidentType(BaseModel):
    """How residents name one type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plain_zh: str = Field(min_length=1)
    plain_en: str = Field(min_length=1)
    words: list[str] = Field(default_factory=list)
    urgent: list[Call] = Field(default_factory=list)


class ResidentWords(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: list[Category] = Field(min_length=1)
    types: dict[str, ResidentType]


@lru_cache(maxsize=4)
def _load(path: Path) -> ResidentWords:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return ResidentWords.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise TaxonomyFileError(f"{path}: {exc}") from exc


def load_resident_words(path: Path | str | None = None) -> ResidentWords:
    """The resident layer of ``path`` (default :data:`RESIDENT_WORDS_PATH`), validated, cached.
    Raises :class:`TaxonomyFileError`."""
    return _load(Path(path) if path is not None else RESIDENT_WORDS_PATH)


def offered_to_residents(t: Mapping[str, Any] | ViolationType) -> bool:
    """A reportable type that is not a mediation case."""
    get = t.get if isinstance(t, Mapping) else lambda k: getattr(t, k)
    return bool(get("reportable")) and get("scope") != "dispute"


def check_resident_words(layer: ResidentWords, types: Sequence[ViolationType]) -> list[str]:
    """Every problem of the layer against the taxonomy, one line each ([] when sound)."""
    problems: list[str] = []
    by_code = {t.code: t for t in types}
    offered = {t.code for t in types if offered_to_residents(t)}
    seen_cat: set[str] = set()
    in_a_category: set[str] = set()
    for cat in layer.categories:
        if cat.code in seen_cat:
            problems.append(f"resident category {cat.code}: the code is used twice")
        seen_cat.add(cat.code)
        for code in cat.types:
            if code not in by_code:
                problems.append(f"resident category {cat.code}: unknown type {code}")
            elif code not in offered:
                problems.append(
                    f"resident category {cat.code}: {code} is a mediation type or not reportable; "
                    "residents are never offered it"
                )
            if cat.types.count(code) > 1:
                problems.append(f"resident category {cat.code}: lists {code} twice")
        in_a_category |= set(cat.types)
        problems += _check_calls(f"resident category {cat.code}", cat.calls)
    for code, entry in layer.types.items():
        if code not in by_code:
            problems.append(f"resident words: unknown type {code}")
        elif code not in offered:
            problems.append(f"resident words: {code} is not offered to residents")
        if not entry.words:
            problems.append(f"resident words: {code} has no everyday words")
        blank = [w for w in entry.words if not _norm(w)]
        if blank:
            problems.append(f"resident words: {code} has blank words")
        problems += _check_calls(f"resident words: {code}", entry.urgent)
    for code in sorted(offered - in_a_category):
        problems.append(f"resident categories: type {code} is under no category")
    for code in sorted(offered - set(layer.types)):
        problems.append(f"resident words: type {code} has no plain name and words")
    return problems


def _check_calls(where: str, calls: Iterable[Call]) -> list[str]:
    out = []
    for c in calls:
        if c.utility is not None and c.utility not in UTILITY_CALLS:
            out.append(f"{where}: utility {c.utility!r} is not one of {', '.join(UTILITY_CALLS)}")
        if c.utility is None and c.number not in EMERGENCY_NUMBERS:
            out.append(f"{where}: {c.number} is not an emergency number ({EMERGENCY_NUMBERS})")
    return out


# --- ranking ------------------------------------------------------------------------------------

_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


def _norm(text: str) -> str:
    """NFKC, case-folded, without spaces and punctuation."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text or "").casefold())


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _terms(t: Mapping[str, Any], entry: ResidentType | None) -> tuple[str, ...]:
    extra = (entry.plain_zh, *entry.words) if entry is not None else ()
    return _normalised(str(t.get("name_zh") or ""), tuple(t.get("keywords") or ()), extra)


@lru_cache(maxsize=1024)
def _normalised(name: str, keywords: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in map(_norm, (name, *keywords, *extra)) if n))


def score(query: str, terms: Sequence[str], df: Mapping[str, int] | None = None) -> float:
    """How well ``query`` (normalised) matches a type's ``terms`` (0: not at all).

    ``df`` counts, per term, the types having it: a term shared by many types (物业, 电梯) weighs
    less inside a sentence than one only this type has."""
    whole = 0.0
    inside = 0.0
    for term in terms:
        if term == query:
            whole = 100.0
        elif query in term:
            whole = max(whole, 40.0 + 40.0 * len(query) / len(term))
        elif term in query:
            inside += len(term) ** 2 / ((df or {}).get(term, 1) ** 0.5)
    if whole or inside:
        return whole + inside
    # No term at all: shared character pairs, always less than one real (one-character) term.
    pairs = _bigrams(query)
    known = _known_bigrams(tuple(terms))
    return min(0.9, 0.3 * len(pairs & known))


@lru_cache(maxsize=1024)
def _known_bigrams(terms: tuple[str, ...]) -> frozenset[str]:
    return frozenset().union(*(_bigrams(t) for t in terms))


def rank(
    types: Iterable[Mapping[str, Any]],
    query: str,
    *,
    audience: Audience = "resident",
    layer: ResidentWords | None = None,
) -> list[dict[str, Any]]:
    """``types`` (dicts with code, name_zh, keywords, reportable, scope) best first for
    ``query``, each a copy with ``score``; only matching ones. An empty query keeps them all in
    category order. Residents are offered only :func:`offered_to_residents` types."""
    layer = layer or load_resident_words()
    order = {code: i for i, code in enumerate(c for cat in layer.categories for c in cat.types)}
    q = _norm(query)[:200]
    candidates = [
        (t, _terms(t, layer.types.get(t["code"])))
        for t in types
        if audience == "staff" or offered_to_residents(t)
    ]
    df = Counter(term for _, terms in candidates for term in terms)
    out: list[tuple[float, int, dict[str, Any]]] = []
    for n, (t, terms) in enumerate(candidates):
        s = score(q, terms, df) if q else 0.0
        if q and s <= 0:
            continue
        out.append((-s, order.get(t["code"], len(order) + n), {**t, "score": round(s, 1)}))
    out.sort(key=lambda r: r[:2])
    return [r[2] for r in out]


def annotate(t: Mapping[str, Any], layer: ResidentWords | None = None) -> dict[str, Any]:
    """A type with its plain names, categories and urgent calls (empty when it has none)."""
    layer = layer or load_resident_words()
    entry = layer.types.get(t["code"])
    return {
        **t,
        "plain_zh": entry.plain_zh if entry else t.get("name_zh"),
        "plain_en": entry.plain_en if entry else t.get("name_en"),
        "categories": [c.code for c in layer.categories if t["code"] in c.types],
        "urgent": [c.model_dump() for c in entry.urgent] if entry else [],
        "offered_to_residents": offered_to_residents(t),
    }


def categories(layer: ResidentWords | None = None) -> list[dict[str, Any]]:
    """The tiles, in order, as plain data."""
    layer = layer or load_resident_words()
    return [c.model_dump() for c in layer.categories]
