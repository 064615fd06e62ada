"""HTTP for proposals, match runs and what-if solves."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, post
from litestar.datastructures import State
from litestar.params import QueryParameter
from msgspec import Struct
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import PathId, allow
from service.caller import Caller, Role
from service.matching import service


class Proposal(Struct):
    unit_id: PathId
    score: float
    reasons: list[str]


class Proposals(Struct):
    items: list[Proposal]
    excluded: dict[str, int]
    units_considered: int


class MatchRunOut(Struct):
    id: int
    status: str
    assignments: list[dict[str, Any]]
    unassigned: list[dict[str, Any]]
    stats: dict[str, Any]


class MatchingController(Controller):
    path = "/api/v1"
    tags = ["matching"]

    @post("/referrals/{referral_id:int}/proposals", guards=[allow(Role.OFFICER)], status_code=200)
    async def proposals(self, session: AsyncSession, caller: Caller, state: State, referral_id: PathId) -> Proposals:
        """Ranked feasible units for one referral, with reasons, and how many units each hard rule excluded."""
        found = await service.proposals(session, caller, referral_id, state.settings.stale_after)
        return Proposals(items=[Proposal(**item) for item in found["items"]], excluded=found["excluded"],
                         units_considered=found["units_considered"])

    @post("/match-runs", guards=[allow(Role.OFFICER, Role.ADMIN)], status_code=201)
    async def match_run(self, session: AsyncSession, caller: Caller, state: State) -> MatchRunOut:
        """Optimal proposals over all open referrals of the officer's authority and all available units."""
        run = await service.match_run(session, caller, state.settings.stale_after, state.settings.match_threads)
        return MatchRunOut(id=run.id, **run.result)

    @post("/optimiser/solve", guards=[allow(Role.OFFICER, Role.COMMISSIONER, Role.ADMIN)], status_code=200)
    async def solve(
        self,
        data: dict[str, Any],
        state: State,
        strategy: Annotated[Literal["optimal", "greedy"], QueryParameter()] = "optimal",
        time_limit: Annotated[float | None, QueryParameter(gt=0, le=60)] = None,
    ) -> dict[str, Any]:
        """A match problem (CONTRACT section 3) in, its result out; nothing is stored."""
        return await service.solve_what_if(data, strategy, time_limit, state.settings.match_threads)
