"""Match runs: an optimal assignment over open referrals and available units, kept with its inputs' summary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class MatchRun(Base):
    __tablename__ = "match_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_code: Mapped[str | None] = mapped_column(ForeignKey("authority.code"), index=True,
                                                      comment="the officer's authority; null for admin runs")
    created_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    status: Mapped[str] = mapped_column(String(20))
    referrals: Mapped[int]
    units: Mapped[int]
    placed: Mapped[int]
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB, comment="summary: ids and counts, no household data")
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, comment="assignments and unassigned with rule codes")
