"""The statement lane: connections kept out of the pool for one-statement requests, within the pool's
size, handed out in turn, and never lent again once a statement on them was interrupted or lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Select, func, select, text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from service import db

BACKEND = select(func.pg_backend_pid())


def sleeping(seconds: float) -> Select[Any]:
    return select(func.pg_sleep(seconds))


def checked_out(engine: AsyncEngine) -> int:
    """Connections of the engine's pool in use (the lane's included)."""
    pool = engine.sync_engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedout()


@pytest.fixture
async def small_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(database_url, pool_size=4, pool_timeout=5)
    yield engine
    await engine.dispose()


async def backend_of(lane: db.StatementLane) -> int:
    async with lane.connection() as connection:
        return int((await db.fetch(connection, BACKEND))[0][0])


async def test_the_lane_keeps_half_the_pool_and_serves_waiters_in_arrival_order(small_engine: AsyncEngine) -> None:
    lane = db.StatementLane(small_engine, db.StatementLane.size_for(4))
    assert lane.size == 2
    served: list[int] = []
    busy = 0
    most_busy = 0

    async def request(number: int) -> None:
        nonlocal busy, most_busy
        async with lane.connection() as connection:
            served.append(number)
            busy += 1
            most_busy = max(most_busy, busy)
            await db.fetch(connection, sleeping(0.1))
            busy -= 1

    try:
        waiting = []
        for number in range(6):
            waiting.append(asyncio.create_task(request(number)))
            await asyncio.sleep(0.01)  # each asks before the next
        # While the lane's two are busy, requests that need a session still get the other half.
        async with small_engine.connect() as one, small_engine.connect() as two:
            assert await one.scalar(text("SELECT 1")) == await two.scalar(text("SELECT 1")) == 1
        await asyncio.gather(*waiting)
        assert served == list(range(6))
        assert most_busy == 2
        assert checked_out(small_engine) == 2  # the lane keeps its two for the next
    finally:
        await lane.close()
    assert checked_out(small_engine) == 0  # and gives them back when the app stops


async def test_a_refused_statement_or_a_refusal_of_the_request_keeps_the_connection(
    small_engine: AsyncEngine,
) -> None:
    lane = db.StatementLane(small_engine, 1)
    try:
        first = await backend_of(lane)
        with pytest.raises(asyncpg.DivisionByZeroError):
            async with lane.connection() as connection:
                await db.fetch(connection, select(text("1 / 0")))
        with pytest.raises(LookupError):
            async with lane.connection() as connection:
                await db.fetch(connection, BACKEND)
                raise LookupError("a 404 found after the statement")
        assert await backend_of(lane) == first
    finally:
        await lane.close()


async def test_a_statement_interrupted_by_cancellation_is_never_lent_again(small_engine: AsyncEngine) -> None:
    lane = db.StatementLane(small_engine, 1)
    try:
        first = await backend_of(lane)

        async def slow() -> None:
            async with lane.connection() as connection:
                await db.fetch(connection, sleeping(30))

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.2)
        task.cancel()  # the request went away mid-statement
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(5):  # the next request is not kept waiting behind the sleep
            assert await backend_of(lane) != first
    finally:
        await lane.close()


async def test_connections_the_server_closed_are_replaced(small_engine: AsyncEngine) -> None:
    lane = db.StatementLane(small_engine, 1)
    try:
        idle = await backend_of(lane)
        async with small_engine.connect() as admin:
            await admin.execute(select(func.pg_terminate_backend(idle)))
        await asyncio.sleep(0.2)  # the driver sees the connection close
        replacement = await backend_of(lane)  # no failed request: dropped without a round trip
        assert replacement != idle

        async def busy() -> None:
            async with lane.connection() as connection:
                await db.fetch(connection, sleeping(30))

        task = asyncio.create_task(busy())
        await asyncio.sleep(0.2)
        async with small_engine.connect() as admin:
            await admin.execute(select(func.pg_terminate_backend(replacement)))
        with pytest.raises(asyncpg.PostgresError):  # the request it was serving fails (503)...
            await task
        assert await backend_of(lane) not in {idle, replacement}  # ...and the next gets a live one
    finally:
        await lane.close()


async def test_a_lent_connection_goes_to_a_session_that_waited_when_its_request_ends(database_url: str) -> None:
    engine = db.create_engine(database_url, pool_size=2, pool_timeout=5)
    lane = db.StatementLane(engine, db.StatementLane.size_for(2))  # one of the two
    done = asyncio.Event()

    async def search() -> None:
        async with lane.connection() as connection:
            await db.fetch(connection, BACKEND)
            await done.wait()

    try:
        searching = asyncio.create_task(search())
        await asyncio.sleep(0.1)
        async with engine.connect() as holder:  # a session takes the other
            await holder.execute(text("SELECT 1"))
            session_wants_one = asyncio.create_task(engine.connect().start())
            await asyncio.sleep(0.1)
            assert not session_wants_one.done()
            done.set()  # the one-statement request ends while the session waits...
            waited = await asyncio.wait_for(session_wants_one, 1)  # ...so its connection goes to the session
            await waited.close()
        await searching
    finally:
        await lane.close()
        await engine.dispose()


async def test_a_lane_all_busy_for_longer_than_its_timeout_answers_503(small_engine: AsyncEngine) -> None:
    lane = db.StatementLane(small_engine, 1, timeout=0.3)
    try:
        async with lane.connection():
            with pytest.raises(PoolTimeout):  # the app answers 503 with Retry-After
                async with lane.connection():
                    pass
        assert await backend_of(lane) > 0  # the one connection is still there for the next
    finally:
        await lane.close()


async def test_connections_go_back_to_the_pool_after_a_while_so_recycling_reaches_them(
    small_engine: AsyncEngine,
) -> None:
    lane = db.StatementLane(small_engine, 1, return_after=0.0)
    try:
        await backend_of(lane)
        await asyncio.sleep(0.05)  # (given back in a task of its own)
        assert checked_out(small_engine) == 0
    finally:
        await lane.close()


async def test_an_idle_lane_connection_goes_to_a_session_that_waits(database_url: str) -> None:
    engine = db.create_engine(database_url, pool_size=2, pool_timeout=2)
    lane = db.StatementLane(engine, 1)
    try:
        await backend_of(lane)  # a search: the lane keeps one connection, idle now
        async with engine.connect() as one:  # a session takes the other
            await one.execute(text("SELECT 1"))
            async with asyncio.timeout(1), engine.connect() as two:  # a second session is not kept waiting
                assert await two.scalar(text("SELECT 1")) == 1
        assert await backend_of(lane) > 0  # and the lane takes one again when it next needs it
    finally:
        await lane.close()
        await engine.dispose()


def test_a_pool_of_one_has_no_lane() -> None:
    assert db.StatementLane.size_for(1) == 0
    assert db.StatementLane.size_for(20) == 10


async def test_a_request_cancelled_while_its_transaction_begins_leaves_no_transaction_behind(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # BEGIN reached the server, its answer not yet read: the server is in a transaction the driver
    # does not know of, so the connection must never serve another request.
    lane = db.StatementLane(small_engine, 1)
    began = asyncio.Event()
    execute = asyncpg.Connection.execute

    async def noting_begin(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if query.startswith("BEGIN"):
            began.set()
        return await execute(self, query, *args, **kwargs)

    async def careful() -> None:
        async with lane.connection() as connection, connection.transaction():
            await asyncio.sleep(5)

    try:
        first = await backend_of(lane)
        monkeypatch.setattr(asyncpg.Connection, "execute", noting_begin)
        task = asyncio.create_task(careful())
        await began.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await backend_of(lane) != first
        assert checked_out(small_engine) == 1  # the interrupted one is not in the pool either
    finally:
        await lane.close()


async def test_a_connection_lost_inside_a_lane_transaction_answers_as_lost(small_engine: AsyncEngine) -> None:
    lane = db.StatementLane(small_engine, 1)

    async def careful() -> None:
        async with lane.connection() as connection, connection.transaction():
            await db.fetch(connection, sleeping(30))

    try:
        doomed = await backend_of(lane)
        task = asyncio.create_task(careful())
        await asyncio.sleep(0.2)
        async with small_engine.connect() as admin:
            await admin.execute(select(func.pg_terminate_backend(doomed)))
        with pytest.raises(asyncpg.PostgresError):  # the server's own error (503), not the driver's complaint
            await task
        assert await backend_of(lane) != doomed
    finally:
        await lane.close()


async def test_closing_waits_for_lent_connections_and_lends_no_more(small_engine: AsyncEngine) -> None:
    lane = db.StatementLane(small_engine, 2)
    released = asyncio.Event()

    async def long_search() -> None:
        async with lane.connection() as connection:
            await db.fetch(connection, BACKEND)
            await released.wait()

    search = asyncio.create_task(long_search())
    await asyncio.sleep(0.1)
    closing = asyncio.create_task(lane.close())
    await asyncio.sleep(0.1)
    assert not closing.done()  # the lent connection is not back yet
    with pytest.raises(PoolTimeout):  # a request arriving now is refused (503)
        await backend_of(lane)
    released.set()
    await asyncio.gather(search, closing)
    assert checked_out(small_engine) == 0


async def test_a_lane_request_waiting_in_the_pool_gets_a_connection_the_lane_frees(database_url: str) -> None:
    # The lane's own check-out waits in the pool (sessions hold the rest) when another lane request
    # ends: that connection goes to the waiting check-out, not idle into the lane.
    engine = db.create_engine(database_url, pool_size=4, pool_timeout=1)
    lane = db.StatementLane(engine, 2)
    release = asyncio.Event()

    async def long_search() -> None:
        async with lane.connection() as connection:
            await db.fetch(connection, BACKEND)
            await release.wait()

    sessions = []
    try:
        first = asyncio.create_task(long_search())
        await asyncio.sleep(0.1)
        for _ in range(3):  # sessions take the other three (long reports, say)
            session = await engine.connect()
            await session.execute(text("SELECT 1"))
            sessions.append(session)
        second = asyncio.create_task(backend_of(lane))
        await asyncio.sleep(0.1)
        release.set()
        await first
        async with asyncio.timeout(0.5):
            assert await second > 0
    finally:
        for session in sessions:
            await session.close()
        await lane.close()
        await engine.dispose()


async def test_a_connection_idle_in_the_lane_is_pinged_when_a_session_takes_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = db.create_engine(database_url, pool_size=2, pool_timeout=2, idle_ping_seconds=0.2)
    lane = db.StatementLane(engine, 1, idle_ping_seconds=0.2)
    pings = []
    dialect = engine.sync_engine.dialect
    ping = dialect.do_ping

    def counted(connection: Any) -> bool:
        pings.append(1)
        return ping(connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    try:
        await backend_of(lane)
        await asyncio.sleep(0.5)  # idle in the lane for longer than the pool's ping threshold
        async with engine.connect() as one:
            await one.execute(text("SELECT 1"))
            async with engine.connect() as two:  # waits: the lane gives back its idle connection...
                await two.execute(text("SELECT 1"))
        assert pings == [1]  # ...which the pool checks before the session uses it
    finally:
        await lane.close()
        await engine.dispose()
