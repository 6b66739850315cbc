"""Residents and their channel identities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Resident


async def by_identity(session: AsyncSession, channel: str, user_id: str) -> Resident | None:
    """The resident behind a channel account, if they have joined."""
    stmt = (
        select(Resident)
        .join(ChannelIdentity, ChannelIdentity.resident_id == Resident.id)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.user_id == user_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def join(
    session: AsyncSession,
    *,
    channel: str,
    user_id: str,
    chat_id: str,
    group_code: str,
    lang: str,
    consent_at: datetime,
    consent_version: str,
) -> Resident:
    """Create the resident and link this channel account (called only after consent)."""
    resident = Resident(
        group_code=group_code, lang=lang, consent_at=consent_at, consent_version=consent_version
    )
    session.add(resident)
    await session.flush()
    session.add(
        ChannelIdentity(channel=channel, user_id=user_id, chat_id=chat_id, resident_id=resident.id)
    )
    await session.flush()
    return resident


async def identities(session: AsyncSession, resident_id: int) -> list[ChannelIdentity]:
    """Every channel account linked to a resident."""
    stmt = select(ChannelIdentity).where(ChannelIdentity.resident_id == resident_id)
    return list((await session.execute(stmt)).scalars())


async def delete_resident(session: AsyncSession, resident_id: int) -> None:
    """Remove a resident and their channel accounts."""
    await session.execute(
        delete(ChannelIdentity).where(ChannelIdentity.resident_id == resident_id)
    )
    await session.execute(delete(Resident).where(Resident.id == resident_id))


async def mark_unreachable(
    session: AsyncSession, channel: str, chat_id: str, when: datetime
) -> None:
    """The platform says this chat blocked the bot: skip it from now on."""
    await session.execute(
        update(ChannelIdentity)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.chat_id == chat_id)
        .values(unreachable_at=when)
    )


async def mark_reachable(session: AsyncSession, channel: str, user_id: str) -> None:
    """A resident wrote to us again, so the bot is no longer blocked."""
    await session.execute(
        update(ChannelIdentity)
        .where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.user_id == user_id,
            ChannelIdentity.unreachable_at.is_not(None),
        )
        .values(unreachable_at=None)
    )
