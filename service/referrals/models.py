"""Referrals: a household that needs safe accommodation, as registered by a housing options officer."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, synonym

from service.db import Base, str_enum


class ReferralStatus(enum.StrEnum):
    OPEN = "open"
    PLACED = "placed"
    CLOSED = "closed"


class Risk(enum.StrEnum):
    STANDARD = "standard"
    MEDIUM = "medium"
    HIGH = "high"


class Referral(Base):
    """What matching and statutory reporting need, and nothing more (no names, no contact details)."""

    __tablename__ = "referral"
    __table_args__ = (Index("ix_referral_open", "authority_code", postgresql_where="status = 'open'"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_code: Mapped[str] = mapped_column(ForeignKey("authority.code"), index=True)
    authority: Mapped[str] = synonym("authority_code")  # its name in the API
    created_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    status: Mapped[ReferralStatus] = mapped_column(str_enum(ReferralStatus))
    risk: Mapped[Risk] = mapped_column(str_enum(Risk))
    marac: Mapped[bool]
    referred_on: Mapped[date]
    needed_by: Mapped[date | None]
    # CONTRACT section 3 parts, kept as documents: adults, children / needs / safety / preferences.
    household: Mapped[dict[str, Any]] = mapped_column(JSONB)
    needs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    safety: Mapped[dict[str, Any]] = mapped_column(JSONB)
    preferences: Mapped[dict[str, Any]] = mapped_column(JSONB)
    equality: Mapped[dict[str, Any]] = mapped_column(JSONB, comment="equality monitoring for the annual return")
    outcome: Mapped[str | None] = mapped_column(String(20))
    close_reason: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None]
    pseudonymised_at: Mapped[datetime | None]
    # Raised by every change; PATCH needs If-Match with the version the officer last read.
    version: Mapped[int] = mapped_column(server_default="1")
    # How the household reached support: an officer's referral, or recorded by the provider that
    # took it in (Helpline, another agency, self-referral, another council by phone).
    source: Mapped[str] = mapped_column(String(20), default="officer", server_default="officer")
    recorded_by_provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    @property
    def adults(self) -> list[dict[str, Any]]:
        return list(self.household.get("adults", []))

    @property
    def children(self) -> list[dict[str, Any]]:
        return list(self.household.get("children", []))
