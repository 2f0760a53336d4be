"""The taxonomy of the linkage mechanism as data: its parties (agencies) and violation types.

Pure Python, no database. The sources are :file:`data/agencies.yaml` and
:file:`data/violation_types.yaml`, checked against the text of the district's implementation
opinions (:file:`data/linkage-mechanism.txt`, a byte-identical copy of the specification so that
the app never reads a file outside the repository at run time).

References into the text (``source_ref``)
    ``"P.I"``  item I, *by position*, of party P in section 二 (parties （一）..（十一）).
               Party （九） numbers its items 1, 2, 3, 3, 4; by position they are 9.1 .. 9.5.
    ``"P"``    a party as a whole; only for a party without numbered items
               (（十一）专业经营单位).
    ``"S3.N"`` part （N） of section 三 (e.g. ``"S3.2"``, the rapid linkage mechanism, where the
               property service company's duty is stated).

The text is read by :mod:`jurisdictions.spec_text`; the data are checked against it by
:func:`jurisdictions.taxonomy_check.check_taxonomy` (whose docstring states the agency rule).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DATA_DIR = Path(__file__).with_name("data")
AGENCIES_PATH = DATA_DIR / "agencies.yaml"
VIOLATION_TYPES_PATH = DATA_DIR / "violation_types.yaml"
#: The specification (a byte-identical copy of ``shared/seed/linkage-mechanism.txt``).
SPEC_PATH = DATA_DIR / "linkage-mechanism.txt"

Scope = Literal["enforcement", "property_service", "dispute", "utility"]
Action = Literal["stop", "investigate", "mediate"]
SCOPES: tuple[str, ...] = get_args(Scope)
#: 制止 / 查处 / 调解.
ACTIONS: tuple[str, ...] = get_args(Action)

UTILITY_AGENCY = "utility"
PROPERTY_COMPANY = "property_company"
#: Fewest keywords a reportable type may have.
MIN_KEYWORDS = 3

CODE_PATTERN = r"^[a-z][a-z0-9_]*$"
REF_PATTERN = r"^(?:[1-9][0-9]*(?:\.[1-9][0-9]*)?|S[1-9][0-9]*\.[1-9][0-9]*)$"


@dataclass(frozen=True)
class Handover:
    """A hand-over rule of the text: a matter stated under one party handled by another."""

    source: str
    """The agency under whose items the hand-over is stated."""
    receivers: tuple[str, ...]
    """Agencies a type with this tag may name as its agency instead of the source."""
    refs: tuple[str, ...]
    """The items that state the hand-over; a tagged type cites at least one."""
    inside_estates_only: bool = False
    """The hand-over applies only inside property management areas (the routing rules apply
    it there), so a type may keep the source as its agency for elsewhere."""


#: Hand-over tags of violation types.
HANDOVERS: dict[str, Handover] = {
    # 二（五）3: 在物业管理区域内发现的违法违规行为，将及时移交市城市管理局。
    "planning_to_urban_management": Handover(
        source="planning",
        receivers=("urban_management",),
        refs=("5.3",),
        inside_estates_only=True,
    ),
    # 二（八）6–7: 由国土资源、规划、住房城乡建设、房管、文化、卫生计生、公安、消防、环保等部门
    # 依法监管；谁审批、谁监管. Receivers are the departments it names that are parties here.
    "approving_department": Handover(
        source="market_regulation",
        receivers=(
            "planning",
            "housing_construction",
            "housing_service_center",
            "public_security",
            "environmental_protection",
        ),
        refs=("8.6", "8.7"),
    ),
}


class TaxonomyFileError(ValueError):
    """A data file that cannot be read as a list of valid entries."""


# --- models -------------------------------------------------------------------------------------


class UtilityKind(BaseModel):
    """One kind of utility operator (供水, 供电, …) of party （十一）."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=CODE_PATTERN, max_length=32)
    name_zh: str
    name_en: str


