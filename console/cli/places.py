"""``shudi places``: the gazetteer (roads, addresses, POIs) and the place search."""

from __future__ import annotations

from pathlib import Path

import typer

from console.cli.common import echo_json, fail, transaction
from shudi.settings import get_settings

app = typer.Typer(help="Place search and the gazetteer it searches.", no_args_is_help=True)


def _fields(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, col = pair.partition("=")
        if not sep or key.strip() not in ("code", "name", "kind") or not col.strip():
            fail(f"--field wants code|name|kind=COLUMN, got {pair!r}")
        out[key.strip()] = col.strip()
    return out


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="GeoJSON, GeoPackage, Shapefile (or .zip) or CSV."),
    dataset: str | None = typer.Option(None, help="Dataset name (default: the file's stem)."),
    kind: str | None = typer.Option(
        None, help="road | address | poi for every row (default: a kind column, or geometry)."
    ),
    field: list[str] = typer.Option([], help="code|name|kind=COLUMN, e.g. name=MC."),
    encoding: str | None = typer.Option(None, help="Attribute encoding, e.g. GBK."),
    src_crs: str | None = typer.Option(None, help="CRS when the file has none, e.g. EPSG:4549."),
    file_layer: str | None = typer.Option(None, help="Layer inside a multi-layer file."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Store the good rows, list the bad."),
) -> None:
    """Load a gazetteer file; a dataset imported again is replaced. Bad rows refuse the file."""
    from gis.gazetteer import GAZETTEER_KINDS
    from gis.validation import summarise
    from places.gazetteer import GazetteerRejected, import_gazetteer, read_gazetteer

    if kind is not None and kind not in GAZETTEER_KINDS:
        fail(f"--kind must be one of {', '.join(GAZETTEER_KINDS)}, not {kind!r}")
    gdf = read_gazetteer(
        path,
        kind=kind,
        fields=_fields(field),
        encoding=encoding,
        src_crs=src_crs,
        file_layer=file_layer,
        max_features=get_settings().boundary_max_features,
    )
    name = dataset or path.stem
    try:
        with transaction() as conn:
            result = import_gazetteer(
                conn, gdf=gdf, dataset=name, source=str(path), skip_bad=skip_bad
            )
    except GazetteerRejected as exc:
        typer.echo(summarise(exc.details.get("problems") or []), err=True)
        fail(exc.message)
    if result.skipped:
        typer.echo(summarise(result.skipped), err=True)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(result.by_kind.items())) or "nothing"
    skipped = f"; {len(result.skipped)} problem(s) skipped" if result.skipped else ""
    typer.echo(f"gazetteer {result.dataset}: {counts} stored{skipped}")


@app.command("list")
def list_() -> None:
    """The gazetteer datasets loaded."""
    from places.store import list_datasets

    with transaction() as conn:
        echo_json(list_datasets(conn))


@app.command()
def drop(dataset: str = typer.Argument(..., help="The dataset name.")) -> None:
    """Remove a gazetteer dataset."""
    from places.store import drop_dataset

    with transaction() as conn:
        if not drop_dataset(conn, dataset=dataset):
            fail(f"no gazetteer dataset {dataset!r}")
    typer.echo(f"gazetteer {dataset} removed")


@app.command()
def search(
    q: str = typer.Argument(..., help="A name, part of one, pinyin or initials."),
    limit: int = typer.Option(10, min=1, max=50),
) -> None:
    """Search places as the pages do (best first)."""
    from places.search import search as find

    with transaction() as conn:
        echo_json(find(conn, q=q, limit=limit))
