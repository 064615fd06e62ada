"""Daily snapshots of the stock, the base of the occupancy report."""

from __future__ import annotations

from datetime import date

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class OccupancySnapshot(Base):
    """Units and bed spaces by authority, accommodation type and status, as they stood on one day."""

    __tablename__ = "occupancy_snapshot"

    snapshot_on: Mapped[date] = mapped_column(primary_key=True)
    authority_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    type: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    units: Mapped[int]
    bedspaces: Mapped[int]
