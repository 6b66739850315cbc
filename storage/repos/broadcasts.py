"""Broadcasts and their outbox rows: create, queue in bulk, count by status, report once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, Resident
from storage.models.base import utcnow
from storage.models.broadcasts import Broadcast

KIND = "broadcast"
WAITING = ("pending", "sending")


@dataclass(frozen=True)
class Message:
    """One chat's copy of a broadcast."""

    channel: str
    chat_id: str
    payload: dict[str, Any]


def message_key(broadcast_id: int, channel: str, chat_id: str) -> str:
    """The outbox key of one chat's copy: a broadcast reaches a chat once."""
    return f"broadcast:{broadcast_id}:{channel}:{chat_id}"


async def create(
    session: AsyncSession,
    *,
    author_resident_id: int | None,
    author_role: str,
    groups: Sequence[str],
    audience: str,
    text: str,
    recipients: int,
    at: datetime,
) -> Broadcast:
    """Store a broadcast (its messages are queued by `queue`)."""
    broadcast = Broadcast(
        author_resident_id=author_resident_id,
        author_role=author_role,
        groups=list(groups),
        audience=audience,
        text=text,
        recipients=recipients,
        messages=0,
        created_at=at,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def queue(session: AsyncSession, broadcast: Broadcast, messages: Sequence[Message]) -> int:
    """Add one outbox row per chat in one bulk insert; returns how many were queued.

    Like `outbox.enqueue`, the rows are due at once by the wall clock the worker reads.
    """
    at = utcnow()
    rows: dict[str, dict[str, Any]] = {}
    for message in messages:
        key = message_key(broadcast.id, message.channel, message.chat_id)
        rows.setdefault(
            key,
            {
                "key": key,
                "kind": KIND,
                "channel": message.channel,
                "chat_id": message.chat_id,
                "payload": message.payload,
                "status": "pending",
                "attempts": 0,
                "not_before": at,
                "created_at": at,
            },
        )
    # Every id given to our rows is above the largest one taken before we insert.
    before = await _max_outbox_id(session)
    if rows:
        dialect = session.bind.dialect.name if session.bind else ""
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(OutboxMessage).on_conflict_do_nothing(index_elements=["key"])
        await session.execute(stmt, list(rows.values()))
    broadcast.first_outbox_id = before + 1
    broadcast.last_outbox_id = await _max_outbox_id(session)
    broadcast.messages = len(rows)
    await session.flush()
    return len(rows)


async def _max_outbox_id(session: AsyncSession) -> int:
    return (await session.execute(select(func.max(OutboxMessage.id)))).scalar_one() or 0


async def counts(session: AsyncSession, broadcast: Broadcast) -> dict[str, int]:
    """How many of the broadcast's messages are in each outbox status now."""
    if broadcast.first_outbox_id is None or broadcast.last_outbox_id is None:
        return {}
    stmt = (
        select(OutboxMessage.status, func.count())
        .where(
            OutboxMessage.id.between(broadcast.first_outbox_id, broadcast.last_outbox_id),
            OutboxMessage.kind == KIND,
            OutboxMessage.key.like(f"broadcast:{broadcast.id}:%"),
        )
        .group_by(OutboxMessage.status)
    )
    return {status: count for status, count in (await session.execute(stmt)).all()}


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    """The broadcast with this id."""
    return await session.get(Broadcast, broadcast_id)


async def recent(session: AsyncSession, limit: int = 50) -> list[Broadcast]:
    """The newest broadcasts first."""
    stmt = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def unreported(session: AsyncSession, limit: int = 100) -> list[Broadcast]:
    """Broadcasts whose author has not had the final report, locked for this reporter."""
    stmt = (
        select(Broadcast)
        .where(Broadcast.reported_at.is_(None))
        .order_by(Broadcast.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def author_lang(session: AsyncSession, broadcast: Broadcast) -> str | None:
    """The author's language, or None when the author has deleted their data."""
    if broadcast.author_resident_id is None:
        return None
    author = await session.get(Resident, broadcast.author_resident_id)
    return author.lang if author is not None else None
