"""``shudi boundaries``: import, activate, list and check boundary generations.

The spatial stack (GeoPandas, GDAL) is imported by the commands that need it, so that every
other ``shudi`` command starts quickly.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from console.cli.common import fail, transaction
from jurisdictions.exceptions import BoundaryImportRejected

app = typer.Typer(help="Boundary layers in versioned generations.", no_args_is_help=True)
console = Console(stderr=True)


def _fields(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, col = pair.partition("=")
        if not sep or not key or not col:
            fail(f"--field wants NAME=COLUMN, got {pair!r}")
        out[key.strip()] = col.strip()
    return out


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="GeoJSON, GeoPackage, Shapefile or zipped Shapefile."),
    layer: str = typer.Option(..., help="town | community | property_area | agency_unit"),
    agency: str = typer.Option("", help="The agency of agency units, e.g. public_security."),
    field: list[str] = typer.Option([], help="NAME=COLUMN, e.g. code=XZQDM (repeatable)."),
    encoding: str | None = typer.Option(None, help="Attribute encoding, e.g. GBK."),
    src_crs: str | None = typer.Option(None, help="CRS when the file has none, e.g. EPSG:4549."),
    file_layer: str | None = typer.Option(None, help="Layer inside a multi-layer file."),
    repair: bool = typer.Option(False, "--repair", help="Repair invalid geometry."),
    activate: bool = typer.Option(False, "--activate", help="Make it the active generation."),
    description: str = typer.Option("", help="A note kept with the generation."),
    tolerance_m: float = typer.Option(1.0, help="How far a child may stick out of its parent."),
    overlap_m2: float = typer.Option(1.0, help="Sibling overlap area tolerated, in m²."),
    gap_m2: float = typer.Option(100.0, help="Gap between communities reported, in m²."),
) -> None:
    """Import a boundary file as a new generation of LAYER (validated; all or nothing).

    With --activate it becomes the active generation and open cases move to their new owners,
    in the same transaction.
    """
    from gis.validation import summarise
    from jurisdictions import generations

    fields = _fields(field)
    tolerances = {
        "tolerance_m": tolerance_m,
        "overlap_tolerance_m2": overlap_m2,
        "gap_tolerance_m2": gap_m2,
    }
    with _progress() as bar:
        task = bar.add_task(f"reading {path.name}", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            with transaction() as conn:
                result = generations.import_and_activate(
                    conn,
                    path=path,
                    layer=layer,
                    activate=activate,
                    agency=agency,
                    fields=fields,
                    encoding=encoding,
                    src_crs=src_crs,
                    file_layer=file_layer,
                    description=description,
                    do_repair=repair,
                    tolerances=tolerances,
                    progress=lambda msg: bar.update(task, description=msg, total=None),
                    read_progress=tick,
                )
        except BoundaryImportRejected as exc:
            bar.stop()
            typer.echo(summarise(exc.details["problems"]))
            fail(exc.message)
    if result.warnings:
        typer.echo(summarise(result.warnings))
    state = (
        f"active; {result.moved} open case(s) moved to a new owner"
        if result.activated
        else f"inactive; activate with `shudi boundaries activate {result.generation_id}`"
    )
    typer.echo(
        f"generation {result.generation_id}: {result.feature_count} {layer} features ({state})"
    )


@app.command()
def activate(generation: int = typer.Argument(..., help="The generation id.")) -> None:
    """Make GENERATION its layer's active one; open cases are re-resolved (one transaction)."""
    from jurisdictions import generations

    with transaction() as conn:
        done = generations.activate(conn, generation_id=generation)
    typer.echo(
        f"generation {generation} "
        + ("activated" if done.changed else "was already active")
        + f"; {done.moved} open case(s) moved to a new owner"
    )


@app.command("list")
def list_() -> None:
    """Layers, generations, counts and which is active."""
    from jurisdictions import generations

    with transaction() as conn:
        rows = generations.list_generations(conn)
    table = Table("id", "layer", "agency", "features", "active", "created", "source")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["layer"],
            r["agency"],
            str(r["feature_count"]),
            "yes" if r["active"] else "",
            r["created_at"].strftime("%Y-%m-%d %H:%M"),
            r["source"],
        )
    Console().print(table)


@app.command()
def check() -> None:
    """Validate the active generations as an import would (exit 1 on errors)."""
    from gis.validation import summarise
    from jurisdictions import generations

    with transaction() as conn:
        report = generations.check_store(conn)
    errors = 0
    for key, problems in report.items():
        typer.echo(f"{key}: {len(problems)} problem(s)")
        if problems:
            typer.echo(summarise(problems))
        errors += sum(p.severity == "error" for p in problems)
    if not report:
        fail("no active boundary generations; import some with `shudi boundaries import`")
    if errors:
        fail(f"{errors} error(s) in the stored boundaries")
