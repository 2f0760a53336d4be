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

The agency rule (checked by :func:`check_taxonomy`)
    Let the *cited parties* of a type be the parties of its ``P`` / ``P.I`` references, and the
    *own agency* of a party the agency whose ``party`` is that number.

    1. A type citing items of section 二 is handled by the own agency of one of its cited
       parties — or, when it has a ``handover`` tag, by one of that hand-over's receivers (see
       :data:`HANDOVERS`).
    2. Every cited party whose own agency is not the type's agency must be excused: either the
       type's scope is ``dispute`` and that agency is one of its ``participants`` (a dispute
       mediated by one party with another taking part), or the type has a ``handover`` tag and
       that agency is the hand-over's source.
    3. A type citing only section 三 is handled by an agency that is not a party of section 二
       (the property service company).
    4. A type with a ``handover`` tag cites an item that states that hand-over, and its agency
       is a receiver of it, never the source (the matter is handed over, not kept) — except
       for a hand-over that applies only inside property management areas (5.3).
    7. An item whose duty begins with 配合 (the party only assists, e.g. 二（八）9) never makes
       its party the handler: a type citing it has another agency and lists that party among
       its ``participants``.
    5. Scope and agency go together: scope ``utility`` if and only if the agency is ``utility``;
       scope ``property_service`` if and only if the agency is ``property_company``.
    6. ``mediate`` is among the actions if and only if the scope is ``dispute``.

``participants`` on other scopes are allowed (agencies that take part, e.g. the property company
after a lift accident) but excuse nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
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


# --- the specification text ---------------------------------------------------------------------

_DIGITS = {c: n for n, c in enumerate("零一二三四五六七八九")} | {"〇": 0}
_NUMERAL = "零〇一二三四五六七八九十"
_SECTION_RE = re.compile(rf"^([{_NUMERAL}]+)、")
_PART_RE = re.compile(rf"^[（(]([{_NUMERAL}]+)[）)]\s*(.*)$")
_ITEM_RE = re.compile(r"^(\d+)\s*[．.]\s*(.*)$")


def chinese_numeral(text: str) -> int:
    """一 → 1, 十 → 10, 十一 → 11, 二十三 → 23 (up to 99)."""
    tens, sep, ones = text.partition("十")
    if not sep and len(text) == 1 and text in _DIGITS:
        return _DIGITS[text]
    if sep and len(tens) <= 1 and len(ones) <= 1 and {tens, ones} <= set(_DIGITS) | {""}:
        return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)
    raise ValueError(f"not a Chinese numeral below 100: {text!r}")


def _section_lines(text: str, number: int) -> list[str]:
    """The stripped lines of top-level section ``number`` (二、…), up to the next section."""
    lines: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff").strip()
        heading = _SECTION_RE.match(line)
        if heading:
            if lines is not None:
                break
            if chinese_numeral(heading.group(1)) == number:
                lines = []
            continue
        if lines is not None and line:
            lines.append(line)
    if lines is None:
        raise ValueError(f"the text has no section {number} (a line starting with its numeral、)")
    return lines


@dataclass(frozen=True)
class SpecParty:
    """A party heading of section 二 and its numbered items."""

    number: int
    title: str
    """The heading up to the first colon, e.g. 区房地产服务中心."""
    duties: str
    """The heading's paragraph after the first colon, verbatim."""
    items: tuple[str, ...]
    """The numbered items' texts, in order (their written numbers are ignored)."""

    @property
    def refs(self) -> list[str]:
        """``"P.I"`` for every item, by position."""
        return [f"{self.number}.{i}" for i in range(1, len(self.items) + 1)]


