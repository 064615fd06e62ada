"""Every table of the service, imported once so the metadata is complete (Alembic, tests)."""

from service.access.models import ApiKey
from service.audit.models import AuditEvent
from service.db import Base
from service.idempotency.models import IdempotencyRecord
from service.inventory.models import Provider, Scheme, Unit
from service.notifications.models import OutboxMessage, Webhook
from service.reference.models import Authority, AuthorityNeighbour, PostcodeDistrict
from service.scheduler import JobRun

metadata = Base.metadata

__all__ = [
    "ApiKey", "AuditEvent", "Authority", "AuthorityNeighbour", "IdempotencyRecord", "JobRun", "OutboxMessage",
    "PostcodeDistrict", "Provider", "Scheme", "Unit", "Webhook", "metadata",
]