class Agency(BaseModel):
    """A party of the mechanism (or the property service company, which has no party number)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=CODE_PATTERN, max_length=64)
    party: int | None = Field(ge=1, description="（一）..（十一） of section 二; None if not one.")
    name_zh: str
    name_en: str
    territorial: bool = False
    has_field_units: bool = Field(
        default=False, description="Has field units with their own areas (派出所, 城管中队)."
    )
    duties_zh: str
    duties_en: str
    kinds: list[UtilityKind] = Field(default_factory=list)


def _as_ref_list(value: Any) -> Any:
    """``source_ref`` as a list of strings: one string becomes a list; integers become text."""
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, float):
            raise ValueError(f'source_ref {item!r} is a number; quote it (e.g. "1.2")')
        out.append(str(item) if isinstance(item, int) and not isinstance(item, bool) else item)
    return out


class ViolationType(BaseModel):
    """A kind of problem a resident can report, or a duty or rule of the text (not reportable)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=CODE_PATTERN, max_length=64)
    name_zh: str
    name_en: str
    agency: str = Field(description="Code of the handling agency.")
    scope: Scope
    actions: list[Action] = Field(default_factory=list)
    reportable: bool
    source_ref: list[str] = Field(min_length=1, description='"P.I", "P" or "S3.N" references.')
    keywords: list[str] = Field(default_factory=list)
    utility_kind: str | None = None
    handover: str | None = None
    participants: list[str] = Field(default_factory=list)
    sensitive: bool = Field(
        default=False,
        description="Cases of this type appear in no public listing (the reporter's safety).",
    )
    evidence: bool = Field(
        default=False,
        description="Resolving needs a photo from before and one from after (处置前后).",
    )
    note_zh: str | None = None
    note_en: str | None = None

    _normalise_ref = field_validator("source_ref", mode="before")(_as_ref_list)

    @field_validator("source_ref")
    @classmethod
    def _ref_format(cls, refs: list[str]) -> list[str]:
        bad = [r for r in refs if not re.match(REF_PATTERN, r)]
        if bad:
            raise ValueError(f'malformed reference(s) {bad}; use "P.I", "P" or "S3.N"')
        return refs


# --- loading ------------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def _validate_entries(model: type[M], path: Path) -> tuple[M, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise TaxonomyFileError(f"{path}: expected a list of entries")
    out = []
    for number, entry in enumerate(data, start=1):
        try:
            out.append(model.model_validate(entry))
        except ValidationError as exc:
            code = entry.get("code") if isinstance(entry, dict) else None
            raise TaxonomyFileError(f"{path}: entry {number} ({code or '?'}): {exc}") from exc
    return tuple(out)


@lru_cache(maxsize=8)
def _agencies(path: Path) -> tuple[Agency, ...]:
    return _validate_entries(Agency, path)


@lru_cache(maxsize=8)
def _violation_types(path: Path) -> tuple[ViolationType, ...]:
    return _validate_entries(ViolationType, path)


def load_agencies(path: Path | str | None = None) -> list[Agency]:
    """The agencies of ``path`` (default :data:`AGENCIES_PATH`), validated, in file order.

    Cached per path; :func:`clear_caches` forgets them. Raises :class:`TaxonomyFileError`.
    """
    return list(_agencies(Path(path) if path is not None else AGENCIES_PATH))


def load_violation_types(path: Path | str | None = None) -> list[ViolationType]:
    """The violation types of ``path`` (default :data:`VIOLATION_TYPES_PATH`), in file order.

    Cached per path; :func:`clear_caches` forgets them. Raises :class:`TaxonomyFileError`.
    """
    return list(_violation_types(Path(path) if path is not None else VIOLATION_TYPES_PATH))


def clear_caches() -> None:
    """Forget loaded files (after editing them in a running process, or in tests)."""
    _agencies.cache_clear()
    _violation_types.cache_clear()


def load_spec_text(path: Path | str | None = None) -> str:
    """The specification's text (default :data:`SPEC_PATH`)."""
    return Path(path if path is not None else SPEC_PATH).read_text(encoding="utf-8")


# --- searching ----------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _term_score(term: str, query: str) -> int:
    """How well one name or keyword matches the query (0: not at all)."""
    if not term:
        return 0
    if term == query:
        return 100
    if term.startswith(query):
        return 80
    if query in term:
        return 60
    if len(term) >= 2 and term in query:
        # A keyword inside a longer query ("楼上半夜装修噪音"): the longer, the more specific.
        return 40 + min(len(term), 19)
    return 0


def search_types(types: Iterable[ViolationType], query: str) -> list[ViolationType]:
    """Reportable types matching ``query``, best first (for the resident's type picker).

    Matches are case-insensitive substrings either way round between the query and a type's
    name_zh or keywords (exact > prefix > contains query > contained in query), then the query
    inside name_en (30) or the code (20). Ties go to the type matching more of its terms, then
    to file order. An empty query returns every reportable type in file order.
    """
    reportable = [t for t in types if t.reportable]
    q = _norm(query)
    if not q:
        return reportable
    ranked: list[tuple[int, int, int, ViolationType]] = []
    for index, t in enumerate(reportable):
        scores = [_term_score(_norm(term), q) for term in [t.name_zh, *t.keywords]]
        if q in _norm(t.name_en):
            scores.append(30)
        if q.replace(" ", "_") in t.code:
            scores.append(20)
        best = max(scores, default=0)
        if best:
            ranked.append((-best, -sum(1 for s in scores if s), index, t))
    ranked.sort(key=lambda r: r[:3])
    return [r[3] for r in ranked]
