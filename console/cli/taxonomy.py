"""``shudi taxonomy`` and ``shudi contacts``: the linkage mechanism as data."""

from __future__ import annotations

import typer

from console.cli.common import echo_json, fail, transaction
from jurisdictions import catalog, published_contacts
from jurisdictions.resident import (
    RESIDENT_WORDS_PATH,
    check_resident_words,
    load_resident_words,
)
from jurisdictions.taxonomy import SPEC_PATH, TaxonomyFileError, load_agencies, load_violation_types
from jurisdictions.taxonomy_check import check_taxonomy

app = typer.Typer(help="Agencies, violation types and routing data.", no_args_is_help=True)
contacts_app = typer.Typer(help="Published contacts (三(二)).", no_args_is_help=True)


@app.command()
def check() -> None:
    """Validate the data files against the text: coverage, agencies, duplicates."""
    problems = check_taxonomy(
        load_violation_types(), load_agencies(), SPEC_PATH.read_text(encoding="utf-8")
    )
    try:
        problems += check_resident_words(load_resident_words(), load_violation_types())
    except TaxonomyFileError as exc:
        problems.append(f"{RESIDENT_WORDS_PATH.name}: {exc}")
    for line in problems:
        typer.echo(line)
    if problems:
        fail(f"{len(problems)} problem(s) in the taxonomy")
    typer.echo(
        f"taxonomy ok: {len(load_violation_types())} types, "
        f"{len(load_agencies())} agencies, every item of section 二 covered, "
        f"{len(load_resident_words().categories)} resident categories"
    )


@app.command()
def load() -> None:
    """Load the data files into the database (one transaction)."""
    with transaction() as conn:
        counts = catalog.sync_taxonomy(conn)
    echo_json(counts)


@contacts_app.command("set")
def set_(
    agency: str = typer.Option(..., help="Agency code, e.g. public_security."),
    person: str = typer.Option(..., help="The contact person's name."),
    phone: str = typer.Option(..., help="The published phone number."),
    layer: str = typer.Option(
        "", help="'' (district), town, community, property_area or agency_unit."
    ),
    code: str = typer.Option("", help="The code of the town/estate/unit."),
    office: str = typer.Option("", help="Office or unit name."),
    hours: str = typer.Option("", help="Office hours."),
    kind: str = typer.Option(
        "", help="For agency utility: which company (water, power, gas, heat, telecom, …)."
    ),
) -> None:
    """Publish the contact of an agency for a scope (the most specific one is shown)."""
    with transaction() as conn:
        published_contacts.set_contact(
            conn,
            agency=agency,
            person=person,
            phone=phone,
            scope_layer=layer,
            scope_code=code,
            office=office,
            hours=hours,
            kind=kind,
        )
    typer.echo("contact published")
