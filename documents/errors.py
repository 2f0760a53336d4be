"""Errors of document rendering."""

from shudi.errors import ShudiError


class FontMissing(ShudiError):
    """The CJK font the exports embed is not installed."""
