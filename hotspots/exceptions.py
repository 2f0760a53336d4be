"""Errors of the hot-spot domain; the API maps each to one status."""

from __future__ import annotations

from shudi.exceptions import DomainError


class InvalidHotspotQuery(DomainError):
    """The parameters cannot be analysed as asked (bad grid, too few cells or time bins)."""

    code = "invalid_hotspot_query"


class NotEnoughData(DomainError):
    """The filters leave too few cases or cells for the statistic."""

    code = "not_enough_data"


class AnalysisTooLarge(InvalidHotspotQuery):
    """The analysis asked for would need more work or memory than one request may use."""

    code = "analysis_too_large"


class AnalysisUnavailable(DomainError):
    """The analysis worker stopped or ran out of time; the pool was rebuilt (retry later)."""

    code = "analysis_unavailable"
