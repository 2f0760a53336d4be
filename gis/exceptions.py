"""Exceptions raised by the :mod:`gis` package.

Every error a user can fix (a bad file, a wrong option) derives from :class:`GisError`, so a
command-line front end can catch that one class and print the message as a single line.
"""

from __future__ import annotations


class GisError(Exception):
    """Base class of all expected, user-fixable errors raised by :mod:`gis`.

    Examples
    --------
    >>> try:
    ...     raise GisError("something is wrong with the boundaries")
    ... except GisError as exc:
    ...     print(exc)
    something is wrong with the boundaries
    """


class BoundaryFileError(GisError):
    """A boundary file cannot be used: unreadable, wrong fields or an unusable CRS.

    The message is one human-readable line that names the file and, where possible, says what
    to do (for example ``pass --src-crs``).

    Examples
    --------
    >>> err = BoundaryFileError("towns.shp has no CRS; pass --src-crs")
    >>> isinstance(err, GisError)
    True
    >>> str(err)
    'towns.shp has no CRS; pass --src-crs'
    """
