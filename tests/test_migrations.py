"""Migrations: upgrade head, downgrade base, upgrade again, and no drift between models and migrations."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service import db
from service.migrate import alembic_config
from service.models import metadata


@pytest.fixture
async def scratch_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A database of its own on the test server, dropped afterwards."""
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(db.async_url(database_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_async_engine(db.async_url(database_url).set(database=name))
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_upgrade_downgrade_upgrade_without_drift(scratch_engine: AsyncEngine) -> None:
    def cycle(connection: Connection) -> list[object]:
        config = alembic_config(connection=connection)
        command.upgrade(config, "head")
        assert _tables(connection) == set(metadata.tables)
        command.downgrade(config, "base")
        assert _tables(connection) == set()
        command.upgrade(config, "head")
        return list(compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata))

    async with scratch_engine.begin() as connection:
        drift = await connection.run_sync(cycle)
    assert drift == [], f"models and migrations differ: {drift}"
