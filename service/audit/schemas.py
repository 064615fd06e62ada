"""Response types of the audit trail (CONTRACT section 7)."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct


class AuditEntry(Struct):
    """One thing done, or refused, to a record: when, with which key, and the outcome ("ok" or "denied")."""

    at: datetime
    key_id: int | None
    key_name: str | None
    role: str | None
    action: str
    record_type: str
    record_id: str
    outcome: str
