"""Alembic environment: runs on a connection handed in by storage.migrate, or its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage.models import Base

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_standalone() -> None:
    from bot.settings import load_settings
    from storage.engine import make_engine

    async def _go() -> None:
        engine = make_engine(load_settings().database_url)
        async with engine.connect() as conn:
            await conn.run_sync(run_on)
            await conn.commit()
        await engine.dispose()

    asyncio.run(_go())


connection = context.config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    run_standalone()
