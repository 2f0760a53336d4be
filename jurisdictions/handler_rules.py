"""Who handles a report here: the routing rules of the linkage mechanism, applied as data.

``route(resolution=..., vtype=..., agencies=...)`` evaluates :file:`data/routing_rules.yaml`:
the first matching handler rule names the handler, every matching participant rule adds
participants, and each rule that fired is listed in words, so a dispatcher can see why. The
territorial owner (属地: the town/street and community of the point) is always recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from jurisdictions.index import Area
from jurisdictions.service import Resolution

RULES_PATH = Path(__file__).with_name("data") / "routing_rules.yaml"

#: Handlers that are not agency codes but are looked up from the place or the type.
SPECIAL_HANDLERS = ("type_agency", "property_company", "town_government", "community_committee")
FACTS = (
    "scope",
    "type",
    "handover",
    "agency",
    "in_property_area",
    "has_property_company",
    "has_owners_committee",
)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class Participant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    party: str
    role: str


class Rule(BaseModel):
    """One routing rule; ``when`` maps a fact to the value (or values) it must have."""

    model_config = ConfigDict(extra="forbid")
    id: str
    when: dict[str, Any] = Field(default_factory=dict)
    handler: str | None = None
    escalate_to: str | None = None
    add: list[Participant] = Field(default_factory=list)
    source_ref: list[str]
    reason_zh: str
    reason_en: str

    _normalise_ref = field_validator("source_ref", mode="before")(_as_list)

    @field_validator("when")
    @classmethod
    def _known_facts(cls, when: dict[str, Any]) -> dict[str, Any]:
        unknown = set(when) - set(FACTS)
        if unknown:
            raise ValueError(f"unknown facts {sorted(unknown)}; known: {', '.join(FACTS)}")
        return when

    def matches(self, facts: Mapping[str, Any]) -> bool:
        """Every condition holds for these facts."""
        return all(
            facts.get(k) in (v if isinstance(v, list) else [v]) for k, v in self.when.items()
        )


class RuleBook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    handler_rules: list[Rule]
    participant_rules: list[Rule]


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_PATH) -> RuleBook:
    """The rule book from its YAML file (validated; the last handler rule must match all)."""
    book = RuleBook.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    if not book.handler_rules or book.handler_rules[-1].when:
        raise ValueError(f"{path}: the last handler rule must have an empty `when` (a default)")
    return book


class Party(BaseModel):
    """A handler or participant of a case, with the unit or place that acts for it."""

    party: str = Field(description="Agency code, e.g. public_security or property_company.")
    name: str
    role: str = Field(description="The first role; `roles` lists all of them.")
    roles: list[str] = Field(default_factory=list)
    unit: dict[str, str] | None = Field(
        default=None, description="Field unit, town, community or company that acts."
    )


class Reason(BaseModel):
    rule: str
    source_ref: list[str]
    zh: str
    en: str


class Routing(BaseModel):
    """The stored routing outcome of a report."""

    type: str
    scope: str
    handler: Party
    participants: list[Party]
    territory: dict[str, dict[str, str] | None]
    property_area: dict[str, Any] | None
    joint: bool = Field(
        description="More than one enforcing agency takes part: joint enforcement coordinated "
        "by the town is proposed (三（二）); the town holds the role `joint_enforcement`."
    )
    escalation: Party | None = Field(
        default=None,
        description="Who takes the case when the handler cannot settle it within its time "
        "limit (e.g. the town's mediation after the community committee, 二（九）3).",
    )
    reasons: list[Reason]
    generation: dict[str, int]


def _facts(res: Resolution, vtype: Any) -> dict[str, Any]:
    pa = res.property_area
    return {
        "scope": vtype.scope,
        "type": vtype.code,
        "handover": getattr(vtype, "handover", None),
        "agency": vtype.agency,
        "in_property_area": pa is not None,
        "has_property_company": bool(pa and pa.property_company),
        "has_owners_committee": bool(pa and pa.owners_committee),
    }


def _place(area: Area | None) -> dict[str, str] | None:
    return {"code": area.code, "name": area.name} if area else None


class _Context:
    """What reasons and parties are filled in with."""

    def __init__(self, res: Resolution, vtype: Any, agencies: Mapping[str, Any]) -> None:
        self.res, self.vtype, self.agencies = res, vtype, agencies

    def party(self, code: str, role: str) -> Party:
        code = self.vtype.agency if code == "type_agency" else code
        agency = self.agencies.get(code)
        name = agency.name_zh if agency else code
        res = self.res
        unit: dict[str, str] | None = None
        if code == "property_company" and res.property_area:
            unit = {
                "code": res.property_area.code,
                "name": res.property_area.property_company or "",
            }
        elif code == "town_government":
            unit = _place(res.town)
        elif code == "community_committee":
            unit = _place(res.community)
        elif code == "utility" and getattr(self.vtype, "utility_kind", None):
            unit = {"code": self.vtype.utility_kind, "name": self._utility_name()}
        elif code in res.agency_units:
            unit = _place(res.agency_units[code])
        return Party(party=code, name=name, role=role, roles=[role], unit=unit)

    def _utility_name(self) -> str:
        agency = self.agencies.get("utility")
        for kind in getattr(agency, "kinds", None) or []:
            if kind.code == self.vtype.utility_kind:
                return str(kind.name_zh)
        return str(self.vtype.utility_kind)

    def words(self, handler: Party | None) -> dict[str, str]:
        res = self.res
        return {
            "type": self.vtype.name_zh,
            "agency": handler.name if handler else "",
            "unit": (handler.unit or {}).get("name", "") if handler else "",
            "company": res.property_area.property_company or "" if res.property_area else "",
            "town": res.town.name if res.town else "",
            "community": res.community.name if res.community else "",
            "property_area": res.property_area.name if res.property_area else "",
        }

    def reason(self, rule: Rule, handler: Party | None) -> Reason:
        words = self.words(handler)
        return Reason(
            rule=rule.id,
            source_ref=rule.source_ref,
            zh=rule.reason_zh.format(**words),
            en=rule.reason_en.format(**words),
        )


def route(
    *,
    resolution: Resolution,
    vtype: Any,
    agencies: Mapping[str, Any],
    rules: RuleBook | None = None,
) -> Routing:
    """Apply the rule book to a resolved point and a violation type."""
    book = rules or load_rules()
    facts = _facts(resolution, vtype)
    ctx = _Context(resolution, vtype, agencies)
    rule = next(r for r in book.handler_rules if r.matches(facts))
    assert rule.handler is not None
    handler = ctx.party(rule.handler, "handler")
    reasons = [ctx.reason(rule, handler)]
    if handler.unit and handler.party in resolution.agency_units:
        reasons.append(
            Reason(
                rule="field_unit",
                source_ref=[],
                zh=f"由覆盖该位置的{handler.unit['name']}承办",
                en=f"The field unit covering the place, {handler.unit['name']}, takes it",
            )
        )
    wanted: list[Participant] = []
    for prule in book.participant_rules:
        if prule.matches(facts):
            reasons.append(ctx.reason(prule, handler))
            wanted.extend(prule.add)
    wanted += [
        Participant(party=p, role="participant") for p in getattr(vtype, "participants", None) or []
    ]
    participants: list[Party] = []
    for p in wanted:  # one entry per party, with every role it has here
        if p.party == handler.party:
            if p.role not in handler.roles:
                handler.roles.append(p.role)  # e.g. the committee also acting for owners
            continue
        if p.party == "property_company" and not facts["has_property_company"]:
            reasons.append(_no_company_reason(ctx, handler))  # no nameless company
            continue
        known = next((q for q in participants if q.party == p.party), None)
        if known is None:
            participants.append(ctx.party(p.party, p.role))
        elif p.role not in known.roles:
            known.roles.append(p.role)
    enforcing = {handler.party} | {p.party for p in participants}
    enforcing = {
        code
        for code in enforcing
        if getattr(agencies.get(code), "party", None)
        and not getattr(agencies.get(code), "territorial", False)
    }
    joint = len(enforcing) > 1
    if joint:
        _propose_joint_enforcement(ctx, handler, participants, reasons, sorted(enforcing))
    return Routing(
        type=vtype.code,
        scope=vtype.scope,
        handler=handler,
        participants=participants,
        territory={"town": _place(resolution.town), "community": _place(resolution.community)},
        property_area=resolution.property_area.brief() if resolution.property_area else None,
        joint=joint,
        escalation=ctx.party(rule.escalate_to, "escalation") if rule.escalate_to else None,
        reasons=reasons,
        generation=resolution.generations,
    )


def _no_company_reason(ctx: _Context, handler: Party) -> Reason:
    words = ctx.words(handler)
    return Reason(
        rule="no_property_company",
        source_ref=["9.2"],
        zh=f"{words['property_area'] or '该位置'}无物业服务企业，不列物业服务企业；"
        f"由{words['town']}组织实施简易物业管理（二（九）2）",
        en=f"{words['property_area'] or 'The place'} has no property company, so none is named; "
        f"{words['town']} runs simple property management there (II.9.2)",
    )


def _propose_joint_enforcement(
    ctx: _Context,
    handler: Party,
    participants: list[Party],
    reasons: list[Reason],
    codes: list[str],
) -> None:
    """Several enforcing agencies: the town coordinates joint enforcement (三（二）)."""
    town = next((p for p in participants if p.party == "town_government"), None)
    if town is None and handler.party != "town_government":
        town = ctx.party("town_government", "joint_enforcement")
        participants.append(town)
    if town is not None and "joint_enforcement" not in town.roles:
        town.roles.append("joint_enforcement")
    names = "、".join(getattr(ctx.agencies.get(c), "name_zh", c) for c in codes)
    words = ctx.words(handler)
    reasons.append(
        Reason(
            rule="joint_enforcement_proposed",
            source_ref=["S3.2"],
            zh=f"涉及{names}多个执法部门，建议由{words['town']}协调联合执法（三（二））",
            en=f"Several enforcing agencies ({', '.join(codes)}) are involved: joint enforcement "
            f"coordinated by {words['town']} is proposed (III.2)",
        )
    )


def handler_kinds(rules: RuleBook | None = None) -> Sequence[str]:
    """Every handler the rule book can name (for checks against the agency list)."""
    book = rules or load_rules()
    named = {r.handler for r in book.handler_rules if r.handler}
    return sorted(named | {r.escalate_to for r in book.handler_rules if r.escalate_to})
