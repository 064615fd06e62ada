"""The connection pool hands connections out in the order requests asked for them."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from service import db


async def test_connections_go_to_waiters_in_arrival_order_and_newcomers_do_not_jump_the_line(
    database_url: str,
) -> None:
    engine = db.create_engine(database_url, pool_size=1)
    served: list[str] = []
    try:
        holder = await engine.connect()

        async def request(name: str) -> None:
            async with engine.connect() as connection:
                served.append(name)
                await connection.execute(text("SELECT 1"))

        waiting = []
        for name in ("first", "second", "third"):
            waiting.append(asyncio.create_task(request(name)))
            await asyncio.sleep(0.05)  # each is waiting before the next asks
        await holder.close()  # the connection goes back, and at that very moment someone new asks
        await request("newcomer")
        await asyncio.gather(*waiting)
        assert served == ["first", "second", "third", "newcomer"]
    finally:
        await engine.dispose()


async def test_a_waiter_that_gives_up_loses_no_connection_and_an_exhausted_pool_times_out(database_url: str) -> None:
    engine = db.create_engine(database_url, pool_size=1, pool_timeout=0.3)
    try:
        holder = await engine.connect()
        impatient = asyncio.create_task(engine.connect().start())
        await asyncio.sleep(0.05)
        impatient.cancel()  # a client that went away while waiting
        with pytest.raises(asyncio.CancelledError):
            await impatient
        with pytest.raises(PoolTimeout):  # all busy for longer than the pool's timeout (the app answers 503)
            await engine.connect()
        await holder.close()
        async with engine.connect() as connection:  # the one connection is still there for the next
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()
