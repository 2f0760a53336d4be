"""Errors of the plumbing package."""

from typing import Any


class ShudiError(Exception):
    """Base of every error the CLI reports as one line."""


class EmbeddedDatabaseError(ShudiError):
    """The embedded cluster cannot be created, started or reached."""


class UnsafeDatabaseError(ShudiError):
    """The database runs with settings that can lose acknowledged writes."""


class DomainError(ShudiError):
    """Base of the domain packages' errors: a stable machine ``code`` and a human message.

    The API maps each subclass to one HTTP status (``api/error_responses.py``).
    """

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
