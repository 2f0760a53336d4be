"""Published contacts (三(二): every unit publishes a contact per estate): kept per agency (and
per utility company of the ``utility`` agency) and per scope — district, town, community, agency
unit, estate; the most specific one answers for a place."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, text

from jurisdictions.catalog import UnknownAgency
from jurisdictions.exceptions import JurisdictionError


class ContactNotFound(JurisdictionError):
    """No published contact with that id."""

    code = "contact_not_found"


class InvalidContact(JurisdictionError):
    """A contact without a person or phone, or with a scope that is not a place."""

    code = "invalid_contact"


def set_contact(
    conn: Connection,
    *,
    agency: str,
    person: str,
    phone: str,
    scope_layer: str = "",
    scope_code: str = "",
    office: str = "",
    hours: str = "",
    kind: str = "",
) -> None:
    """Publish (or replace) the contact of an agency for a scope (most specific wins);
    ``kind`` names one utility company of the ``utility`` agency (water, power, gas, …)."""
    if scope_layer not in SPECIFICITY or (scope_layer == "") != (scope_code == ""):
        raise InvalidContact(
            f"a contact's scope is a layer ({', '.join(SPECIFICITY[:-1])}) with a code, or "
            f"neither; got {scope_layer!r} {scope_code!r}"
        )
    if not person.strip() or not phone.strip():
        raise InvalidContact("a published contact needs a person and a phone number")
    row = conn.execute(text("SELECT kinds FROM agency WHERE code = :a"), {"a": agency}).first()
    if row is None:
        raise UnknownAgency(f"unknown agency {agency!r}")
    kinds = [k["code"] for k in row.kinds or []]
    if kind and kind not in kinds:
        raise InvalidContact(
            f"kind {kind!r} is not a kind of {agency}"
            + (f" ({', '.join(kinds)})" if kinds else ": only the utility agency has kinds")
        )
    conn.execute(
        text("""
        INSERT INTO contact (agency, kind, scope_layer, scope_code, office, person, phone, hours)
        VALUES (:agency, :kind, :layer, :code, :office, :person, :phone, :hours)
        ON CONFLICT (agency, kind, scope_layer, scope_code) DO UPDATE SET
            office = EXCLUDED.office,
            person = EXCLUDED.person, phone = EXCLUDED.phone, hours = EXCLUDED.hours,
            updated_at = now()"""),
        {
            "agency": agency,
            "kind": kind,
            "layer": scope_layer,
            "code": scope_code,
            "office": office,
            "person": person,
            "phone": phone,
            "hours": hours,
        },
    )


def remove_contact(conn: Connection, *, contact_id: int) -> None:
    """Withdraw a published contact (the broader one then answers for its scope)."""
    if not conn.execute(text("DELETE FROM contact WHERE id = :i"), {"i": contact_id}).rowcount:
        raise ContactNotFound(f"no contact {contact_id}")


#: Most specific first: an estate's own contact beats the unit's, the town's, the district's.
SPECIFICITY = ("property_area", "community", "agency_unit", "town", "")


def _contact_rows(conn: Connection, scopes: Iterable[tuple[str, str]]) -> list[Any]:
    pairs = [(layer, code) for layer, code in scopes if code] + [("", "")]
    rows = (
        conn.execute(
            text("""SELECT agency, kind, scope_layer, scope_code, office, person, phone, hours
                FROM contact WHERE (scope_layer, scope_code) IN
                (SELECT * FROM unnest(CAST(:layers AS text[]), CAST(:codes AS text[])))"""),
            {"layers": [p[0] for p in pairs], "codes": [p[1] for p in pairs]},
        )
        .mappings()
        .all()
    )
    return sorted(rows, key=lambda r: SPECIFICITY.index(r["scope_layer"]))


_CONTACT_FIELDS = ("office", "person", "phone", "hours", "scope_layer", "scope_code")


def contacts_for(
    conn: Connection, *, scopes: Iterable[tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    """The most specific published contact per agency for the given (layer, code) scopes
    (an agency's own contacts, not its utility companies')."""
    best: dict[str, dict[str, Any]] = {}
    for row in _contact_rows(conn, scopes):
        if not row["kind"]:
            best.setdefault(row["agency"], {k: row[k] for k in _CONTACT_FIELDS})
    return best


def utility_contacts_for(
    conn: Connection, *, scopes: Iterable[tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    """The most specific published contact per utility kind (water, power, gas, …)."""
    best: dict[str, dict[str, Any]] = {}
    for row in _contact_rows(conn, scopes):
        if row["kind"]:
            best.setdefault(row["kind"], {k: row[k] for k in _CONTACT_FIELDS})
    return best
