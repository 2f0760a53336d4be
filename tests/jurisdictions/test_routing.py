"""Routing from the data: every reportable type at an estate with a company, one without, and
on a road; the hand-over rules; the directory. Handlers are checked against the hand-written
answer key (answer_key.py), never against the YAML under test."""

from __future__ import annotations

import pytest
from answer_key import entries_for
from sqlalchemy import Connection

from incidents.placement import preview as route_point
from jurisdictions import catalog, published_contacts
from jurisdictions.directory import directory_for_point, directory_for_property_area
from jurisdictions.handler_rules import load_rules, route
from jurisdictions.service import resolve_one
from jurisdictions.taxonomy import load_agencies, load_violation_types

WITH_COMPANY = (120.002, 30.002)  # P111: company, owners' committee, precinct PS1
WITHOUT_COMPANY = (120.002, 30.012)  # P112: no company, no owners' committee
ROAD = (120.002, 30.007)  # between estates, community C11
AGENCIES = {a.code: a for a in load_agencies()}
REPORTABLE = [t for t in load_violation_types() if t.reportable]


@pytest.fixture
def linked(conn: Connection, mini: dict) -> Connection:
    catalog.sync_taxonomy(conn)
    return conn


#: Acting unit of each handler at the test places (tests/support.py), where it has one.
UNITS = {
    "public_security": "PS1",
    "town_government": "T1",
    "community_committee": "C11",
    "property_company": "P111",
}


@pytest.mark.parametrize("place", ["with", "without", "road"])
def test_every_reportable_type(linked: Connection, place: str) -> None:
    lon, lat = {"with": WITH_COMPANY, "without": WITHOUT_COMPANY, "road": ROAD}[place]
    res = resolve_one(linked, lon=lon, lat=lat)
    agencies = catalog.agencies_by_code(linked)
    assert len(REPORTABLE) >= 40
    for vtype in REPORTABLE:
        out = route(
            resolution=res, vtype=catalog.get_type(linked, code=vtype.code), agencies=agencies
        )
        ((_ref, entry), *_) = entries_for(vtype.code, vtype.source_ref)
        party = entry.handler_at(place)
        assert out.handler.party == party, vtype.code
        if vtype.scope == "utility":
            assert out.handler.unit and out.handler.unit["code"] == vtype.utility_kind
        elif party in UNITS:
            assert out.handler.unit and out.handler.unit["code"] == UNITS[party], vtype.code
        assert out.territory["town"] == {"code": "T1", "name": "甲街道"}, vtype.code
        assert out.territory["community"]["code"] == "C11", vtype.code
        assert out.reasons and all(r.zh and r.en and "{" not in r.zh + r.en for r in out.reasons), (
            vtype.code
        )
        assert (
            any(p.party == "town_government" for p in out.participants)
            or out.handler.party == "town_government"
        ), vtype.code
        if vtype.scope == "dispute":
            roles = {(p.party, r) for p in out.participants for r in p.roles}
            assert (
                "community_committee",
                "mediation",
            ) in roles or out.handler.party == "community_committee", vtype.code
        stand_in = any(
            "acting_owners_committee" in p.roles for p in [*out.participants, out.handler]
        )
        assert stand_in == (
            place == "without" and vtype.scope in ("property_service", "dispute")
        ), vtype.code


def test_planning_handover_inside_estates_only(linked: Connection) -> None:
    types = [t for t in load_violation_types() if t.handover == "planning_to_urban_management"]
    assert types, "5.3 must be carried by a type with the hand-over tag"
    for t in types:
        inside = route_point(
            linked, lon=WITH_COMPANY[0], lat=WITH_COMPANY[1], crs="wgs84", type_code=t.code
        )
        assert inside.handler.party == "urban_management"
        assert (
            inside.reasons[0].rule == "planning_handover" and "5.3" in inside.reasons[0].source_ref
        )
        outside = route_point(linked, lon=ROAD[0], lat=ROAD[1], crs="wgs84", type_code=t.code)
        assert outside.handler.party == t.agency


