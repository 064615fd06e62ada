"""HTTP for the commissioners' reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit import service as audit
from service.auth import allow
from service.caller import Caller, Role
from service.db import utcnow
from service.reports import service
from service.reports.schemas import AnnualReturn, CapacityPlan, OccupancyReport, UnmetNeedReport

Gss = Annotated[str | None, QueryParameter(pattern=r"^[EWSN]\d{8}$")]
PeriodName = Annotated[str | None, QueryParameter(
    pattern=r"^\d{4}-(Q[1-4]|\d{2})$",
    description="a calendar quarter (2026-Q3) or a financial year (2026-27); start/end widen to one of these",
)]
REPORTERS = allow(Role.COMMISSIONER, Role.ADMIN)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]
    guards = [REPORTERS]

    @get("/occupancy")
    async def occupancy(
        self, session: AsyncSession, caller: Caller, start: date | None = None, end: date | None = None,
        authority: Gss = None, period: PeriodName = None,
    ) -> OccupancyReport:
        """Bed spaces and units by status, occupancy rate, stays and turnover, by authority and type."""
        scope = service.scope_for(caller, authority)
        audit.record(session, caller, "read", "report", f"occupancy/{scope or 'all'}")
        first, last = service.period(start, end, utcnow().date(), period)
        return await service.occupancy(session, scope, first, last)

    @get("/unmet-need")
    async def unmet_need(
        self, session: AsyncSession, caller: Caller, start: date | None = None, end: date | None = None,
        authority: Gss = None, period: PeriodName = None,
    ) -> UnmetNeedReport:
        """Households not placed and offers declined, by reason, risk and protected characteristic."""
        scope = service.scope_for(caller, authority)
        audit.record(session, caller, "read", "report", f"unmet-need/{scope or 'all'}")
        first, last = service.period(start, end, utcnow().date(), period)
        return await service.unmet_need(session, scope, first, last)

    @get("/annual-return", opt={"media_types": ["text/csv", XLSX]})
    async def annual_return(
        self, session: AsyncSession, caller: Caller,
        year: Annotated[int | None, QueryParameter(ge=2020, le=2100)] = None,
        format: Literal["json", "csv", "xlsx"] = "json", authority: Gss = None,
        purpose: Literal["filing", "publication"] = "publication",
    ) -> Response[AnnualReturn | str | bytes]:
        """The statutory annual return for a financial year (April to March), as JSON, CSV or XLSX.

        `purpose=filing` is exact, for a commissioner of that authority or admin, and each download is
        audited; `purpose=publication` (the default) is suppressed.
        """
        scope = service.scope_for(caller, authority)
        audit.record(session, caller, "read", "report", f"annual-return/{scope or 'all'}")
        chosen = year or service.current_financial_year(utcnow().date())
        if purpose == "filing":
            service.require_filer(session, caller, scope, chosen)
        report = await service.annual_return(session, scope, chosen, purpose)
        if format == "json":
            return Response(report)
        name = f"safe-accommodation-return-{report.financial_year}-{scope or 'all'}-{purpose}.{format}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if format == "csv":
            return Response(service.annual_return_csv(report), media_type="text/csv", headers=headers)
        return Response(
            service.annual_return_xlsx(report), headers=headers,
            media_type=XLSX,
        )

    @get("/capacity-plan")
    async def capacity_plan(
        self, session: AsyncSession, caller: Caller, state: State, start: date | None = None, end: date | None = None,
        authority: Gss = None, period: PeriodName = None,
    ) -> CapacityPlan:
        """Which extra scheme would have placed the most of the period's unplaced households."""
        scope = service.scope_for(caller, authority)
        audit.record(session, caller, "read", "report", f"capacity-plan/{scope or 'all'}")
        first, last = service.period(start, end, utcnow().date(), period)
        return await service.capacity_plan(session, scope, first, last, state.settings.solve_time_limit)
