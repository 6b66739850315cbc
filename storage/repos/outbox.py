"""The outbox: enqueue once per key; the delivery worker reads it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
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


async def claim_batch(
    session: AsyncSession,
    channels: list[str],
    *,
    now: datetime,
    lease_until: datetime,
    limit: int,
) -> list[OutboxMessage]:
    """Take up to `limit` due messages (or ones whose lease ran out after a crash).

    Rows are locked with SKIP LOCKED on PostgreSQL so two workers never claim the same
    row; SQLite serializes writers with BEGIN IMMEDIATE.
    """
    due = or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.not_before <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
    )
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.channel.in_(channels), due)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list((await session.execute(stmt)).scalars())
    for row in rows:
        row.status = "sending"
        row.claimed_until = lease_until
        row.attempts += 1
    return rows


async def finish(
    session: AsyncSession,
    message_id: int,
    *,
    status: str,
    now: datetime,
    platform_message_id: str | None = None,
    not_before: datetime | None = None,
    error: str | None = None,
    counted: bool = True,
) -> None:
    """Record the outcome of one send: sent, pending again (retry), held, blocked or failed.

    `counted=False` gives back the attempt the claim took: waiting for a platform's quota
    or for the resident's next message is not a failing try.
    """
    values: dict[str, Any] = {"status": status, "claimed_until": None, "last_error": error}
    if not counted:
        values["attempts"] = OutboxMessage.attempts - 1
    if status == "sent":
        values.update(sent_at=now, message_id=platform_message_id)
    if not_before is not None:
        values["not_before"] = not_before
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
    )


# A held message that waited too long would arrive out of its time ("họp tối nay" weeks
# later): reminders and broadcasts past these ages are dropped as "expired" instead of
# released. Notices about the resident's own records (a nomination's review) always go.
HELD_MAX_AGE = {"reminder": timedelta(days=2), "broadcast": timedelta(days=7)}


async def release_held(session: AsyncSession, channel: str, chat_id: str, now: datetime) -> int:
    """The resident wrote again: their held messages are due now, in order; how many.

    Reminders and broadcasts held longer than HELD_MAX_AGE are marked "expired" instead.
    """
    for kind, age in HELD_MAX_AGE.items():
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.status == "held",
                OutboxMessage.kind == kind,
                OutboxMessage.created_at < now - age,
            )
            .values(status="expired", claimed_until=None)
        )
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status == "held",
        )
        .values(status="pending", not_before=now, claimed_until=None)
    )
    return int(result.rowcount or 0)
