"""The linkage mechanism in the database: agencies and violation types (the published
contacts are :mod:`jurisdictions.published_contacts`).

The YAML files under ``data/`` are the source (reviewed like code); ``sync_taxonomy`` loads
them in one transaction. Types missing from the file are retired (``active = false``), never
deleted, since cases keep referring to them; cases' stored routing is never touched.

The rules are product data: ``shudi db migrate`` calls :func:`load_reference_data`, which
loads the files when their SHA-256 differs from the version recorded in ``reference_data``
(on an empty database, and after every change of the files), and does nothing otherwise.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from jurisdictions.exceptions import JurisdictionError
from jurisdictions.taxonomy import (
    AGENCIES_PATH,
    VIOLATION_TYPES_PATH,
    clear_caches,
    load_agencies,
    load_violation_types,
)


class UnknownViolationType(JurisdictionError):
    """A violation type code that is not in the taxonomy (or not reportable)."""

    code = "unknown_violation_type"


class UnknownAgency(JurisdictionError):
    """An agency code that is not a party of the mechanism."""

    code = "unknown_agency"


class InvalidQuery(JurisdictionError):
    """A search parameter outside its vocabulary."""

    code = "invalid_query"


UPSERT_AGENCY = text("""
INSERT INTO agency (code, party, name_zh, name_en, territorial, has_field_units, duties_zh,
                    duties_en, kinds)
VALUES (:code, :party, :name_zh, :name_en, :territorial, :has_field_units, :duties_zh,
        :duties_en, :kinds)
ON CONFLICT (code) DO UPDATE SET party = EXCLUDED.party, name_zh = EXCLUDED.name_zh,
    name_en = EXCLUDED.name_en, territorial = EXCLUDED.territorial,
    has_field_units = EXCLUDED.has_field_units, duties_zh = EXCLUDED.duties_zh,
    duties_en = EXCLUDED.duties_en, kinds = EXCLUDED.kinds
""").bindparams(bindparam("kinds", type_=JSONB))

UPSERT_TYPE = text("""
INSERT INTO violation_type (code, name_zh, name_en, agency, scope, actions, reportable,
                            source_ref, keywords, utility_kind, handover, participants, sensitive,
                            evidence, active)
VALUES (:code, :name_zh, :name_en, :agency, :scope, :actions, :reportable, :source_ref,
        :keywords, :utility_kind, :handover, :participants, :sensitive, :evidence, true)
ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
    agency = EXCLUDED.agency, scope = EXCLUDED.scope, actions = EXCLUDED.actions,
    reportable = EXCLUDED.reportable, source_ref = EXCLUDED.source_ref,
    keywords = EXCLUDED.keywords, utility_kind = EXCLUDED.utility_kind,
    handover = EXCLUDED.handover, participants = EXCLUDED.participants,
    sensitive = EXCLUDED.sensitive, evidence = EXCLUDED.evidence, active = true
""").bindparams(
    *(bindparam(n, type_=JSONB) for n in ("actions", "source_ref", "keywords", "participants"))
)

TYPE_COLUMNS = (
    "code",
    "name_zh",
    "name_en",
    "agency",
    "scope",
    "actions",
    "reportable",
    "source_ref",
    "keywords",
    "utility_kind",
    "handover",
    "participants",
    "sensitive",
    "evidence",
)
AGENCY_COLUMNS = (
    "code",
    "party",
    "name_zh",
    "name_en",
    "territorial",
    "has_field_units",
    "duties_zh",
    "duties_en",
    "kinds",
)


#: The reference data set the taxonomy files make (a row of ``reference_data``).
TAXONOMY = "taxonomy"


def taxonomy_version() -> str:
    """The SHA-256 of agencies.yaml and violation_types.yaml as they are on disk."""
    digest = hashlib.sha256()
    for path in (AGENCIES_PATH, VIOLATION_TYPES_PATH):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_reference_data(conn: Connection) -> dict[str, int] | None:
    """Bring the taxonomy in the database to the files (see the module docstring): the counts
    of :func:`sync_taxonomy` when it loaded them, None when they were current already."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('shudi.reference_data'))"))
    stored = conn.execute(
        text("SELECT sha256 FROM reference_data WHERE name = :n"), {"n": TAXONOMY}
    ).scalar_one_or_none()
    if stored == taxonomy_version():
        return None
    clear_caches()  # read the files as they are now
    return sync_taxonomy(conn)


