"""The outbox: enqueue once per key; the delivery worker reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.models.base import utcnow


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    channel: str,
    chat_id: str,
    payload: dict[str, Any],
    not_before: datetime | None = None,
) -> bool:
    """Add a message unless one with the same key exists; True if added."""
    values = {
        "key": key,
        "kind": kind,
        "channel": channel,
        "chat_id": chat_id,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "not_before": not_before or utcnow(),
        "created_at": utcnow(),
    }
    insert = pg_insert if session.bind and session.bind.dialect.name == "postgresql" else (
        sqlite_insert
    )
    stmt = insert(OutboxMessage).values(values).on_conflict_do_nothing(index_elements=["key"])
    result = await session.execute(stmt)
    return bool(result.rowcount)


async def pending_for_chat(
    session: AsyncSession, channel: str, chat_id: str
) -> list[OutboxMessage]:
    """Messages still waiting for one chat, oldest first."""
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status == "pending",
        )
        .order_by(OutboxMessage.id)
    )
    return list((await session.execute(stmt)).scalars())


async def count_by_status(session: AsyncSession, kind: str | None = None) -> dict[str, int]:
    """How many messages are in each status."""
    stmt = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if kind is not None:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return {status: count for status, count in (await session.execute(stmt)).all()}
