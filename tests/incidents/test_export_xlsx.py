"""The Excel export's cells, worked out by hand for two rows, and the streamed sheet writer held
to openpyxl's own write-only sheet on awkward values."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import IllegalCharacterError

from incidents.export import COLUMNS, write_xlsx
from incidents.xlsx_sheet import write_sheet

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


AWKWARD: list[list[Any]] = [
    ["plain", "", None, " lead", "trail ", "a\nb", "tab\tin", "<&>\"'", "#N/A", "#DIV/0!"],
    ["'=1+1", "emoji 😀 中文", "x" * 40_000, 0, -3, 1.5, 2**53 + 1, math.nan, math.inf, True],
    [1e-300, 123456789.123456789, -0.0, False, "\u3000全角空格\u3000", "=", "#", "\n", "a" * 3],
    list(range(30)),  # past column Z
]


def _read(path: Path) -> list[list[tuple[Any, str]]]:
    sheet = load_workbook(path)["s"]
    return [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()]


def test_same_cells_as_openpyxl_write_only(tmp_path: Path) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("s")
    for row in AWKWARD:
        ws.append(row)
    wb.save(tmp_path / "openpyxl.xlsx")
    assert write_sheet(tmp_path / "ours.xlsx", title="s", rows=iter(AWKWARD)) == len(AWKWARD)
    theirs, ours = _read(tmp_path / "openpyxl.xlsx"), _read(tmp_path / "ours.xlsx")
    assert len(ours) == len(theirs) == len(AWKWARD)
    for mine, expected in zip(ours, theirs, strict=True):
        assert [v for v, _ in mine] == [v for v, _ in expected]  # NaN: both empty (None)
        assert [t for _, t in mine] == [t for _, t in expected]
    with (
        zipfile.ZipFile(tmp_path / "ours.xlsx") as a,
        zipfile.ZipFile(tmp_path / "openpyxl.xlsx") as b,
    ):
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            if name not in ("xl/worksheets/sheet1.xml", "docProps/core.xml"):  # core: timestamps
                assert a.read(name) == b.read(name), name


def test_carriage_returns_are_kept(tmp_path: Path) -> None:
    """A CR is written as a character reference, so it reads back as written (openpyxl keeps it
    so when it writes with lxml; its pure-Python writer lets the XML reader turn it into LF)."""
    write_sheet(tmp_path / "cr.xlsx", title="s", rows=iter([["a\r\nb", "\r"]]))
    assert [v for v, _ in _read(tmp_path / "cr.xlsx")[0]] == ["a\r\nb", "\r"]


def test_control_characters_are_refused_as_openpyxl_refuses_them(tmp_path: Path) -> None:
    bad = [["ok", "bell\x07here"]]
    ws = Workbook(write_only=True).create_sheet("s")
    with pytest.raises(IllegalCharacterError):
        ws.append(bad[0])
    with pytest.raises(IllegalCharacterError):
        write_sheet(tmp_path / "bad.xlsx", title="s", rows=iter(bad))
