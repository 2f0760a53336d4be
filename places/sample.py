"""The sample district's generated gazetteer (``data/boundaries/make_gazetteer.py``), loaded
idempotently by ``shudi demo``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, text

from places import store
from places.gazetteer import import_gazetteer, read_gazetteer

SAMPLE_GAZETTEER = (
    Path(__file__).resolve().parents[1] / "data" / "boundaries" / "sample" / "gazetteer.geojson"
)
DATASET = "sample"


def load_sample_gazetteer(
    conn: Connection, *, path: Path = SAMPLE_GAZETTEER, note: Callable[[str], None] = print
) -> int:
    """Import the sample gazetteer unless that file is loaded already; copy the boundary names
    into the search. Returns the gazetteer rows stored now (0 when already loaded)."""
    tag = f"sample:{path.name}:{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"
    loaded = conn.execute(
        text("SELECT 1 FROM place_dataset WHERE name = :n AND source = :s"),
        {"n": DATASET, "s": tag},
    ).first()
    added = store.sync_boundaries(conn)
    if loaded:
        note("gazetteer: sample already loaded")
        return 0
    result = import_gazetteer(conn, gdf=read_gazetteer(path), dataset=DATASET, source=tag)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(result.by_kind.items()))
    note(f"gazetteer: {counts}; {added} boundary names searchable")
    return result.stored
