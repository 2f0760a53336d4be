"""The typed case record stays the case table's shape: every column a case view shows is a
typed field (so the workflow reads attributes, never a guessed key), and every column a
workflow effect may set is a case column."""

from __future__ import annotations

import pytest

from incidents.case_record import TYPED, WRITABLE, CaseRecord
from incidents.queries import UNSHOWN
from incidents.store import CASE


def test_every_shown_column_is_a_typed_field() -> None:
    shown = [c.name for c in CASE.c if c.name not in UNSHOWN]
    assert [name for name in TYPED if name in shown] == shown  # same order as the table
    assert set(TYPED) - set(shown) == {"type_name", "overdue"}  # the two the query adds


def test_effects_set_only_case_columns() -> None:
    assert {c.name for c in CASE.c} >= WRITABLE
    assert not WRITABLE & {"id", "version", "created_at", "updated_at", "tracking_code"}


def test_a_record_reads_as_its_row() -> None:
    row = {name: None for name in TYPED} | {"id": 7, "status": "reported", "later": 1}
    record = CaseRecord.from_row(row)
    assert record.id == 7 and record["status"] == "reported" and record.get("later") == 1
    assert dict(record) == row == record.as_dict()
    with pytest.raises(KeyError):
        record["no_such_column"]
