"""API keys: stored as SHA-256 digests, each with one role and its scope."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from service.caller import Role
from service.db import Base, str_enum

__all__ = ["ApiKey", "Role"]


class ApiKey(Base):
    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint("role <> 'officer' OR authority_code IS NOT NULL", name="officer_has_authority"),
        CheckConstraint("role <> 'provider' OR provider_id IS NOT NULL", name="provider_has_provider"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(
        str_enum(Role)
    )
    authority_code: Mapped[str | None] = mapped_column(ForeignKey("authority.code"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="sha256 hex of the key")
    prefix: Mapped[str] = mapped_column(String(12), comment="first characters, to recognise a key")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None]
    # Optional end of life set at creation; the key gets 401 from then on.
    expires_at: Mapped[datetime | None]
    # Refreshed at most once a minute per key (a write per request would cost every request).
    last_used_at: Mapped[datetime | None]
