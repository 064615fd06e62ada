"""Webhooks (where to send which events, and the secret that signs them) and the outbox of messages."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, synonym

from service.db import Base, str_enum


class MessageStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # the last try failed, or the webhook was deleted; kept for the record


class Webhook(Base):
    """A receiver registered by a provider (its offers) or by an authority's officers and commissioners."""

    __tablename__ = "webhook"
    __table_args__ = (
        CheckConstraint("(provider_id IS NULL) <> (authority_code IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    # Stored as given to the owner: the service needs the secret itself to sign each delivery
    # (HMAC), so it cannot keep only a digest as it does for API keys. Wiped when deleted.
    secret: Mapped[str] = mapped_column(String(80))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="CASCADE"), index=True)
    authority_code: Mapped[str | None] = mapped_column(ForeignKey("authority.code"), index=True)
    authority: Mapped[str | None] = synonym("authority_code")  # its name in the API
    created_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class OutboxMessage(Base):
    """One event for one webhook, written in the transaction of the change it announces."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    # Identifiers and statuses only: never a survivor's details, never an address.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus),
        server_default=MessageStatus.PENDING.value,
    )
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    delivered_at: Mapped[datetime | None]
