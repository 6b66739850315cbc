"""Zalo OA followers: whether they follow, and when they last interacted with the OA.

The webhook touches a follower on every event of theirs; the outbox delivery reads the
last interaction to pick a messaging window (bot.channels.zalo_oa.windows) and closes it
when Zalo says it is closed; /xoadulieu forgets the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.base import utcnow
from storage.models.zalo_oa import ZaloOAFollower


async def touch(
    session: AsyncSession, user_id: str, at: datetime | None, following: bool | None = None
) -> None:
    """Note an interaction at `at` (never moving it back); `following` when it changed.

    An unfollow (`following=False`) is not an interaction: only the flag changes; nor is
    `at=None`. Safe against two events of one new follower arriving at once (insert, else
    update).
    """
    interacted = following is not False and at is not None
    values: dict[str, Any] = {
        "user_id": user_id,
        "following": following is not False,
        "last_interaction_at": at if interacted else None,
        "updated_at": utcnow(),
    }
    dialect = session.bind.dialect.name if session.bind else ""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(ZaloOAFollower).values(values).on_conflict_do_nothing(index_elements=["user_id"])
    )
    if result.rowcount:
        return
    if following is not None:
        await session.execute(
            update(ZaloOAFollower)
            .where(ZaloOAFollower.user_id == user_id)
            .values(following=following, updated_at=utcnow())
        )
    if interacted:
        await session.execute(
            update(ZaloOAFollower)
            .where(
                ZaloOAFollower.user_id == user_id,
                or_(
                    ZaloOAFollower.last_interaction_at.is_(None),
                    ZaloOAFollower.last_interaction_at < at,
                ),
            )
            .values(last_interaction_at=at, updated_at=utcnow())
        )


async def last_interaction(session: AsyncSession, user_id: str) -> datetime | None:
    """When the user last interacted with the OA, if known."""
    stmt = select(ZaloOAFollower.last_interaction_at).where(ZaloOAFollower.user_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def outside_window(
    session: AsyncSession, user_ids: list[str], interacted_before: datetime
) -> int:
    """How many of these users last interacted before `interacted_before` (or never)."""
    if not user_ids:
        return 0
    recent = await session.scalar(
        select(func.count()).select_from(ZaloOAFollower).where(
            ZaloOAFollower.user_id.in_(user_ids),
            ZaloOAFollower.last_interaction_at >= interacted_before,
        )
    )
    return len(set(user_ids)) - int(recent or 0)


async def close_window(session: AsyncSession, user_id: str, before: datetime) -> None:
    """Zalo said the window is closed: the last interaction is at most `before`."""
    dialect = session.bind.dialect.name if session.bind else ""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(ZaloOAFollower).values(
        user_id=user_id, following=True, last_interaction_at=None, updated_at=utcnow()
    ).on_conflict_do_nothing(index_elements=["user_id"])
    if (await session.execute(stmt)).rowcount:
        return
    await session.execute(
        update(ZaloOAFollower)
        .where(ZaloOAFollower.user_id == user_id, ZaloOAFollower.last_interaction_at > before)
        .values(last_interaction_at=before, updated_at=utcnow())
    )


async def forget(session: AsyncSession, user_ids: list[str]) -> int:
    """Remove these followers' rows (a resident asked to be forgotten); how many."""
    if not user_ids:
        return 0
    result = await session.execute(
        delete(ZaloOAFollower).where(ZaloOAFollower.user_id.in_(user_ids))
    )
    return int(result.rowcount or 0)
