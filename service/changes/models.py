"""The queue of changes that may make a household and a unit newly suitable for each other."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class SuitabilityChange(Base):
    """A unit or a referral that changed; written in the change's own transaction, read by the alerts job."""

    __tablename__ = "suitability_change"
    __table_args__ = (
        CheckConstraint("(unit_id IS NULL) <> (referral_id IS NULL)", name="one_record"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
