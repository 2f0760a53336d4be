"""ORM models of users, their bearer tokens and Open311 API keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from shudi.orm import Base


class Role(StrEnum):
    """What a user is; each role sees and changes only its own cases."""

    dispatcher = "dispatcher"
    agency_officer = "agency_officer"
    town_coordinator = "town_coordinator"
    community_worker = "community_worker"
    property_company = "property_company"
    planner = "planner"
    admin = "admin"


class AppUser(Base):
    """A staff account (residents are anonymous and use tracking codes)."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    agency: Mapped[str | None] = mapped_column(ForeignKey("agency.code"))
    agency_unit: Mapped[str | None] = mapped_column(String(64))
    town_code: Mapped[str | None] = mapped_column(String(64))
    community_code: Mapped[str | None] = mapped_column(String(64))
    company: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint(
            "role IN ('dispatcher', 'agency_officer', 'town_coordinator', 'community_worker', "
            "'property_company', 'planner', 'admin')",
            name="role",
        ),
        CheckConstraint("role <> 'agency_officer' OR agency IS NOT NULL", name="officer_agency"),
        CheckConstraint("role <> 'town_coordinator' OR town_code IS NOT NULL", name="town"),
        CheckConstraint(
            "role <> 'community_worker' OR community_code IS NOT NULL", name="community"
        ),
        CheckConstraint("role <> 'property_company' OR company IS NOT NULL", name="company"),
    )


class AuthToken(Base):
    """A short-lived bearer token (only its SHA-256 is stored)."""

    __tablename__ = "auth_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (Index("ix_auth_token_expires", "expires_at"),)


class ApiKey(Base):
    """An Open311 client's key (only its SHA-256 is stored)."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class LoginFailure(Base):
    """One failed log-in (the user name as typed and the client's address), for throttling."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(Text, nullable=False)
    address: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        Index("ix_login_failure_username_at", "username", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )
