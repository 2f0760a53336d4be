"""Routing against the hand-written answer key (tests/jurisdictions/answer_key.py): for every
reportable matter, at an estate with a company, one without, and on a road, the handler, the
participants and the escalation are those the text names."""

from __future__ import annotations

from pathlib import Path

import pytest
from answer_key import COMPANY, KEY, TOWN, Entry, entries_for
from sqlalchemy import Connection

from jurisdictions import catalog
from jurisdictions.handler_rules import route
from jurisdictions.service import resolve_one
from jurisdictions.taxonomy import load_agencies, load_violation_types

SPEC = Path("/work/shared/seed/linkage-mechanism.txt")
PLACES = {"with": (120.002, 30.002), "without": (120.002, 30.012), "road": (120.002, 30.007)}
REPORTABLE = [t for t in load_violation_types() if t.reportable]
ENFORCING = {a.code for a in load_agencies() if a.party is not None and not a.territorial}


def _spec_text() -> str:
    path = SPEC if SPEC.exists() else Path("jurisdictions/data/linkage-mechanism.txt")
    return "".join(path.read_text(encoding="utf-8").split())


def _entries() -> list[tuple[str, Entry]]:
    out: list[tuple[str, Entry]] = []
    for ref, entry in KEY.items():
        out += [(ref, e) for e in entry.values()] if isinstance(entry, dict) else [(ref, entry)]
    return out


def test_the_key_quotes_the_text() -> None:
    text = _spec_text()
    for ref, entry in _entries():
        assert "".join(entry.quote.split()) in text, (ref, entry.quote)


def test_every_duty_in_the_key_is_reportable() -> None:
    """A duty the text describes as a reportable matter can be reported (e.g. 10.5)."""
    for ref, entry in KEY.items():
        codes = set(entry) if isinstance(entry, dict) else None
        citing = [
            t.code for t in REPORTABLE if ref in t.source_ref and (codes is None or t.code in codes)
        ]
        assert citing, f"{ref}: no reportable type carries this duty"
        if codes is not None:
            assert codes <= {t.code for t in REPORTABLE}, ref


@pytest.fixture
def linked(conn: Connection, mini: dict) -> Connection:
    catalog.sync_taxonomy(conn)
    return conn


@pytest.mark.parametrize("place", sorted(PLACES))
def test_routing_matches_the_key(linked: Connection, place: str) -> None:
    lon, lat = PLACES[place]
    res = resolve_one(linked, lon=lon, lat=lat)
    agencies = catalog.agencies_by_code(linked)
    for vtype in REPORTABLE:
        entries = entries_for(vtype.code, vtype.source_ref)
        assert entries, f"{vtype.code} ({vtype.source_ref}) is not in the answer key"
        out = route(
            resolution=res, vtype=catalog.get_type(linked, code=vtype.code), agencies=agencies
        )
        parties = {p.party for p in out.participants}
        named: set[str] = set()
        for ref, entry in entries:
            where = f"{vtype.code} {ref} at {place}"
            assert out.handler.party == entry.handler_at(place), where
            assert out.handler.party not in entry.never, where
            want = set(entry.participants)
            if place != "with":
                want.discard(COMPANY)  # no company here: none is named (no nameless company)
            assert want <= parties | {out.handler.party}, where
            assert (out.escalation.party if out.escalation else None) == entry.escalation, where
            named |= want
        extra = (parties & ENFORCING) - named
        assert not extra, f"{vtype.code} at {place}: participants the text does not name {extra}"
        if place != "with":
            assert COMPANY not in parties, vtype.code
        assert out.handler.party == TOWN or TOWN in parties, vtype.code


def test_lift_accident_without_a_company_names_none(linked: Connection) -> None:
    res = resolve_one(linked, lon=PLACES["without"][0], lat=PLACES["without"][1])
    lift = catalog.get_type(linked, code="lift_entrapment")
    out = route(resolution=res, vtype=lift, agencies=catalog.agencies_by_code(linked))
    assert all(p.party != COMPANY and p.name for p in out.participants)
    assert any(r.rule == "no_property_company" and "9.2" in r.source_ref for r in out.reasons)
    with_company = resolve_one(linked, lon=PLACES["with"][0], lat=PLACES["with"][1])
    out = route(resolution=with_company, vtype=lift, agencies=catalog.agencies_by_code(linked))
    company = next(p for p in out.participants if p.party == COMPANY)
    assert company.unit and company.unit["name"]  # the estate's own company, by name


def test_several_agencies_propose_joint_enforcement(linked: Connection) -> None:
    """A type naming a second enforcing agency: the town is proposed as joint coordinator."""
    res = resolve_one(linked, lon=PLACES["with"][0], lat=PLACES["with"][1])
    vtype = catalog.get_type(linked, code="illegal_construction")
    vtype.participants = ["public_security"]  # e.g. a corrected type; not the YAML
    out = route(resolution=res, vtype=vtype, agencies=catalog.agencies_by_code(linked))
    assert out.joint
    town = next(p for p in out.participants if p.party == TOWN)
    assert "joint_enforcement" in town.roles and town.unit == {"code": "T1", "name": "甲街道"}
    assert any(r.rule == "joint_enforcement_proposed" for r in out.reasons)
    single = route(
        resolution=res,
        vtype=catalog.get_type(linked, code="illegal_construction"),
        agencies=catalog.agencies_by_code(linked),
    )
    assert not single.joint
    assert all("joint_enforcement" not in p.roles for p in single.participants)
