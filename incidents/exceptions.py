"""Errors of the incidents domain; the API maps each to one status."""

from __future__ import annotations

from shudi.exceptions import DomainError


class CaseNotFound(DomainError):
    """No such case, or not one this principal may see (the same answer, on purpose)."""

    code = "case_not_found"


class InvalidTransition(DomainError):
    """The action is not allowed from the case's status (details list the allowed ones)."""

    code = "invalid_transition"


class TransitionForbidden(DomainError):
    """The principal may not take this action on this case."""

    code = "forbidden"


class MissingField(DomainError):
    """An action lacks a required field."""

    code = "missing_field"


class VersionMismatch(DomainError):
    """If-Match names an older version of the case."""

    code = "version_mismatch"


class PreconditionRequired(DomainError):
    """A change without If-Match."""

    code = "precondition_required"


class IdempotencyKeyMissing(DomainError):
    """A report without an Idempotency-Key header."""

    code = "idempotency_key_missing"


class IdempotencyKeyReused(DomainError):
    """The same Idempotency-Key with a different request body."""

    code = "idempotency_key_reused"


class IdempotencyKeyInFlight(DomainError):
    """A request with this Idempotency-Key is still being processed."""

    code = "idempotency_key_in_flight"


class InvalidReport(DomainError):
    """A report that cannot be accepted as given (type, text, photos)."""

    code = "invalid_report"


class HistoryImportRejected(DomainError):
    """A history file that cannot be imported (unreadable, missing columns, a bad row with
    ``--strict``); nothing is stored."""

    code = "history_import_rejected"


class InvalidSince(DomainError):
    """A feed's ``since`` that is neither an answer's cursor nor a time with its offset."""

    code = "invalid_since"


class TaskNotFound(DomainError):
    """No such task in the principal's work list (the same answer for another unit's task)."""

    code = "task_not_found"


class NotYourPlace(DomainError):
    """A staff report from outside the reporter's own estate or community."""

    code = "not_your_place"


class InvalidExportFilter(DomainError):
    """An export asked for with a filter that cannot hold (unknown status, from after to)."""

    code = "invalid_filter"


class EvidenceRequired(DomainError):
    """Resolving a case of a type marked ``evidence`` without its before and after photos."""

    code = "evidence_required"


class FollowupNotOpen(DomainError):
    """A survey answer or return visit for a case that is not (or no longer) resolved."""

    code = "followup_not_open"


class ExclusionNotFound(DomainError):
    """No such rating exclusion (or none this reviewer may decide)."""

    code = "exclusion_not_found"


class TooFarToReportIn(DomainError):
    """A called unit confirming its arrival from too far from the case's place (or with a
    position too vague to tell); the details carry the distance or accuracy and the tolerance."""

    code = "too_far_to_report_in"


class AreaNotFound(DomainError):
    """No town, community or estate with that code (an area feed)."""

    code = "area_not_found"
