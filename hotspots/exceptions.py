"""Errors of the hot-spot domain; the API maps each to one status."""

from __future__ import annotations

from shudi.errors import DomainError


class InvalidHotspotQuery(DomainError):
    """The parameters cannot be analysed as asked (bad grid, too few cells or time bins)."""

    code = "invalid_hotspot_query"


class NotEnoughData(DomainError):
    """The filters leave too few cases or cells for the statistic."""

    code = "not_enough_data"
