"""Offers that hold a unit for a referral, and the placements they become."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, str_enum


class OfferStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Offer(Base):
    __tablename__ = "offer"
    __table_args__ = (
        # The database, not Python, guarantees one live offer per unit and per referral.
        Index("uq_offer_pending_unit", "unit_id", unique=True, postgresql_where=text("status = 'pending'")),
        Index("uq_offer_pending_referral", "referral_id", unique=True, postgresql_where=text("status = 'pending'")),
        Index("ix_offer_expiry", "expires_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    status: Mapped[OfferStatus] = mapped_column(str_enum(OfferStatus))
    created_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(String(40))
    declined_by: Mapped[str | None] = mapped_column(String(20), comment="role that declined")


class Placement(Base):
    __tablename__ = "placement"
    __table_args__ = (
        Index("uq_placement_live_unit", "unit_id", unique=True, postgresql_where=text("ended_on IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offer.id", ondelete="CASCADE"), unique=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    destination: Mapped[str | None] = mapped_column(String(30))
    end_reason: Mapped[str | None] = mapped_column(String(30), comment="why support ended; apart from destination")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Set when, past the retention period after it ended, its dates were coarsened to months.
    pseudonymised_at: Mapped[datetime | None]