def parse_section_two(text: str) -> list[SpecParty]:
    """The parties of section 二 (（一）..（十一） headings) with their numbered items.

    Items are lines starting with a number followed by "．" or "."; they belong to the party
    heading above them and are numbered by position. Raises ``ValueError`` when section 二 is
    missing, a party heading repeats or goes backwards, or an item comes before any heading.
    """
    parties: list[SpecParty] = []
    number: int | None = None
    title = duties = ""
    items: list[str] = []

    def close() -> None:
        if number is not None:
            parties.append(SpecParty(number, title, duties, tuple(items)))

    for line in _section_lines(text, 2):
        heading = _PART_RE.match(line)
        if heading:
            close()
            new = chinese_numeral(heading.group(1))
            if number is not None and new <= number:
                raise ValueError(f"party （{heading.group(1)}） of section 二 is out of order")
            number, items = new, []
            head = heading.group(2)
            colon = re.search(r"[：:]", head)
            title, duties = (head[: colon.start()], head[colon.end() :]) if colon else (head, "")
            continue
        item = _ITEM_RE.match(line)
        if item:
            if number is None:
                raise ValueError(f"numbered item before any party heading in section 二: {line}")
            items.append(item.group(2))
    close()
    return parties


def section_two_items(text: str) -> list[str]:
    """Every numbered item of section 二 as ``"P.I"`` (party P, item I by position), in order."""
    return [ref for party in parse_section_two(text) for ref in party.refs]


def section_three_parts(text: str) -> list[str]:
    """The parts （一）, （二）, … of section 三 as ``"S3.1"``, ``"S3.2"``, …."""
    return [
        f"S3.{chinese_numeral(m.group(1))}"
        for m in map(_PART_RE.match, _section_lines(text, 3))
        if m
    ]


# --- checking -----------------------------------------------------------------------------------


def _blank(value: str | None) -> bool:
    return not (value or "").strip()


def _check_agencies(agencies: Sequence[Agency], spec: Sequence[SpecParty]) -> list[str]:
    problems: list[str] = []
    by_number = {p.number: p for p in spec}
    for code, n in Counter(a.code for a in agencies).items():
        if n > 1:
            problems.append(f"agency {code}: the code is used {n} times")
    for party, n in Counter(a.party for a in agencies if a.party is not None).items():
        if n > 1:
            problems.append(f"party {party}: {n} agencies claim it")
    claimed = {a.party for a in agencies}
    for p in spec:
        if p.number not in claimed:
            problems.append(f"party {p.number} ({p.title}): no agency represents it")
    for a in agencies:
        if _blank(a.name_zh) or _blank(a.name_en):
            problems.append(f"agency {a.code}: needs name_zh and name_en")
        if a.party is not None:
            heading = by_number.get(a.party)
            if heading is None:
                problems.append(f"agency {a.code}: party {a.party} is not in section 二")
            elif a.duties_zh.strip() != heading.duties.strip():
                problems.append(
                    f"agency {a.code}: duties_zh is not the verbatim paragraph of party "
                    f"{a.party} ({heading.duties[:20]}…)"
                )
        if _blank(a.duties_zh) or _blank(a.duties_en):
            problems.append(f"agency {a.code}: needs duties_zh and duties_en")
        if a.code == UTILITY_AGENCY:
            if not a.kinds:
                problems.append(f"agency {a.code}: lists no kinds")
            for kind, n in Counter(k.code for k in a.kinds).items():
                if n > 1:
                    problems.append(f"agency {a.code}: kind {kind} is listed {n} times")
            for k in a.kinds:
                if _blank(k.name_zh) or _blank(k.name_en):
                    problems.append(f"agency {a.code}: kind {k.code} needs name_zh and name_en")
        elif a.kinds:
            problems.append(f"agency {a.code}: only {UTILITY_AGENCY} has kinds")
    return problems


def _check_refs(
    t: ViolationType, spec: Sequence[SpecParty], items: set[str], s3: set[str]
) -> list[str]:
    problems: list[str] = []
    by_number = {p.number: p for p in spec}
    for ref, n in Counter(t.source_ref).items():
        if n > 1:
            problems.append(f"{t.code}: cites {ref} {n} times")
    for ref in dict.fromkeys(t.source_ref):
        if not re.match(REF_PATTERN, ref):
            problems.append(f'{t.code}: source_ref {ref!r} is malformed; use "P.I", "P" or "S3.N"')
            continue
        if ref.startswith("S"):
            if ref not in s3:
                problems.append(f"{t.code}: source_ref {ref} does not exist in section 三")
            continue
        party_text, _, item = ref.partition(".")
        party = by_number.get(int(party_text))
        if party is None:
            problems.append(f"{t.code}: source_ref {ref}: section 二 has no party {party_text}")
        elif not item and party.items:
            problems.append(
                f"{t.code}: source_ref {ref} cites a party that has numbered items; "
                f"cite its items ({party.refs[0]}..{party.refs[-1]})"
            )
        elif item and ref not in items:
            problems.append(
                f"{t.code}: source_ref {ref} does not exist: party {party.number} has "
                f"{len(party.items)} numbered item(s)"
            )
    return problems


