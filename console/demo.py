"""The sample district, the linkage taxonomy and published contacts, loaded idempotently by
``shudi demo``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, text

from jurisdictions import generations
from jurisdictions.active import ACTIVE_GENERATIONS
from jurisdictions.catalog import load_reference_data
from places.sample import load_sample_gazetteer

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "sample"

#: (file, layer, agency) in load order: parents before children.
SAMPLE_LAYERS = (
    ("towns.geojson", "town", ""),
    ("communities.geojson", "community", ""),
    ("property_areas.geojson", "property_area", ""),
    ("police_precincts.geojson", "agency_unit", "public_security"),
    ("urban_management_squads.geojson", "agency_unit", "urban_management"),
)


def _source_tag(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"sample:{path.name}:{digest}"


def load_sample_district(
    conn: Connection, *, sample_dir: Path = SAMPLE_DIR, note: Callable[[str], None] = print
) -> int:
    """Import and activate each sample layer unless its active generation is that file already
    (after the linkage rules, which ``shudi db migrate`` normally loaded: agency units need
    their parties). Returns the number of layers imported.
    """
    load_reference_data(conn)
    loaded = 0
    for name, layer, agency in SAMPLE_LAYERS:
        path = sample_dir / name
        tag = _source_tag(path)
        active = conn.execute(
            text(f"""SELECT 1 FROM boundary_generation g
                    WHERE g.id IN {ACTIVE_GENERATIONS} AND g.layer = :l AND g.agency = :a
                      AND g.source = :s"""),
            {"l": layer, "a": agency, "s": tag},
        ).first()
        if active:
            note(f"{layer} {agency}: sample already active".replace("  ", " "))
            continue
        result = generations.import_and_activate(
            conn,
            path=path,
            layer=layer,
            agency=agency,
            source=tag,
            description="sample district 清溪区 (fictional)",
            activate=True,
        )
        note(
            f"{layer} {agency}: generation {result.generation_id}, "
            f"{result.feature_count} features".replace("  ", " ")
        )
        loaded += 1
    load_sample_gazetteer(conn, note=note)  # roads, addresses, POIs; names made searchable
    return loaded
