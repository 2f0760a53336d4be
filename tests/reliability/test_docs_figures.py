"""docs/scaling.md's generated figures (benchmarks/scaling.py) and the load mix's section of
docs/benchmarks.md (benchmarks/loadmix.py) come from the stored results, with run and commit."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks import loadmix, scaling
from benchmarks.common import Result, Section
from benchmarks.record import Run, save


def test_scaling_table_is_replaced_between_its_markers_and_nothing_else(tmp_path: Path) -> None:
    doc = tmp_path / "scaling.md"
    doc.write_text(
        f"# head\n\nprose before\n\n{scaling.BEGIN}\nold | table\n{scaling.END}\n\nafter\n"
    )
    scaling.write(doc)
    text = doc.read_text()
    assert text.startswith("# head\n\nprose before\n\n")
    assert text.endswith(f"{scaling.END}\n\nafter\n")
    assert "old | table" not in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "---" not in ln][1:]
    assert len(rows) == len(scaling.FIGURES)  # one row per figure, found or said missing


def test_scaling_refuses_a_document_without_markers(tmp_path: Path) -> None:
    doc = tmp_path / "scaling.md"
    doc.write_text("# no markers\n")
    with pytest.raises(RuntimeError, match="markers"):
        scaling.write(doc)


def test_the_mix_section_shows_the_stored_run_with_its_commit(tmp_path: Path) -> None:
    sec = Section("Load", [Result("mix p99 at 150/s (0.5× bare)", 180.0, "ms", "max", target=200)])
    sec.notes.append("pool: 1,000 checkouts, mean wait 0.10 ms, 0 waited over 10 ms")
    run = Run(
        "load",
        datetime(2026, 12, 7, 21, 0, tzinfo=UTC),
        3.0,
        {"code measured": "abc1234 (clean)", "load average at start (1/5/15 min)": "0.50"},
        sec,
    )
    text = loadmix.section(save(run, tmp_path))
    assert "code abc1234 (clean)" in text
    assert "| mix p99 at 150/s (0.5× bare) | 180 ms | ≤ 200 ms | PASS |" in text
    assert "- pool: 1,000 checkouts" in text
