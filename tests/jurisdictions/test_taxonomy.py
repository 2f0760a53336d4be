"""The linkage taxonomy against its text: the parser, coverage, the checks, search (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from jurisdictions import spec_text, taxonomy_check
from jurisdictions import taxonomy as tx
from jurisdictions.taxonomy import Agency, ViolationType

REPO = Path(__file__).resolve().parents[2]
SHARED_SPEC = REPO.parent / "shared" / "seed" / "linkage-mechanism.txt"

#: Numbered items per party of section 二, counted by hand from the text. Party （九） writes
#: 1, 2, 3, 3, 4 — five items; party （十一） has none.
EXPECTED_ITEMS = {1: 7, 2: 6, 3: 8, 4: 8, 5: 3, 6: 3, 7: 7, 8: 9, 9: 5, 10: 5, 11: 0}

EXPECTED_AGENCIES = {
    "housing_service_center": 1,
    "housing_construction": 2,
    "urban_management": 3,
    "public_security": 4,
    "planning": 5,
    "environmental_protection": 6,
    "price_bureau": 7,
    "market_regulation": 8,
    "town_government": 9,
    "community_committee": 10,
    "utility": 11,
    "property_company": None,
}


@pytest.fixture(scope="module")
def spec() -> str:
    return tx.load_spec_text()


@pytest.fixture(scope="module")
def types() -> list[ViolationType]:
    return tx.load_violation_types()


@pytest.fixture(scope="module")
def agencies() -> list[Agency]:
    return tx.load_agencies()


# --- the text -----------------------------------------------------------------------------------


def test_spec_copy_is_byte_identical_to_the_shared_seed() -> None:
    if not SHARED_SPEC.exists():
        pytest.skip(f"{SHARED_SPEC} is not present (only in development and CI)")
    assert tx.SPEC_PATH.read_bytes() == SHARED_SPEC.read_bytes(), (
        f"{tx.SPEC_PATH} differs from {SHARED_SPEC}; copy it again"
    )


def test_spec_is_read_from_inside_the_repository() -> None:
    assert tx.SPEC_PATH.is_file()
    assert tx.SPEC_PATH.resolve().is_relative_to(REPO / "jurisdictions")


def test_parser_finds_the_items_of_every_party(spec: str) -> None:
    parties = spec_text.parse_section_two(spec)
    assert {p.number: len(p.items) for p in parties} == EXPECTED_ITEMS
    assert [p.title for p in parties][:2] == ["区房地产服务中心", "区住建局"]
    refs = spec_text.section_two_items(spec)
    assert len(refs) == sum(EXPECTED_ITEMS.values()) == 61
    assert len(set(refs)) == len(refs)
    assert refs[:3] == ["1.1", "1.2", "1.3"] and refs[-1] == "10.5"


def test_party_nine_is_numbered_by_position(spec: str) -> None:
    nine = next(p for p in spec_text.parse_section_two(spec) if p.number == 9)
    assert nine.refs == ["9.1", "9.2", "9.3", "9.4", "9.5"]
    assert nine.items[2].startswith("负责召集物业联席会议")  # written "3．"
    assert nine.items[3].startswith("加强对住宅小区内各类违法违规行为的源头管理")  # also "3．"
    assert nine.items[4].startswith("承担辖区内旧住宅区改造主体责任")  # written "4．"


def test_parser_stops_at_section_three(spec: str) -> None:
    parties = spec_text.parse_section_two(spec)
    assert parties[-1].number == 11 and parties[-1].title == "专业经营单位"
    assert spec_text.section_three_parts(spec) == ["S3.1", "S3.2", "S3.3"]


def test_parser_on_small_texts() -> None:
    text = (
        "一、目标\n1．不是第二部分的条目\n二、职责\n（一）甲局：管甲。\n1.第一条\n2．第二条\n"
        "（十一）乙：管乙。\n（十二）丙局：管丙。\n1．丙的第一条\n三、机制\n（一）会议。\n4．不算\n"
    )
    assert spec_text.section_two_items(text) == ["1.1", "1.2", "12.1"]
    first = spec_text.parse_section_two(text)[0]
    assert (first.title, first.duties, first.items) == ("甲局", "管甲。", ("第一条", "第二条"))
    assert spec_text.section_three_parts(text) == ["S3.1"]
    with pytest.raises(ValueError, match="before any party heading"):
        spec_text.parse_section_two("二、职责\n1．无主条目\n")
    with pytest.raises(ValueError, match="out of order"):
        spec_text.parse_section_two("二、职责\n（二）乙：x\n（一）甲：y\n")
    with pytest.raises(ValueError, match="no section 2"):
        spec_text.parse_section_two("一、目标\n")


@pytest.mark.parametrize(
    ("numeral", "value"), [("一", 1), ("九", 9), ("十", 10), ("十一", 11), ("二十三", 23)]
)
def test_chinese_numerals(numeral: str, value: int) -> None:
    assert spec_text.chinese_numeral(numeral) == value


# --- the shipped data ---------------------------------------------------------------------------


def test_every_item_of_section_two_is_cited(spec: str, types: list[ViolationType]) -> None:
    cited = {ref for t in types for ref in t.source_ref}
    missing = [ref for ref in spec_text.section_two_items(spec) if ref not in cited]
    assert not missing, f"items of section 二 cited by no type in violation_types.yaml: {missing}"


def test_shipped_taxonomy_has_no_problems(
    spec: str, types: list[ViolationType], agencies: list[Agency]
) -> None:
    problems = taxonomy_check.check_taxonomy(types, agencies, spec)
    assert problems == [], "\n".join(problems)


def test_agencies_have_their_codes_and_parties(agencies: list[Agency]) -> None:
    assert {a.code: a.party for a in agencies} == EXPECTED_AGENCIES
    assert {a.code for a in agencies if a.territorial} == {"town_government", "community_committee"}
    assert {a.code for a in agencies if a.has_field_units} == {
        "public_security",
        "urban_management",
    }


def test_every_agency_has_names_in_both_languages(agencies: list[Agency]) -> None:
    for a in agencies:
        assert a.name_zh.strip() and a.name_en.strip(), a.code
        assert a.duties_zh.strip() and a.duties_en.strip(), a.code


def test_utility_kinds(agencies: list[Agency], types: list[ViolationType]) -> None:
    utility = next(a for a in agencies if a.code == "utility")
    kinds = {k.code for k in utility.kinds}
    assert kinds == {"water", "power", "gas", "heat", "telecom", "cable_tv", "broadband"}
    outages = {t.utility_kind for t in types if t.code.endswith("_outage")}
    assert outages == kinds, "one outage type per utility kind"


def test_every_reportable_type_has_a_known_agency(
    types: list[ViolationType], agencies: list[Agency]
) -> None:
    codes = {a.code for a in agencies}
    unknown = [(t.code, t.agency) for t in types if t.reportable and t.agency not in codes]
    assert not unknown


def test_required_types_are_present(types: list[ViolationType]) -> None:
    by_code = {t.code: t for t in types}
    assert by_code["lift_out_of_service"].scope == "property_service"
    assert by_code["lift_safety_hazard"].agency == "market_regulation"
    assert by_code["lift_entrapment"].agency == "market_regulation"
    assert by_code["dispute_housing_service"].participants == [
        "community_committee",
        "town_government",
    ]
    assert by_code["planning_violation_handover"].handover == "planning_to_urban_management"
    handed = [t for t in types if t.handover == "approving_department"]
    assert handed and all(t.agency != "market_regulation" for t in handed)
    assert not by_code["planning_approval"].reportable
    assert by_code["gas_leak_smell"].utility_kind == "gas"


# --- models and loading -------------------------------------------------------------------------

BASE = {
    "code": "sample",
    "name_zh": "样例",
    "name_en": "Sample",
    "agency": "public_security",
    "scope": "enforcement",
    "actions": ["investigate"],
    "reportable": True,
    "source_ref": "4.4",
    "keywords": ["一", "二", "三"],
}


def vt(**changes: object) -> ViolationType:
    return ViolationType.model_validate(BASE | changes)


def test_source_ref_is_normalised_to_a_list_of_strings() -> None:
    assert vt(source_ref="4.4").source_ref == ["4.4"]
    assert vt(source_ref=["4.4", "S3.2"]).source_ref == ["4.4", "S3.2"]
    assert vt(source_ref=11).source_ref == ["11"]
    with pytest.raises(ValidationError, match="quote it"):
        vt(source_ref=1.2)
    with pytest.raises(ValidationError, match="malformed"):
        vt(source_ref="4-4")
    with pytest.raises(ValidationError):
        vt(source_ref=[])


def test_models_forbid_unknown_fields_and_values() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        vt(colour="red")
    with pytest.raises(ValidationError):
        vt(actions=["fine"])
    with pytest.raises(ValidationError):
        vt(scope="misc")
    with pytest.raises(ValidationError):
        vt(code="Bad Code")
    with pytest.raises(ValidationError, match="Extra inputs"):
        Agency.model_validate(
            {"code": "x", "party": None, "name_zh": "x", "name_en": "x", "duties_zh": "x"}
            | {"duties_en": "x", "phone": "110"}
        )


def test_loaders_use_the_files_beside_the_module_and_cache(types: list[ViolationType]) -> None:
    assert tx.load_violation_types() == types
    assert tx.load_violation_types(tx.VIOLATION_TYPES_PATH) == types
    assert tx.VIOLATION_TYPES_PATH.parent == Path(tx.__file__).parent / "data"
    before = tx._violation_types.cache_info().hits
    tx.load_violation_types()
    assert tx._violation_types.cache_info().hits == before + 1


def test_loader_names_the_bad_entry(tmp_path: Path) -> None:
    path = tmp_path / "types.yaml"
    path.write_text("- code: good\n  nonsense: 1\n", encoding="utf-8")
    with pytest.raises(tx.TaxonomyFileError, match=r"entry 1 \(good\)"):
        tx.load_violation_types(path)
    path.write_text("code: not_a_list\n", encoding="utf-8")
    with pytest.raises(tx.TaxonomyFileError, match="list of entries"):
        tx.load_violation_types(path)
    tx.clear_caches()


# --- check_taxonomy on bad inputs ---------------------------------------------------------------


def problems_with(
    extra: ViolationType, types: list[ViolationType], agencies: list[Agency], spec: str
) -> list[str]:
    """Problems of the shipped (sound) taxonomy plus one hand-made type: only the new ones."""
    return taxonomy_check.check_taxonomy([*types, extra], agencies, spec)


def unchecked(**changes: object) -> ViolationType:
    """A type built without validation, as code could (to reach check_taxonomy's own checks)."""
    return ViolationType.model_construct(**(vt().model_dump() | changes))


BAD_TYPES = {
    "unknown item": (vt(source_ref="4.9"), "source_ref 4.9 does not exist"),
    "unknown party": (vt(source_ref="12.1"), "no party 12"),
    "item beyond a party with none": (vt(source_ref="11.1", agency="utility"), "11.1"),
    "unknown section-three part": (vt(source_ref=["4.4", "S3.7"]), "S3.7 does not exist"),
    "whole party with items": (vt(source_ref="4"), "cites a party that has numbered items"),
    "unknown agency": (vt(agency="fire_brigade"), "unknown agency 'fire_brigade'"),
    "two keywords": (vt(keywords=["偷", "盗"]), "at least 3 keywords"),
    "blank name": (vt(name_zh="  "), "needs name_zh and name_en"),
    "utility without kind": (
        vt(agency="utility", scope="utility", source_ref="11", actions=[]),
        "needs a utility_kind",
    ),
    "utility with unknown kind": (
        vt(agency="utility", scope="utility", source_ref="11", actions=[], utility_kind="sewage"),
        "needs a utility_kind",
    ),
    "kind outside utility": (vt(utility_kind="water"), "utility_kind is only for scope utility"),
    "unknown action": (unchecked(actions=["fine"]), "not in stop, investigate, mediate"),
    "unknown scope": (unchecked(scope="misc"), "scope 'misc' is not one of"),
    "wrong party": (vt(source_ref="3.2"), "is not the agency of the parties it cites"),
    "two parties, not a dispute": (
        vt(source_ref=["4.4", "3.2"], participants=["urban_management"]),
        "cites party 3 (urban_management) but is handled by public_security",
    ),
    "dispute without the participant": (
        vt(
            agency="housing_service_center",
            scope="dispute",
            actions=["mediate"],
            source_ref=["1.7", "10.2"],
        ),
        "cites party 10 (community_committee)",
    ),
    "unknown participant": (vt(participants=["army"]), "unknown participant agency 'army'"),
    "own agency as participant": (vt(participants=["public_security"]), "its own agency"),
    "mediate outside dispute": (vt(actions=["mediate"]), "'mediate' belongs to"),
    "dispute without mediate": (vt(scope="dispute", actions=[]), "'mediate' belongs to"),
    "property service by an agency": (
        vt(scope="property_service", actions=[]),
        "scope property_service goes with agency property_company",
    ),
    "section three only, public agency": (
        vt(source_ref="S3.2"),
        "cites only section 三",
    ),
    "unknown handover": (vt(handover="to_the_moon"), "unknown handover 'to_the_moon'"),
    "handover to a non-receiver": (
        vt(agency="public_security", source_ref="5.3", handover="planning_to_urban_management"),
        "is not the agency of the parties it cites",
    ),
    "handover without its item": (
        vt(agency="planning", source_ref="5.1", handover="planning_to_urban_management"),
        "must cite 5.3",
    ),
    "hand-over received without the tag": (
        vt(agency="urban_management", source_ref="5.3"),
        "is not the agency of the parties it cites",
    ),
    "hand-over kept by market regulation (8.6)": (
        vt(agency="market_regulation", source_ref="8.6", handover="approving_department"),
        "the agency cannot be market_regulation itself",
    ),
    "assisting party leads (8.9)": (
        vt(agency="market_regulation", scope="dispute", actions=["mediate"], source_ref="8.9"),
        "only an assisting part (配合)",
    ),
    "assisting party not a participant (8.9)": (
        vt(
            agency="community_committee",
            scope="dispute",
            actions=["mediate"],
            source_ref=["8.9", "10.2"],
        ),
        "makes market_regulation a participant",
    ),
    "duplicate reference": (vt(source_ref=["4.4", "4.4"]), "cites 4.4 2 times"),
    "malformed reference": (unchecked(source_ref=["4.4", "4-6"]), "'4-6' is malformed"),
}


@pytest.mark.parametrize("case", list(BAD_TYPES))
def test_check_taxonomy_catches(
    case: str, types: list[ViolationType], agencies: list[Agency], spec: str
) -> None:
    bad, expected = BAD_TYPES[case]
    problems = problems_with(bad, types, agencies, spec)
    assert problems, f"{case}: nothing found"
    assert all(p.startswith("sample:") for p in problems), problems
    assert any(expected in p for p in problems), problems


GOOD_TYPES = {
    "dispute with the other party as participant": vt(
        agency="housing_service_center",
        scope="dispute",
        actions=["mediate"],
        source_ref=["1.7", "10.2"],
        participants=["community_committee"],
    ),
    "hand-over received by urban management": vt(
        agency="urban_management", source_ref="5.3", handover="planning_to_urban_management"
    ),
    "hand-over kept by planning": vt(
        agency="planning", source_ref="5.3", handover="planning_to_urban_management"
    ),
    "approving department named in 8.6": vt(
        agency="environmental_protection", source_ref="8.6", handover="approving_department"
    ),
    "section three property service": vt(
        agency="property_company", scope="property_service", actions=[], source_ref="S3.2"
    ),
    "utility": vt(
        agency="utility", scope="utility", actions=[], source_ref="11", utility_kind="heat"
    ),
    "duty with few keywords": vt(reportable=False, keywords=[], actions=[]),
}


@pytest.mark.parametrize("case", list(GOOD_TYPES))
def test_check_taxonomy_accepts(
    case: str, types: list[ViolationType], agencies: list[Agency], spec: str
) -> None:
    assert problems_with(GOOD_TYPES[case], types, agencies, spec) == []


def test_check_taxonomy_reports_uncited_items(
    types: list[ViolationType], agencies: list[Agency], spec: str
) -> None:
    fewer = [t for t in types if "4.6" not in t.source_ref and "9.4" not in t.source_ref]
    problems = taxonomy_check.check_taxonomy(fewer, agencies, spec)
    assert len(problems) == 2, problems
    assert problems[0].startswith("item 4.6 of section 二 (区公安局) is cited by no type")
    assert problems[1].startswith("item 9.4 of section 二")


def test_check_taxonomy_reports_duplicate_codes(
    types: list[ViolationType], agencies: list[Agency], spec: str
) -> None:
    problems = taxonomy_check.check_taxonomy([*types, types[0]], agencies, spec)
    assert problems == [f"{types[0].code}: the code is used by 2 types"]


def test_check_taxonomy_checks_agencies(
    types: list[ViolationType], agencies: list[Agency], spec: str
) -> None:
    by_code = {a.code: a for a in agencies}
    edited = by_code["planning"].model_copy(update={"duties_zh": "负责规划。"})
    rest = [a for a in agencies if a.code not in ("planning", "price_bureau")]
    problems = taxonomy_check.check_taxonomy(types, [*rest, edited, edited], spec)
    assert "agency planning: the code is used 2 times" in problems
    assert "party 5: 2 agencies claim it" in problems
    assert "party 7 (区物价局): no agency represents it" in problems
    assert any(p.startswith("agency planning: duties_zh is not the verbatim") for p in problems)
    kinds = by_code["utility"].kinds
    odd = by_code["public_security"].model_copy(update={"kinds": kinds, "name_en": ""})
    problems = taxonomy_check.check_taxonomy(
        types, [odd if a.code == "public_security" else a for a in agencies], spec
    )
    assert problems == [
        "agency public_security: needs name_zh and name_en",
        "agency public_security: only utility has kinds",
    ]


def test_check_taxonomy_reports_an_unreadable_text(
    types: list[ViolationType], agencies: list[Agency]
) -> None:
    assert taxonomy_check.check_taxonomy(types, agencies, "no sections here") == [
        "specification: the text has no section 2 (a line starting with its numeral、)"
    ]


# --- search -------------------------------------------------------------------------------------


def test_search_finds_illegal_construction_first(types: list[ViolationType]) -> None:
    assert tx.search_types(types, "违建")[0].code == "illegal_construction"
    assert tx.search_types(types, " 违建 ")[0].code == "illegal_construction"


def test_search_finds_lift_types(types: list[ViolationType]) -> None:
    found = [t.code for t in tx.search_types(types, "电梯")]
    lifts = {t.code for t in types if t.reportable and t.code.startswith("lift_")}
    assert lifts >= {"lift_out_of_service", "lift_safety_hazard", "lift_entrapment"}
    assert found[0].startswith("lift_")
    assert set(found[: len(lifts)]) == lifts
    assert {t.code for t in tx.search_types(types, "LIFT")} >= lifts


def test_search_matches_keywords_inside_a_sentence(types: list[ViolationType]) -> None:
    found = tx.search_types(types, "楼上半夜装修噪音太大")
    assert found[0].code == "renovation_noise_night"
    assert "household_noise" in [t.code for t in found]


def test_search_offers_only_reportable_types(types: list[ViolationType]) -> None:
    reportable = [t for t in types if t.reportable]
    assert tx.search_types(types, "") == reportable
    assert all(t.reportable for t in tx.search_types(types, "业委会"))
    assert "planning_approval" not in [t.code for t in tx.search_types(types, "规划")]
    assert tx.search_types(types, "量子纠缠") == []
