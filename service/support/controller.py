"""HTTP for support records: arrivals without a referral, sanctuary support, unmet requests, subject access."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import PathId, allow
from service.caller import Caller, Role
from service.support import service
from service.support.schemas import (
    ArrivalIn,
    ArrivalOut,
    SanctuaryIn,
    SanctuaryOut,
    SubjectAccessOut,
    UnmetRequestIn,
    UnmetRequestOut,
)


class SupportController(Controller):
    path = "/api/v1"
    tags = ["support records"]

    @post("/arrivals", guards=[allow(Role.PROVIDER)], status_code=201)
    async def arrival(self, session: AsyncSession, caller: Caller, data: ArrivalIn) -> ArrivalOut:
        """A household that arrived without an officer's referral (Helpline, agency, self, another council by
        phone), placed in one of the provider's units; counted in the return like any other."""
        referral, placement = await service.record_arrival(session, caller, data)
        return ArrivalOut(referral_id=referral.id, placement_id=placement.id, source=referral.source,
                          status=referral.status.value)

    @post("/referrals/{referral_id:int}/sanctuary", guards=[allow(Role.OFFICER)], status_code=201)
    async def sanctuary(self, session: AsyncSession, caller: Caller, referral_id: PathId, data: SanctuaryIn
                        ) -> SanctuaryOut:
        """Sanctuary support in the household's own home, recorded against a sanctuary scheme's unit."""
        placement = await service.record_sanctuary(session, caller, referral_id, data)
        return SanctuaryOut(referral_id=referral_id, placement_id=placement.id)

    @post("/unmet-requests", guards=[allow(Role.PROVIDER)], status_code=201)
    async def unmet_request(self, session: AsyncSession, caller: Caller, data: UnmetRequestIn) -> UnmetRequestOut:
        """A request for a place the provider could not meet: the reason and the household's counts only."""
        row = await service.record_unmet_request(session, caller, data)
        return UnmetRequestOut(id=row.id, provider_id=row.provider_id, authority=row.authority_code,
                               requested_on=row.requested_on, reason=row.reason, source=row.source,
                               adults=row.adults, children=row.children, created_at=row.created_at)

    @get("/referrals/{referral_id:int}/subject-access", guards=[allow(Role.ADMIN)])
    async def subject_access(self, session: AsyncSession, caller: Caller, referral_id: PathId) -> SubjectAccessOut:
        """Everything held about one household, with its audit trail (data protection officer); audited."""
        return msgspec.convert(await service.subject_access(session, caller, referral_id), SubjectAccessOut)
