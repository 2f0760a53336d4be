"""Errors of notifications."""

from __future__ import annotations

from shudi.exceptions import DomainError


class TemplateError(DomainError):
    """A template is missing, malformed or cannot be rendered."""

    code = "template_error"


class ChannelError(DomainError):
    """A channel refused or failed a message: retried later unless ``permanent``."""

    code = "channel_error"

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class ChannelConfigError(DomainError):
    """A channel's settings are malformed."""

    code = "channel_config_error"


class CaseUnknown(DomainError):
    """No case with that id or tracking code (the outbox's answer; the same code, and the same
    404, as the case store's ``CaseNotFound``)."""

    code = "case_not_found"


class MessageNotFound(DomainError):
    """No such message."""

    code = "message_not_found"


class FollowError(DomainError):
    """A follow request names no valid area or address."""

    code = "invalid_follow"


class FollowNotFound(DomainError):
    """No follow with that stop link."""

    code = "follow_not_found"


class DigestError(DomainError):
    """A digest asked for a town that does not exist."""

    code = "invalid_digest"


class UnitContactNotFound(DomainError):
    """No unit duty contact with that id."""

    code = "unit_contact_not_found"


class FollowRateLimited(DomainError):
    """Too many follow requests from one client, for one address or one case or area."""

    code = "follow_rate_limited"


class FollowNotConfirmed(DomainError):
    """A confirmation code that does not match, or a follow already confirmed or gone."""

    code = "follow_confirmation_invalid"
