"""Alembic upgrades on the configured database, then the reference data."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations
from service import db
from service.reference.service import load_reference_data

MIGRATIONS_DIR = Path(migrations.__file__).parent


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """Alembic's configuration, found inside the installed package (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", db.async_url(url).render_as_string(False).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the schema on one connection of the engine."""

    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection=connection), revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def migrate(url: str) -> dict[str, int]:
    """`safeaccom migrate`: upgrade to head and load the reference data; returns the row counts."""
    engine = db.create_engine(url)
    try:
        await upgrade(engine)
        async with db.session_maker(engine).begin() as session:
            return await load_reference_data(session)
    finally:
        await engine.dispose()
