"""Record each platform update once."""

from __future__ import annotations

from sqlalchemy import Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate
from storage.models.base import utcnow

# Built once per dialect (Core, on the table): one statement per update, without
# building and hashing it again every time.
_RECORD: dict[str, Insert] = {
    dialect: insert(ProcessedUpdate.__table__).on_conflict_do_nothing()
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


async def record_once(session: AsyncSession, channel: str, update_id: str) -> bool:
    """Insert (channel, update_id); True if new, False if it was seen before."""
    stmt = _RECORD[session.get_bind().dialect.name]
    values = {"channel": channel, "update_id": update_id, "received_at": utcnow()}
    result = await session.execute(stmt, values)
    return bool(result.rowcount)  # type: ignore[attr-defined]
