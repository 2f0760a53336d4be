"""Who in the estate is told (三（二）): the property company and the community committee hear
of refusals to correct on their ground, and of cases in their estate handed to them; the town
and the competent department, whose work lists a refusal enters, get a staff notice too.

The company and the community are reached at their **published** contact (jurisdictions'
``contact`` rows scoped to the estate, resp. the community or estate): an SMS to the office
phone published for the public, addressed by that number (masked in staff views, as any). A
contact broader than their ground (a district-wide line) is not theirs and is not used.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from jurisdictions.published_contacts import contacts_for
from notify import templates as tpl
from notify.message_rows import message_row
from shudi.pii import Cipher
from shudi.settings import Settings

#: Whose published contact answers for a scope: the company only for its estate, the
#: community committee for its community (or the estate).
SCOPES = {
    "property_company": ("property_area",),
    "community_committee": ("property_area", "community"),
}
#: Actions that hand a case to a unit: its estate's company / community hears when it is them.
HANDED = frozenset({"dispatch", "refer"})
CASE = text("""SELECT c.id, vt.name_zh AS type_name, c.handler_party, c.handler_name,
    c.community_code, c.property_area_code,
    coalesce(c.routing->'property_area'->>'name', c.routing->'territory'->'community'->>'name',
             c.address_text, '') AS area
  FROM case_file c JOIN violation_type vt ON vt.code = c.type_code WHERE c.id = :c""")


def _contacts(conn: Connection, case: dict[str, Any], agencies: list[str]) -> list[tuple]:
    """(agency, phone, office) of the published contacts on the case's ground."""
    scopes = [("property_area", case["property_area_code"]), ("community", case["community_code"])]
    found = contacts_for(conn, scopes=[(layer, code) for layer, code in scopes if code])
    out = []
    for agency in agencies:
        c = found.get(agency)
        if c and c["scope_layer"] in SCOPES[agency] and c["phone"]:
            out.append((agency, str(c["phone"]).strip(), str(c["office"] or c["person"])))
    return out


def _sms_row(
    template: tpl.Template, p: dict[str, Any], phone: str, cipher: Cipher, s: Settings
) -> dict[str, Any]:
    return message_row(
        template, p, channel="sms", recipient=phone,  # a published office number, not a resident's
        masked=tpl.mask_phone(phone), digest=cipher.digest(phone, purpose="notify"), s=s,
    )  # fmt: skip


def _staff_row(
    template: tpl.Template, p: dict[str, Any], target: str, s: Settings
) -> dict[str, Any]:
    return message_row(
        template, p, channel="staff", recipient=target, masked=p["unit"], digest="", s=s, staff=True
    )


def rows_for_event(
    conn: Connection, *, case_id: int, action: str, data: dict[str, Any],
    params: dict[str, Any], s: Settings, cipher: Cipher,
) -> list[dict[str, Any]]:  # fmt: skip
    """The outbox rows ``action`` causes for the estate's company and community (and, for a
    refusal, the units it was reported to); [] when the action concerns none of them."""
    if action != "refused_to_correct" and action not in HANDED:
        return []
    row = conn.execute(CASE, {"c": case_id}).mappings().first()
    if row is None:
        return []
    case = dict(row)
    p = params | {"type": case["type_name"], "area": case["area"] or params.get("town", "")}
    rows: list[dict[str, Any]] = []
    if action == "refused_to_correct":
        told = data.get("notify") or []
        p["parties"] = "、".join(str(t["unit"]) for t in told) or "镇（街道）和主管部门"
        staff = tpl.get_template("unit_refusal")
        for t in told:  # the town and the department whose work lists it entered
            rows.append(_staff_row(staff, p | {"unit": t["unit"]}, f"{t['party']}/", s))
        notice = tpl.get_template("refusal_notice")
        for _agency, phone, _office in _contacts(
            conn, case, ["property_company", "community_committee"]
        ):
            rows.append(_sms_row(notice, p, phone, cipher, s))
        return rows
    if case["handler_party"] in SCOPES:  # handed to the estate's company or community
        notice = tpl.get_template("estate_case")
        for _agency, phone, _office in _contacts(conn, case, [case["handler_party"]]):
            rows.append(_sms_row(notice, p | {"unit": case["handler_name"]}, phone, cipher, s))
    return rows
