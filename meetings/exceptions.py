"""Errors of the joint-meetings domain; the API maps each to one status (api/error_responses.py)."""

from __future__ import annotations

from shudi.exceptions import DomainError


class MeetingNotFound(DomainError):
    """No such meeting, or not one this principal may see (the same answer, on purpose)."""

    code = "meeting_not_found"


class ActionNotFound(DomainError):
    """No such meeting action, or not one this principal may see."""

    code = "meeting_action_not_found"


class UnknownTown(DomainError):
    """The town/street code is not in the active town layer."""

    code = "unknown_town"


class InvalidMeeting(DomainError):
    """A month, date, attendee, decision or action that cannot be accepted as given."""

    code = "invalid_meeting"


class MeetingAlreadyHeld(DomainError):
    """The meeting is recorded already; its agenda and minutes no longer change."""

    code = "meeting_already_held"


class MeetingForbidden(DomainError):
    """The principal's role or town may not do this with meetings."""

    code = "forbidden"


class ActionAlreadyDone(DomainError):
    """The meeting action is marked done already."""

    code = "meeting_action_done"
