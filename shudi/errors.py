"""Errors of the plumbing package."""


class ShudiError(Exception):
    """Base of every error the CLI reports as one line."""


class EmbeddedDatabaseError(ShudiError):
    """The embedded cluster cannot be created, started or reached."""


class UnsafeDatabaseError(ShudiError):
    """The database runs with settings that can lose acknowledged writes."""
