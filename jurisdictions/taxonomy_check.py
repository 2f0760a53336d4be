"""The taxonomy checked against the text (``shudi taxonomy check``): coverage of section 二's
items, references, codes, vocabularies and the agency rule. Pure Python.

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
from collections import Counter
from collections.abc import Sequence

from jurisdictions.spec_text import SpecParty, parse_section_two, section_three_parts
from jurisdictions.taxonomy import (
    ACTIONS,
    HANDOVERS,
    MIN_KEYWORDS,
    PROPERTY_COMPANY,
    REF_PATTERN,
    SCOPES,
    UTILITY_AGENCY,
    Agency,
    ViolationType,
)


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
