"""docs/reliability.md as the runner writes it from stored parts, and the fuzz figures' targets."""

from __future__ import annotations

from datetime import UTC, datetime

from benchmarks.common import Result, Section
from benchmarks.record import Run
from reliability.run import fuzz_section, markdown


def test_fuzz_figures_get_the_issue_targets() -> None:
    sec = fuzz_section(
        {
            "operations": 3,
            "cases_per_operation_min": 900,
            "cases_per_operation_target": 1000,
            "failures": 0,
            "server_errors": 2,
            "phone_numbers_where_not_allowed": 0,
            "per_operation": {"GET /healthz": {"cases": 900, "statuses": {"200": 900}}},
            "failure_samples": [],
        }
    )
    status = {r.name: r.status for r in sec.results}
    assert status == {
        "operations": "info",
        "cases per operation min": "FAIL",
        "cases per operation target": "info",
        "failures": "PASS",
        "server errors": "FAIL",
        "phone numbers where not allowed": "PASS",
    }
    assert sec.notes[0].startswith("rule: 0 server errors")  # the rule the figures hold
    assert sec.notes[1:] == [
        'per operation: `GET /healthz` {"cases": 900, "statuses": {"200": 900}}'
    ]


def test_the_document_has_every_part_with_its_date_and_machine() -> None:
    started = datetime(2026, 11, 26, 1, 2, tzinfo=UTC)
    fault = Section("Fault: kill -9", [Result("lost", 0, "reports", "max", target=0)])
    fault.notes.append("8 client threads")
    load = Section("Load: mixes", [Result("highest rate held", 42, "requests/s")])
    doc = markdown(
        [
            Run("fault", started, 1.5, {"CPU": "test CPU"}, fault),
            Run("load", started, 6.0, {"CPU": "test CPU"}, load),
        ]
    )
    assert (
        "| fault: lost | 0.00 reports | ≤ 0.00 reports | **PASS** | 2026-11-26 01:02 UTC |" in doc
    )
    assert "| load: highest rate held | 42.0 requests/s | — | info |" in doc
    assert doc.count("- CPU: test CPU") == 2
    assert "- 8 client threads" in doc
