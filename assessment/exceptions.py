"""Errors of the assessment (each mapped to one HTTP status in api/error_responses.py)."""

from shudi.exceptions import DomainError


class AssessmentError(DomainError):
    """Base of the assessment's errors."""

    code = "invalid_assessment_request"


class InvalidPeriod(AssessmentError):
    """The period is empty, reversed or too long."""

    code = "invalid_period"


class UnknownFigure(AssessmentError):
    """No figure, unit kind or format of that name."""

    code = "unknown_figure"
