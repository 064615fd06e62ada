"""Every table of the service, imported once so the metadata is complete (Alembic, tests)."""

from service.access.models import ApiKey
from service.alerts.models import VacancyAlert
from service.audit.models import AuditEvent
from service.changes.models import SuitabilityChange
from service.dashboard.models import DashboardSession  # noqa: F401
from service.db import Base
from service.idempotency.models import IdempotencyRecord
from service.inventory.models import Provider, Scheme, Unit
from service.matching.models import MatchRun
from service.notifications.models import OutboxMessage, Webhook
from service.offers.models import Offer, Placement
from service.reference.models import Authority, AuthorityNeighbour, PostcodeDistrict
from service.referrals.models import Referral
from service.reports.models import OccupancySnapshot
from service.scheduler import JobRun
from service.support.models import UnmetRequest

metadata = Base.metadata

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Authority",
    "AuthorityNeighbour",
    "IdempotencyRecord",
    "JobRun",
    "MatchRun",
    "OccupancySnapshot",
    "Offer",
    "OutboxMessage",
    "Placement",
    "PostcodeDistrict",
    "Provider",
    "Referral",
    "Scheme",
    "SuitabilityChange",
    "Unit",
    "UnmetRequest",
    "VacancyAlert",
    "Webhook",
    "metadata",
]
