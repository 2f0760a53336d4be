"""Errors of document rendering."""

from shudi.exceptions import ShudiError


class FontMissing(ShudiError):
    """The CJK font the exports embed is not installed."""