def _party_of(ref: str) -> int | None:
    """The party number of a section-二 reference (None for section 三 or a malformed one)."""
    if ref.startswith("S") or not re.match(REF_PATTERN, ref):
        return None
    return int(ref.partition(".")[0])


def _check_agency_rule(t: ViolationType, own: dict[int, str], partyless: set[str]) -> list[str]:
    """Rules 1–4 of the module docstring for one type."""
    problems: list[str] = []
    handover = HANDOVERS.get(t.handover) if t.handover else None
    if t.handover and handover is None:
        problems.append(f"{t.code}: unknown handover {t.handover!r}; known: {sorted(HANDOVERS)}")
    cited = {p for p in map(_party_of, t.source_ref) if p is not None}
    cited_agencies = {own[p] for p in cited if p in own}
    if not cited:
        if t.agency not in partyless:
            problems.append(
                f"{t.code}: cites only section 三, so its agency must be one that is not a "
                f"party of section 二 (e.g. {PROPERTY_COMPANY}), not {t.agency}"
            )
        return problems
    allowed = set(cited_agencies) | set(handover.receivers if handover else ())
    if cited_agencies and t.agency not in allowed:
        problems.append(
            f"{t.code}: agency {t.agency} is not the agency of the parties it cites "
            f"({', '.join(sorted(cited_agencies))})"
        )
    for party in sorted(cited):
        agency = own.get(party)
        if agency is None or agency == t.agency:
            continue
        if t.scope == "dispute" and agency in t.participants:
            continue
        if handover is not None and agency == handover.source:
            continue
        problems.append(
            f"{t.code}: cites party {party} ({agency}) but is handled by {t.agency}; allowed "
            f"only for a dispute listing {agency} in participants or a hand-over from {agency}"
        )
    if handover is not None and not set(handover.refs) & set(t.source_ref):
        problems.append(f"{t.code}: handover {t.handover} must cite {' or '.join(handover.refs)}")
    if handover is not None and not handover.inside_estates_only and t.agency == handover.source:
        problems.append(
            f"{t.code}: handover {t.handover} goes from {handover.source} to "
            f"{', '.join(handover.receivers)}; the agency cannot be {handover.source} itself"
        )
    return problems


#: The verb with which an item gives its party only an assisting part (rule 7).
ASSISTS = "配合"


def _check_assisting(t: ViolationType, spec: Sequence[SpecParty], own: dict[int, str]) -> list[str]:
    """Rule 7: a party that only assists (配合) in an item is a participant, never the lead."""
    problems: list[str] = []
    for p in spec:
        for ref, text in zip(p.refs, p.items, strict=True):
            if ref not in t.source_ref or not text.startswith(ASSISTS):
                continue
            agency = own.get(p.number)
            if agency == t.agency:
                problems.append(
                    f"{t.code}: item {ref} gives {agency} only an assisting part ({ASSISTS}); "
                    "another party must lead"
                )
            elif agency is not None and agency not in t.participants:
                problems.append(f"{t.code}: item {ref} makes {agency} a participant; list it")
    return problems


