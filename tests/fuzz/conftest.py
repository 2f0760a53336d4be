"""The fuzz tests share their machinery with ``reliability/fuzz.py`` (the repository root is not
on the test path otherwise: only installed packages and ``tests/``)."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.append(ROOT)
