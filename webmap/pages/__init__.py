"""The public pages: report a problem, follow a case, who is responsible where.

Each ``render_*`` takes plain data (handed in by ``api/pages.py``, which calls the services) and
returns an HTML string; webmap never opens a database session. Scripts and the stylesheet are
files under ``webmap/pages/static``, served at ``/static/pages``.
"""

from pathlib import Path

from webmap.pages.common import lang_of
from webmap.pages.directory import render_directory
from webmap.pages.report_form import render_report
from webmap.pages.track import render_track, render_track_lookup

STATIC_DIR = Path(__file__).resolve().parent / "static"

__all__ = [
    "STATIC_DIR",
    "lang_of",
    "render_directory",
    "render_report",
    "render_track",
    "render_track_lookup",
]
