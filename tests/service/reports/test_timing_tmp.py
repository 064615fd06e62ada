import time
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from service.demo import load_demo
from service.reports import annual_return, capacity, periods
from service.reports import service as reports
from tests.service.conftest import KIRKLEES

async def test_timing(session_maker: async_sessionmaker[AsyncSession]) -> None:
    async with session_maker() as session, session.begin():
        await load_demo(session)
    year = periods.financial_year(2026)
    q = periods.quarter(2026, 4)
    async with session_maker() as session:
        t = time.perf_counter(); d = await annual_return.draft(session, KIRKLEES, year); d.table.protect()
        print("return", len(d.table.values), time.perf_counter() - t)
        for builder in (reports._unmet_builder, reports._flow_builder, capacity._unplaced_builder):
            for authority in (KIRKLEES, None):
                for p in (q, year):
                    t = time.perf_counter()
                    table, shown = await reports.protected(builder(session, authority), p.start, p.end)
                    print(builder.__name__, authority, p.label, len(table.values), round(time.perf_counter() - t, 2))
