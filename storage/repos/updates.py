"""Record each platform update once."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate
from storage.models.base import utcnow


async def record_once(session: AsyncSession, channel: str, update_id: str) -> bool:
    """Insert (channel, update_id); True if new, False if it was seen before."""
    values = {"channel": channel, "update_id": update_id, "received_at": utcnow()}
    dialect = session.bind.dialect.name if session.bind else ""
    if dialect == "postgresql":
        stmt = pg_insert(ProcessedUpdate).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite_insert(ProcessedUpdate).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported backends exist
        stmt = insert(ProcessedUpdate).values(values)
    result = await session.execute(stmt)
    return bool(result.rowcount)
