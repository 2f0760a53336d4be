"""Errors of abuse control."""

from __future__ import annotations

from shudi.exceptions import DomainError


class AbuseError(DomainError):
    """Base of abuse-control errors."""

    code = "abuse_error"


class RateLimited(AbuseError):
    """Too many reports from one client, phone number or map cell in the current window."""

    code = "rate_limited"


class Banned(AbuseError):
    """Reports from this client address or phone number are not accepted."""

    code = "banned"


class InvalidBan(AbuseError):
    """A ban without a valid address or phone number, or without a reason."""

    code = "invalid_ban"


class BanNotFound(AbuseError):
    """No ban with that id."""

    code = "ban_not_found"


class InvalidLimit(AbuseError):
    """A rate-limit setting that is not ``N/PERIOD`` (e.g. ``30/1h``) or ``off``."""

    code = "invalid_limit"
