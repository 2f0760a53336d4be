"""Errors of the audit domain."""

from __future__ import annotations

from shudi.exceptions import DomainError


class AuditChainBroken(DomainError):
    """A sealed row of the audit log was altered or removed (``seq`` names the first)."""

    code = "audit_chain_broken"

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"audit log broken at seq {seq}: {reason}", seq=seq)
        self.seq = seq


class InvalidHead(DomainError):
    """A recorded chain head is not of the form ``SEQ:HEXHASH``."""

    code = "invalid_audit_head"


class AppRoleMissing(DomainError):
    """The application's database role was not created (the migrating user could not)."""

    code = "app_role_missing"


class UnauditedEvent(DomainError):
    """A case event has no audit entry (it was written with the audit trigger off)."""

    code = "unaudited_event"
