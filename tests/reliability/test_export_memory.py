"""The export benchmark's memory figure is the exporting process's own peak, not its parent's.

A child's ``ru_maxrss`` keeps the forking parent's high-water mark across ``exec`` on Linux, so
a big parent made every export read as the parent's size. Here the parent holds 400 MiB and
the children allocate known amounts: the figures must follow the children.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.exports import run_measured

ALLOCATE = """
import sys
size = int(sys.argv[1]) * 1024 * 1024
block = bytearray(size)
for i in range(0, size, 4096):  # touch every page: resident, not merely reserved
    block[i] = 1
"""


def test_the_peak_is_the_child_s_own(tmp_path: Path) -> None:
    (tmp_path / "allocate.py").write_text(ALLOCATE)
    env = os.environ | {"PYTHONPATH": str(tmp_path)}
    parent = bytearray(400 * 1024 * 1024)
    for i in range(0, len(parent), 4096):
        parent[i] = 1
    _, small, code, err = run_measured(["allocate", "0"], env=env)
    assert code == 0, err
    _, big, code, err = run_measured(["allocate", "150"], env=env)
    assert code == 0, err
    del parent
    # an interpreter alone is some 10 MiB, far from the parent's 400
    assert small < 100
    # the 150 MiB block, plus the interpreter, and not the parent's 400 MiB
    assert 150 <= big < 250
    assert big - small > 130


def test_a_failing_command_still_reports_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "fails.py").write_text("import sys\nsys.exit('no such district')\n")
    env = os.environ | {"PYTHONPATH": str(tmp_path)}
    _, peak, code, err = run_measured(["fails"], env=env)
    assert code == 1 and "no such district" in err and peak > 0
