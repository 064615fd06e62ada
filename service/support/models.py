"""Requests for a place that a provider could not meet: counts and a reason, nothing that identifies anyone."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class UnmetRequest(Base):
    """A household that asked a provider for support in the area and could not be supported, and why."""

    __tablename__ = "unmet_request"
    __table_args__ = (
        CheckConstraint("adults >= 1 AND children >= 0", name="household_counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id", ondelete="CASCADE"), index=True)
    authority_code: Mapped[str] = mapped_column(ForeignKey("authority.code"), index=True,
                                                comment="the area where support was asked for")
    requested_on: Mapped[date]
    reason: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(20))
    adults: Mapped[int]
    children: Mapped[int]
    created_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