def sync_taxonomy(conn: Connection) -> dict[str, int]:
    """Load agencies.yaml and violation_types.yaml into the database (upsert, retire) and
    record their version."""
    version = taxonomy_version()
    agencies = [a.model_dump(mode="json") for a in load_agencies()]
    types = [t.model_dump(mode="json") for t in load_violation_types()]
    conn.execute(
        UPSERT_AGENCY,
        [{k: a.get(k) for k in AGENCY_COLUMNS} | {"kinds": a.get("kinds") or []} for a in agencies],
    )
    conn.execute(
        UPSERT_TYPE,
        [
            {k: t.get(k) for k in TYPE_COLUMNS} | {"participants": t.get("participants") or []}
            for t in types
        ],
    )
    retired = conn.execute(
        text("UPDATE violation_type SET active = false WHERE active AND NOT code = ANY(:codes)"),
        {"codes": [t["code"] for t in types]},
    ).rowcount
    counts = {"agencies": len(agencies), "types": len(types), "retired": retired}
    conn.execute(
        text("""INSERT INTO reference_data (name, sha256, counts) VALUES (:n, :s, :c)
                ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256,
                    counts = EXCLUDED.counts, loaded_at = now()
                WHERE (reference_data.sha256, reference_data.counts)
                      IS DISTINCT FROM (EXCLUDED.sha256, EXCLUDED.counts)""").bindparams(
            bindparam("c", type_=JSONB)
        ),
        {"n": TAXONOMY, "s": version, "c": counts},
    )
    return counts


def list_agencies(conn: Connection) -> list[dict[str, Any]]:
    """Every party of the mechanism, in the order of the text."""
    rows = conn.execute(
        text(f"SELECT {', '.join(AGENCY_COLUMNS)} FROM agency ORDER BY party NULLS LAST, code")
    )
    return [dict(r) for r in rows.mappings()]


def agencies_by_code(conn: Connection) -> dict[str, SimpleNamespace]:
    """Agencies as attribute objects keyed by code (what routing reads)."""
    out = {}
    for a in list_agencies(conn):
        a["kinds"] = [SimpleNamespace(**k) for k in a["kinds"] or []]
        out[a["code"]] = SimpleNamespace(**a)
    return out


#: Agencies per database, keyed by the state of the ``agency`` table (row count and the sum of
#: the rows' ``xmin``: any upsert or delete changes it, including uncommitted ones of the
#: reading transaction). Routing reads them for every report; they change only on a taxonomy
#: sync.
_agency_cache: OrderedDict[tuple[int, str], dict[str, SimpleNamespace]] = OrderedDict()
_agency_lock = threading.Lock()
AGENCY_CACHE_SIZE = 8

TYPE_AND_AGENCY_STATE = text(f"""
SELECT {", ".join("t." + c for c in TYPE_COLUMNS)},
       (SELECT oid FROM pg_database WHERE datname = current_database()) AS db,
       (SELECT count(*) || ':' || COALESCE(sum(xmin::text::bigint), 0) FROM agency)
         AS agency_state
FROM (SELECT 1) one LEFT JOIN violation_type t ON t.code = :c AND t.active
""")


