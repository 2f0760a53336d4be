"""The typed case of the service layer: :class:`CaseRecord` is what the workflow reads (one
row of :data:`incidents.queries.CASE_FIELDS`), :class:`CaseChanges` what an action's effect may
set on it (the columns the one writer, :func:`incidents.store.update_case`, is handed), and
:data:`EventData` the free-form JSON kept on the action's event.

A record is also a read-only ``Mapping`` of its columns, so that the readers written against a
mapping (``access``, ``disclosure``, ``case_photos``, ``evidence``, the workflow's conditions)
take it as they take the rows of listings; code in the service layer reads its attributes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, text

from incidents.exceptions import CaseNotFound
from incidents.queries import CASE_FIELDS, TYPED_CASE_ROWS

#: The JSON an action keeps on its event (``case_event.data``): free-form by design.
EventData = dict[str, Any]


@dataclass(frozen=True)
class CaseRecord(Mapping[str, Any]):
    """One case as the staff's case views read it: the shown columns of ``case_file``, its
    type's name and whether it is overdue. Columns added to the table later and not (yet)
    typed here are kept in ``extra`` and still read by key."""

    id: int
    tracking_code: str
    type_code: str
    scope: str
    urgency: str
    status: str
    channel: str
    description: str
    address_text: str
    input_crs: str
    lon: float
    lat: float
    town_code: str | None
    community_code: str | None
    property_area_code: str | None
    property_company: str | None
    agency_units: dict[str, str]
    handler_party: str
    handler_unit_code: str | None
    handler_name: str
    routing: dict[str, Any]
    generations: Any  # JSONB: the generations the place was resolved in
    created_at: datetime
    updated_at: datetime
    version: int
    respond_due_at: datetime | None
    stop_due_at: datetime | None
    due_at: datetime | None
    deadline_basis: str
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    outcome_note: str
    rejection_reason: str
    merged_into: int | None
    satisfaction: str | None
    hidden: bool
    type_name: str
    overdue: bool
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> CaseRecord:
        """The record of one row of ``CASE_FIELDS``."""
        typed = {k: row[k] for k in TYPED if k in row}
        return cls(**typed, extra={k: v for k, v in row.items() if k not in TYPED})

    def as_dict(self) -> dict[str, Any]:
        """The columns as a new dict (the case's JSON answer is built on it)."""
        return {k: getattr(self, k) for k in TYPED} | dict(self.extra)

    def __getitem__(self, key: str) -> Any:
        if key in TYPED:
            return getattr(self, key)
        return self.extra[key]

    def __iter__(self) -> Iterator[str]:
        yield from TYPED
        yield from self.extra

    def __len__(self) -> int:
        return len(TYPED) + len(self.extra)


#: The typed columns, in the table's order.
TYPED: tuple[str, ...] = tuple(f.name for f in fields(CaseRecord) if f.name != "extra")


class CaseChanges(TypedDict, total=False):
    """The columns a workflow effect may set (mypy holds every effect to these names and
    types; the service adds ``status`` from the workflow table)."""

    status: str
    hidden: bool
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    rejection_reason: str
    handler_party: str
    handler_unit_code: str | None
    handler_name: str
    routing: dict[str, Any]
    outcome: str | None
    outcome_note: str
    due_at: datetime | None
    merged_into: int
    satisfaction: str
    lon: float
    lat: float
    town_code: str | None
    community_code: str | None
    property_area_code: str | None
    property_company: str | None
    agency_units: dict[str, str]
    generations: Any  # JSONB: the generations the place was resolved in
    type_code: str
    scope: str
    input_crs: str


#: Every column an effect may set (the writer's guard against an effect outside the table).
WRITABLE = frozenset(CaseChanges.__annotations__)


def read_case(
    conn: Connection,
    *,
    case_id: int,
    where: str = "TRUE",
    params: Mapping[str, Any] | None = None,
    lock: bool = False,
) -> CaseRecord:
    """Case ``case_id`` as a record, when ``where`` (a visibility condition on ``c``) admits
    it; locked for the transaction with ``lock``. :class:`CaseNotFound` otherwise."""
    row = (
        conn.execute(
            text(f"""SELECT {CASE_FIELDS} FROM {TYPED_CASE_ROWS}
                 WHERE c.id = :id AND {where} {"FOR UPDATE OF c" if lock else ""}"""),
            {"id": case_id, **(params or {})},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    return CaseRecord.from_row(row)
