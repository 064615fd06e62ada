"""Pairs of a household and a unit that the service has announced as suitable (`vacancy.suitable`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class VacancyAlert(Base):
    """One row per announced pair: the primary key, not Python, makes each pair announced once."""

    __tablename__ = "vacancy_alert"

    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True, index=True)
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