def type_and_agencies(
    conn: Connection, *, code: str, reportable_only: bool = False
) -> tuple[SimpleNamespace, dict[str, SimpleNamespace]]:
    """One active type and every agency (what routing reads), in one round trip when cached."""
    row = conn.execute(TYPE_AND_AGENCY_STATE, {"c": code}).mappings().one()
    if row["code"] is None or (reportable_only and not row["reportable"]):
        raise UnknownViolationType(
            f"unknown violation type {code!r}; see GET /api/v1/violation-types", type=code
        )
    key = (row["db"], row["agency_state"])
    with _agency_lock:
        agencies = _agency_cache.get(key)
        if agencies is not None:
            _agency_cache.move_to_end(key)
    if agencies is None:
        agencies = agencies_by_code(conn)
        with _agency_lock:
            _agency_cache[key] = agencies
            while len(_agency_cache) > AGENCY_CACHE_SIZE:
                _agency_cache.popitem(last=False)
    return SimpleNamespace(**{c: row[c] for c in TYPE_COLUMNS}), agencies


def list_types(
    conn: Connection,
    *,
    reportable: bool | None = None,
    agency: str | None = None,
    scope: str | None = None,
    q: str | None = None,
) -> list[dict[str, Any]]:
    """Active violation types, filtered; ``q`` matches names and keywords."""
    sql = f"""SELECT {", ".join(TYPE_COLUMNS)} FROM violation_type
              WHERE active
                AND (CAST(:rep AS boolean) IS NULL OR reportable = CAST(:rep AS boolean))
                AND (CAST(:agency AS text) IS NULL OR agency = CAST(:agency AS text))
                AND (CAST(:scope AS text) IS NULL OR scope = CAST(:scope AS text))
                AND (CAST(:q AS text) IS NULL OR name_zh ILIKE '%' || :q || '%'
                     OR name_en ILIKE '%' || :q || '%' OR code ILIKE '%' || :q || '%'
                     OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(keywords) k
                                WHERE k ILIKE '%' || :q || '%' OR :q ILIKE '%' || k || '%'))
              ORDER BY scope, agency, code"""
    rows = conn.execute(
        text(sql), {"rep": reportable, "agency": agency, "scope": scope, "q": q or None}
    )
    return [dict(r) for r in rows.mappings()]


def search_types(
    conn: Connection,
    *,
    q: str | None = None,
    audience: str = "resident",
    reportable: bool | None = None,
    agency: str | None = None,
    scope: str | None = None,
) -> list[dict[str, Any]]:
    """Active types with their plain names, categories and urgent calls; with ``q``, only the
    matching ones, best first (:func:`jurisdictions.resident.rank`: residents are never offered
    mediation types or non-reportable duties; ``audience="staff"`` sees every type)."""
    from jurisdictions import resident

    if audience not in ("resident", "staff"):
        raise InvalidQuery(f"audience must be resident or staff, not {audience!r}")
    if q and "\x00" in q:  # as the database would refuse it (api/error_responses.py: invalid input)
        raise ValueError("q: a string literal cannot contain NUL (0x00) characters")
    found = list_types(conn, reportable=reportable, agency=agency, scope=scope)
    if q and q.strip():
        found = resident.rank(found, q, audience="staff" if audience == "staff" else "resident")
    return [resident.annotate(t) for t in found]


def resident_types(
    conn: Connection, *, audience: Literal["resident", "staff"] = "resident"
) -> list[dict[str, Any]]:
    """The types offered on the report page, annotated, in category order: to residents no
    mediation and no duties; to staff filing from the field every reportable type."""
    from jurisdictions import resident

    types = list_types(conn, reportable=True) if audience == "staff" else list_types(conn)
    return [resident.annotate(t) for t in resident.rank(types, "", audience=audience)]


def get_type(conn: Connection, *, code: str, reportable_only: bool = False) -> SimpleNamespace:
    """One active type as an attribute object, or :class:`UnknownViolationType`."""
    row = (
        conn.execute(
            text(
                f"SELECT {', '.join(TYPE_COLUMNS)} FROM violation_type WHERE code = :c AND active"
            ),
            {"c": code},
        )
        .mappings()
        .first()
    )
    if row is None or (reportable_only and not row["reportable"]):
        raise UnknownViolationType(
            f"unknown violation type {code!r}; see GET /api/v1/violation-types", type=code
        )
    return SimpleNamespace(**row)
