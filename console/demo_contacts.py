"""Fictional published contacts for the sample district (三(二): every unit publishes, per
property management area, its duties and a named contact with a phone number)."""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text

from jurisdictions.published_contacts import set_contact
from notify.unit_contacts import add_contact

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"

DISTRICT_OFFICES = {
    "housing_service_center": "物业管理科",
    "housing_construction": "房屋安全管理科",
    "urban_management": "指挥中心",
    "public_security": "治安管理大队",
    "planning": "批后管理科",
    "environmental_protection": "执法监察大队",
    "price_bureau": "价格举报中心",
    "market_regulation": "特种设备安全监察科",
    "town_government": "区物业管理联动办公室",
    "community_committee": "区社区建设办公室",
    "utility": "区专业经营单位联络组（水、电、气、通信各单位见下方）",
    "property_company": "区物业服务行业协会",
}


#: The utility companies of the sample district (fictional): district-wide by default; the water
#: and gas companies differ between the towns (a second company serves the towns of one supply
#: area). Their lines are answered day and night.
UTILITIES = {
    "water": ("青江水务集团供水服务中心", "青江水务集团城北供水所"),
    "power": ("国网青江供电公司抢修中心", None),
    "gas": ("青江天然气公司燃气抢修中心", "青江港华燃气公司抢修站"),
    "heat": ("青江热力公司客服中心", None),
    "telecom": ("青江电信维修中心", None),
    "broadband": ("青江宽带网络维修中心", None),
    "cable_tv": ("青江广电网络客服中心", None),
}
UTILITY_HOURS = "24小时抢修"


def _pick(seed: str) -> tuple[str, str]:
    """A deterministic fictional person and phone number for a seed."""
    h = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    person = SURNAMES[h % len(SURNAMES)] + GIVEN[(h >> 8) % len(GIVEN)]
    if (h >> 16) % 2:
        person += GIVEN[(h >> 24) % len(GIVEN)]
    return person, f"0571-8{(h >> 32) % 10_000_000:07d}"


def load_demo_contacts(conn: Connection) -> int:
    """Publish district-wide, per-unit, per-town, per-community and per-estate contacts."""
    n = 0

    def put(agency: str, layer: str, code: str, office: str) -> None:
        nonlocal n
        person, phone = _pick(f"{agency}/{layer}/{code}")
        set_contact(
            conn,
            agency=agency,
            scope_layer=layer,
            scope_code=code,
            office=office,
            person=person,
            phone=phone,
            hours="工作日 8:30–17:30",
        )
        n += 1

    for agency, office in DISTRICT_OFFICES.items():
        put(agency, "", "", office)
    for kind, (company, _) in UTILITIES.items():
        _, phone = _pick(f"utility/{kind}")
        set_contact(
            conn, agency="utility", kind=kind, office=company, person="值班调度",
            phone=phone, hours=UTILITY_HOURS,
        )  # fmt: skip
        n += 1
    active = text("""SELECT b.layer, b.agency, b.code, b.name, b.property_company
                     FROM boundary b JOIN generation_period g
                       ON g.generation_id = b.generation_id AND g.valid_to IS NULL
                     ORDER BY b.layer, b.code""")
    for row in conn.execute(active).all():
        if row.layer == "agency_unit":
            put(row.agency, "agency_unit", row.code, row.name)
        elif row.layer == "town":
            put("town_government", "town", row.code, f"{row.name}物业管理办公室")
            n += _town_utilities(conn, row.code)
            put("housing_service_center", "town", row.code, f"{row.name}片区联络员")
        elif row.layer == "community":
            put("community_committee", "community", row.code, f"{row.name}居委会")
        elif row.layer == "property_area" and row.property_company:
            put(
                "property_company",
                "property_area",
                row.code,
                f"{row.property_company}{row.name}客服中心",
            )
    return n


def _town_utilities(conn: Connection, town: str) -> int:
    """The second water and gas companies serve every other town (by the town code's hash)."""
    if int(hashlib.sha256(town.encode()).hexdigest(), 16) % 2 == 0:
        return 0
    n = 0
    for kind, (_, second) in UTILITIES.items():
        if second is None:
            continue
        _, phone = _pick(f"utility/{kind}/{town}")
        set_contact(
            conn,
            agency="utility",
            kind=kind,
            scope_layer="town",
            scope_code=town,
            office=second,
            person="值班调度",
            phone=phone,
            hours=UTILITY_HOURS,
        )
        n += 1
    return n


def load_demo_duty_contacts(conn: Connection) -> int:
    """A duty e-mail box (督办: deadline and report-in reminders) for every agency field unit and
    every town's coordinating office, under the reserved ``.example`` domain, so the demo's
    reminders reach an address (the file sink shows them); adding them again changes nothing."""
    units = text("""SELECT b.layer, b.agency, b.code FROM boundary b
                    JOIN generation_period g
                      ON g.generation_id = b.generation_id AND g.valid_to IS NULL
                    WHERE b.layer IN ('agency_unit', 'town') ORDER BY b.layer, b.code""")
    n = 0
    for row in conn.execute(units).all():
        party = row.agency if row.layer == "agency_unit" else "town_government"
        box = f"duty-{party}-{row.code}".lower().replace("_", "-")
        add_contact(conn, party=party, unit_code=row.code, label="值班室",
                    contact=f"{box}@qingjiang.example")  # fmt: skip
        n += 1
    return n
