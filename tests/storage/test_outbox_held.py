"""Messages held for a Zalo OA resident: released in order when they write again, unless
they waited so long that they would arrive out of their time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OutboxMessage
from storage.repos import outbox

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


async def hold(session: AsyncSession, key: str, kind: str, age: timedelta,
               chat: str = "u1") -> None:
    await outbox.enqueue(session, key=key, kind=kind, channel="zalo_oa", chat_id=chat,
                         payload={"text": key})
    row = await session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
    assert row is not None
    row.status, row.created_at = "held", NOW - age


async def test_a_resident_writing_again_releases_what_is_still_timely(
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session, session.begin():
        await hold(session, "reminder-yesterday", "reminder", timedelta(days=1))
        await hold(session, "reminder-last-week", "reminder", timedelta(days=6))
        await hold(session, "broadcast-5-days", "broadcast", timedelta(days=5))
        await hold(session, "broadcast-10-days", "broadcast", timedelta(days=10))
        await hold(session, "review-30-days", "nomination", timedelta(days=30))
        await hold(session, "someone-else", "reminder", timedelta(hours=1), chat="u2")
    async with sessionmaker() as session, session.begin():
        released = await outbox.release_held(session, "zalo_oa", "u1", NOW)
    assert released == 3
    async with sessionmaker() as session:
        rows = await session.execute(select(OutboxMessage.key, OutboxMessage.status))
        status = {key: value for key, value in rows}
    assert status == {
        "reminder-yesterday": "pending", "reminder-last-week": "expired",
        "broadcast-5-days": "pending", "broadcast-10-days": "expired",
        "review-30-days": "pending", "someone-else": "held",
    }
