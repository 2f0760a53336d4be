"""What a case's photos show — sent with the report, or the handling unit's before/after photos
(处置前后; all written by :func:`incidents.store.add_photos`) — and the
rule that a case of a type marked ``evidence`` (its remedy can be seen on site) is resolved only
with a photo from before — the report's or the handler's — and one from after."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text

from incidents.exceptions import EvidenceRequired

#: What a photo shows: sent with the report, or taken by the handler before / after handling.
STAGES = ("report", "before", "after")

STAGES_OF = text("SELECT DISTINCT stage FROM case_photo WHERE case_id = :c")


def stages(conn: Connection, *, case_id: int) -> set[str]:
    """The stages a case has photos of."""
    return set(conn.execute(STAGES_OF, {"c": case_id}).scalars())


NEEDS = text("SELECT evidence FROM violation_type WHERE code = :t")


def needed(conn: Connection, *, type_code: str) -> bool:
    """Whether resolving a case of this type needs before and after photos."""
    return bool(conn.execute(NEEDS, {"t": type_code}).scalar())


def missing(conn: Connection, *, case: Mapping[str, Any]) -> list[str]:
    """The stages still missing before this case may be resolved ([] when none are needed)."""
    if not needed(conn, type_code=str(case["type_code"])):
        return []
    have = stages(conn, case_id=int(case["id"]))
    out = []
    if not have & {"report", "before"}:
        out.append("before")
    if "after" not in have:
        out.append("after")
    return out


def require_for_resolve(conn: Connection, *, case: Mapping[str, Any]) -> None:
    """Refuse to resolve a case whose type needs evidence that is not there."""
    lacking = missing(conn, case=case)
    if lacking:
        names = {"before": "处置前", "after": "处置后"}
        raise EvidenceRequired(
            "resolving this type needs photos from "
            + " and ".join(lacking)
            + " handling ("
            + "、".join(names[s] for s in lacking)
            + "照片)",
            missing=lacking,
        )
