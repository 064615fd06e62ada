"""Dashboard sessions: the SHA-256 digest of a random token, the key that started it, and when it ends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class DashboardSession(Base):
    """One browser's sign-in. Stored in the database so every service process recognises it."""

    __tablename__ = "dashboard_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="sha256 hex of the cookie's token")
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(index=True)
