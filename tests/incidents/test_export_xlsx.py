"""The Excel export's cells, worked out by hand for two rows, and the XML writer it relies on
for its speed (openpyxl serialises with lxml when lxml is installed: ~3x faster than its
pure-Python fallback, the same cells)."""

from __future__ import annotations

from pathlib import Path

import openpyxl.xml
from openpyxl import load_workbook

from incidents.export import COLUMNS, write_xlsx

ROWS = [
    ("SD0001", "litter", "reported", "2026-12-01T10:00:00+08:00", "", "120.012", "30.015",
     "wgs84", "=HYPERLINK(1)", "乱扔垃圾", "T1", "C12", "", "urban_management", ""),
    ("SD0002", "litter", "closed", "2026-12-01T11:00:00+08:00", "2026-12-02T09:30:00+08:00",
     "-0.5", "30.0", "wgs84", "-3 楼道 <堆物> & \"杂物\"", "乱扔垃圾", "T2", "C21", "P211",
     "community_committee", "C21"),
]  # fmt: skip


def test_cells_as_written(tmp_path: Path) -> None:
    path = tmp_path / "cases.xlsx"
    assert write_xlsx(iter(ROWS), path) == 2
    sheet = load_workbook(path)["cases"]
    got = [[c.value for c in row] for row in sheet.iter_rows()]
    assert got[0] == list(COLUMNS)
    assert got[1] == ["SD0001", "litter", "reported", "2026-12-01T10:00:00+08:00", None,
                      120.012, 30.015, "wgs84", "'=HYPERLINK(1)", "乱扔垃圾", "T1", "C12",
                      None, "urban_management", None]  # fmt: skip
    assert got[2] == ["SD0002", "litter", "closed", "2026-12-01T11:00:00+08:00",
                      "2026-12-02T09:30:00+08:00", -0.5, 30.0, "wgs84",
                      "'-3 楼道 <堆物> & \"杂物\"", "乱扔垃圾", "T2", "C21", "P211",
                      "community_committee", "C21"]  # fmt: skip
    kinds = [[c.data_type for c in row] for row in sheet.iter_rows(min_row=2)]
    assert all(k[5] == k[6] == "n" for k in kinds)  # lon, lat are numbers
    assert not any(t == "f" for k in kinds for t in k)  # no formulas


def test_openpyxl_writes_with_lxml() -> None:
    assert openpyxl.xml.LXML, "lxml is missing: the xlsx export falls back to a ~3x slower writer"
