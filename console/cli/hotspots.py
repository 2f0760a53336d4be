"""``shudi hotspots``: precompute hot-spot analyses into the cache."""

from __future__ import annotations

import itertools
from datetime import datetime

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from console.cli.common import fail, transaction

app = typer.Typer(help="Hot-spot analysis of cases.", no_args_is_help=True)


@app.command()
def compute(
    method: list[str] = typer.Option(
        ["gi_star"], help="count | gi_star | local_moran | kde | emerging (repeatable)"
    ),
    grid: list[str] = typer.Option(
        ["h3:9"], help="h3:7..10 | square:<metres> | town | community | property_area (repeatable)"
    ),
    type: str | None = typer.Option(None, help="Violation type code."),
    agency: str | None = typer.Option(None, help="Handling party (agency code)."),
    scope: str | None = typer.Option(None, help="Scope."),
    status: str | None = typer.Option(None, help="Comma-separated statuses."),
    since: datetime | None = typer.Option(None, "--from", help="Cases reported from."),
    until: datetime | None = typer.Option(None, "--to", help="Cases reported before."),
    town: str | None = typer.Option(None, help="Town/street code."),
    permutations: int = typer.Option(999, help="Permutations of Gi* / Local Moran's I."),
    interval: str = typer.Option("M", help="Emerging hot spots' time bins: W | M | Q."),
    force: bool = typer.Option(False, help="Recompute even when a cached answer is current."),
) -> None:
    """Compute every METHOD × GRID combination for the filters and cache the answers."""
    from hotspots.schemas import HotspotQuery
    from hotspots.service import hotspots
    from shudi.settings import get_settings

    min_count = get_settings().hotspot_min_count
    combos = list(itertools.product(dict.fromkeys(method), dict.fromkeys(grid)))
    queries = []
    for m, g in combos:
        if m == "kde" and g != combos[0][1]:
            continue  # the density surface does not depend on the grid
        try:
            queries.append(
                HotspotQuery.model_validate(
                    {
                        "method": m,
                        "grid": g,
                        "type": type,
                        "agency": agency,
                        "scope": scope,
                        "status": status,
                        "from": since,
                        "to": until,
                        "town": town,
                        "permutations": permutations,
                        "interval": interval,
                    }
                )
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            fail(f"{m} on {g}: {'.'.join(str(p) for p in err['loc'])} {err['msg']}".strip())
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    lines = []
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("hot spots", total=len(queries))
        for query in queries:
            bar.update(task, description=f"{query.method.value} on {query.grid}")
            with transaction() as conn:
                out = hotspots(conn, query=query, min_count=min_count, use_cache=not force)
            state = "cached already" if out.cached else "computed"
            lines.append(
                f"{query.method.value:12} {query.grid:14} {out.answer.n_points:>9} cases  {state}"
            )
            bar.advance(task)
    for line in lines:
        typer.echo(line)
