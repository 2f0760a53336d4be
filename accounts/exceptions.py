"""Errors of the accounts domain."""

from __future__ import annotations

from shudi.exceptions import DomainError


class AccountError(DomainError):
    """A user cannot be created or changed as asked."""

    code = "invalid_account"


class NotAuthenticated(DomainError):
    """No valid credentials."""

    code = "not_authenticated"


class Forbidden(DomainError):
    """The principal's role may not do this."""

    code = "forbidden"


class LoginThrottled(DomainError):
    """Too many failed log-ins for the account or from the address: wait and retry."""

    code = "login_throttled"


class UserNotFound(DomainError):
    """No user, token or API key of that name or id."""

    code = "not_found"
