"""HTTP for proposals, match runs and what-if solves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio
from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from msgspec import Struct

from service.auth import PathId, allow
from service.caller import Caller, Role
from service.errors import Busy
from service.matching import service
from service.matching.service import RETRY_AFTER_BUSY, SolveGate


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


T = TypeVar("T")


class Shed(Struct):
    """A refusal for load (RFC 9457 problem details); the Retry-After header says when to try again."""

    status: int
    title: str
    detail: str


SHED_RESPONSES = {
    429: ResponseSpec(Shed, description="this key already has as many solves running as it may; see Retry-After",
                      generate_examples=False, media_type="application/problem+json"),
    503: ResponseSpec(Shed, description="the service is at its limit of solves; see Retry-After",
                      generate_examples=False, media_type="application/problem+json"),
}
SOLVE_BODY_MAX_BYTES = 8 * 1024 * 1024  # a match problem of 10,000 units is about 5 MB


async def _while_connected(request: Request[Any, Any, Any], work: Callable[[], Awaitable[T]]) -> T:
    """Run `work`; if the client goes away first, cancel it (a solve's worker process is killed)."""
    outcome: list[T] = []
    failed: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            # the body has been read: the next message is the disconnect, whenever it comes
            while (await request.receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch)
        try:
            outcome.append(await work())
        except Exception as error:  # raised here, not as a group of one
            failed.append(error)
        group.cancel_scope.cancel()
    if failed:
        raise failed[0]
    if not outcome:
        raise Busy("the client went away; the solve was stopped", RETRY_AFTER_BUSY)
    return outcome[0]


def _gate(state: State) -> SolveGate:
    gate: SolveGate = state.solve_gate
    return gate


class MatchingController(Controller):
    path = "/api/v1"
    tags = ["matching"]

    @post("/referrals/{referral_id:int}/proposals", guards=[allow(Role.OFFICER)], status_code=200)
    async def proposals(self, caller: Caller, state: State, referral_id: PathId) -> Proposals:
        """Ranked feasible units for one referral, with reasons, and how many units each hard rule excluded."""
        found = await service.proposals(state.session_maker, caller, referral_id, state.settings.stale_after)
        return Proposals(items=[Proposal(**item) for item in found["items"]], excluded=found["excluded"],
                         units_considered=found["units_considered"])

    @post("/match-runs", guards=[allow(Role.OFFICER, Role.ADMIN)], status_code=201,
          responses=SHED_RESPONSES)
    async def match_run(self, request: Request[Any, Any, Any], caller: Caller, state: State) -> MatchRunOut:
        """Optimal proposals over all open referrals of the officer's authority and all available units.

        The solve has the deployment's time limit; 429 when this key already has a solve running, 503
        when the service is at its limit of solves (both with Retry-After).
        """
        limits = service.SolveLimits.from_settings(state.settings)
        with _gate(state).admit(caller.key_id):
            run = await _while_connected(request, lambda: service.match_run(
                state.session_maker, caller, state.settings.stale_after, limits, state.settings.match_threads))
        return MatchRunOut(id=run.id, **run.result)

    @post("/optimiser/solve", guards=[allow(Role.OFFICER, Role.COMMISSIONER, Role.ADMIN)], status_code=200,
          request_max_body_size=SOLVE_BODY_MAX_BYTES, responses=SHED_RESPONSES)
    async def solve(
        self,
        request: Request[Any, Any, Any],
        caller: Caller,
        state: State,
        data: dict[str, Any],
        strategy: Annotated[Literal["optimal", "greedy"], QueryParameter()] = "optimal",
        time_limit: Annotated[float | None, QueryParameter(
            gt=0, description="seconds; lowers the deployment's limit (default and maximum 30 s), never raises it",
        )] = None,
    ) -> dict[str, Any]:
        """A match problem (CONTRACT section 3) in, its result out; nothing is stored.

        Every solve has a time limit (the lower of `time_limit` and the deployment's maximum); when it
        runs out the best separated answer found is returned with status "feasible". 422 naming the
        limit when the problem is larger than the service takes (referrals x units, feasible_pairs);
        429 when this key already has a solve running, 503 when the service is at its limit of solves.
        """
        limits = service.SolveLimits.from_settings(state.settings)
        with _gate(state).admit(caller.key_id):
            return await _while_connected(request, lambda: service.solve_what_if(
                data, strategy, time_limit, limits, state.settings.match_threads))