def test_approving_department_handover(linked: Connection) -> None:
    """8.6–8.7: handed to the department the text names; never back to market regulation."""
    types = [t for t in load_violation_types() if t.handover == "approving_department"]
    assert types, "8.6–8.7 must be carried by types with the hand-over tag"
    for t in types:
        out = route_point(linked, lon=ROAD[0], lat=ROAD[1], crs="wgs84", type_code=t.code)
        assert out.handler.party != "market_regulation", t.code
        assert out.reasons[0].rule == "approving_department", t.code
        ((_ref, entry), *_) = entries_for(t.code, t.source_ref)
        assert out.handler.party == entry.handler_at("road"), t.code
        assert all(p.party != "market_regulation" for p in out.participants), t.code
    inside = route_point(
        linked,
        lon=WITH_COMPANY[0],
        lat=WITH_COMPANY[1],
        crs="wgs84",
        type_code="business_in_illegal_building",
    )
    assert inside.handler.party == "urban_management"
    assert inside.reasons[0].rule == "approving_planning_in_estate"
    assert {"8.6", "5.3"} <= set(inside.reasons[0].source_ref)


def test_simple_property_management_and_owners_committee(linked: Connection) -> None:
    ptype = next(t for t in REPORTABLE if t.scope == "property_service")
    out = route_point(
        linked, lon=WITHOUT_COMPANY[0], lat=WITHOUT_COMPANY[1], crs="wgs84", type_code=ptype.code
    )
    assert out.handler.party == "town_government" and out.handler.unit["code"] == "T1"
    rules = [r.rule for r in out.reasons]
    assert rules[0] == "simple_property_management" and "owners_committee_stand_in" in rules
    assert "老街小区" in out.reasons[0].zh


def test_police_case_goes_to_the_precinct(linked: Connection) -> None:
    ptype = next(t for t in REPORTABLE if t.agency == "public_security")
    east = route_point(linked, lon=120.03, lat=30.015, crs="wgs84", type_code=ptype.code)
    assert east.handler.unit == {"code": "PS2", "name": "东派出所"}
    assert any(r.rule == "field_unit" for r in east.reasons)


def test_unknown_type(linked: Connection) -> None:
    with pytest.raises(catalog.UnknownViolationType):
        route_point(linked, lon=120.002, lat=30.002, crs="wgs84", type_code="no_such_type")


def test_rules_name_known_handlers() -> None:
    book = load_rules()
    special = {"type_agency", "property_company", "town_government", "community_committee"}
    for rule in book.handler_rules:
        assert rule.handler in AGENCIES or rule.handler in special, rule.id
    for rule in book.participant_rules:
        assert all(p.party in AGENCIES for p in rule.add), rule.id


def test_directory_lists_every_party_with_contacts(linked: Connection) -> None:
    published_contacts.set_contact(linked, agency="public_security", person="值班民警", phone="110")
    published_contacts.set_contact(
        linked,
        agency="public_security",
        scope_layer="agency_unit",
        scope_code="PS1",
        person="张警官",
        phone="0571-80000001",
    )
    published_contacts.set_contact(
        linked,
        agency="property_company",
        scope_layer="property_area",
        scope_code="P111",
        person="李经理",
        phone="0571-80000002",
    )
    out = directory_for_point(linked, lon=WITH_COMPANY[0], lat=WITH_COMPANY[1])
    parties = {p["agency"]: p for p in out["parties"]}
    assert {p["party"] for p in out["parties"] if p["party"]} == set(range(1, 12))
    assert "property_company" in parties
    police = parties["public_security"]
    assert police["contact"]["person"] == "张警官"  # the unit's contact beats the district's
    assert police["acting_unit"] == {"code": "PS1", "name": "西派出所"}
    assert police["handles"] and police["duties_zh"]
    assert parties["property_company"]["contact"]["phone"] == "0571-80000002"
    assert parties["town_government"]["acting_unit"]["code"] == "T1"
    elsewhere = directory_for_point(linked, lon=120.03, lat=30.015)
    police2 = {p["agency"]: p for p in elsewhere["parties"]}["public_security"]
    assert police2["contact"]["person"] == "值班民警"  # falls back to the district-wide one
    by_code = directory_for_property_area(linked, code="P111")
    assert by_code["place"]["property_area"]["code"] == "P111"


def test_invalid_contact(linked: Connection) -> None:
    with pytest.raises(published_contacts.InvalidContact):
        published_contacts.set_contact(
            linked, agency="public_security", scope_layer="town", person="某人", phone="1"
        )
    with pytest.raises(catalog.UnknownAgency):
        published_contacts.set_contact(linked, agency="fire_brigade", person="某人", phone="1")