def _check_type(
    t: ViolationType,
    agencies: dict[str, Agency],
    kinds: set[str],
) -> list[str]:
    """Names, keywords, vocabularies, references to agencies, scope pairings (rules 5–6)."""
    problems: list[str] = []
    if _blank(t.name_zh) or _blank(t.name_en):
        problems.append(f"{t.code}: needs name_zh and name_en")
    keywords = {k.strip() for k in t.keywords if k.strip()}
    if any(_blank(k) for k in t.keywords):
        problems.append(f"{t.code}: has a blank keyword")
    if t.reportable and len(keywords) < MIN_KEYWORDS:
        problems.append(
            f"{t.code}: a reportable type needs at least {MIN_KEYWORDS} keywords, "
            f"has {len(keywords)}"
        )
    if t.scope not in SCOPES:
        problems.append(f"{t.code}: scope {t.scope!r} is not one of {', '.join(SCOPES)}")
    bad_actions = [a for a in t.actions if a not in ACTIONS]
    if bad_actions:
        problems.append(f"{t.code}: actions {bad_actions} not in {', '.join(ACTIONS)}")
    if len(set(t.actions)) != len(t.actions):
        problems.append(f"{t.code}: an action is listed twice")
    if ("mediate" in t.actions) != (t.scope == "dispute"):
        problems.append(f"{t.code}: 'mediate' belongs to, and is required by, scope dispute")
    if t.agency not in agencies:
        problems.append(f"{t.code}: unknown agency {t.agency!r}")
    for p in t.participants:
        if p not in agencies:
            problems.append(f"{t.code}: unknown participant agency {p!r}")
        elif p == t.agency:
            problems.append(f"{t.code}: its own agency {p} is listed as a participant")
    if len(set(t.participants)) != len(t.participants):
        problems.append(f"{t.code}: a participant is listed twice")
    if (t.scope == "utility") != (t.agency == UTILITY_AGENCY):
        problems.append(
            f"{t.code}: scope utility goes with agency {UTILITY_AGENCY} (both or neither)"
        )
    if (t.scope == "property_service") != (t.agency == PROPERTY_COMPANY):
        problems.append(
            f"{t.code}: scope property_service goes with agency {PROPERTY_COMPANY} "
            "(both or neither)"
        )
    if t.scope == "utility" and t.utility_kind not in kinds:
        problems.append(
            f"{t.code}: a utility type needs a utility_kind of {UTILITY_AGENCY} "
            f"({', '.join(sorted(kinds))}), has {t.utility_kind!r}"
        )
    if t.scope != "utility" and t.utility_kind is not None:
        problems.append(f"{t.code}: utility_kind is only for scope utility")
    return problems


def check_taxonomy(
    types: Sequence[ViolationType], agencies: Sequence[Agency], spec_text: str
) -> list[str]:
    """Every problem of the taxonomy against the text, one human line each ([] when sound).

    Finds: numbered items of section 二 no type cites; references that are not in the text;
    unknown agency, participant and utility-kind codes; duplicate codes; reportable types with
    fewer than three keywords; blank names; actions or scopes outside the vocabularies; breaches
    of the agency rule (module docstring); agencies not matching the text's parties (one per
    heading, duties_zh verbatim). Vocabularies are re-checked here even though the models
    enforce them, so that objects built without validation are audited too.
    """
    try:
        spec = parse_section_two(spec_text)
        s3 = set(section_three_parts(spec_text))
    except ValueError as exc:
        return [f"specification: {exc}"]
    items = {ref for p in spec for ref in p.refs}
    by_code = {a.code: a for a in agencies}
    own = {a.party: a.code for a in agencies if a.party is not None}
    partyless = {a.code for a in agencies if a.party is None}
    utility = by_code.get(UTILITY_AGENCY)
    kinds = {k.code for k in utility.kinds} if utility else set()

    problems = _check_agencies(agencies, spec)
    for code, n in Counter(t.code for t in types).items():
        if n > 1:
            problems.append(f"{code}: the code is used by {n} types")
    for t in types:
        problems += _check_type(t, by_code, kinds)
        problems += _check_refs(t, spec, items, s3)
        problems += _check_agency_rule(t, own, partyless)
        problems += _check_assisting(t, spec, own)
    cited = {ref for t in types for ref in t.source_ref}
    for p in spec:
        for ref, text in zip(p.refs, p.items, strict=True):
            if ref not in cited:
                problems.append(
                    f"item {ref} of section 二 ({p.title}) is cited by no type: {text[:30]}…"
                )
    return problems


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
