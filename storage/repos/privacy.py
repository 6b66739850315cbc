"""Everything stored about one resident, and forgetting it (Decree 13 requests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, ChatState, OutboxMessage
from storage.models.zalo_oa import ZaloOAEvent, ZaloOAFollower
from storage.repos import households, nominations, residents, surveys, zalo_oa_followers


@dataclass(frozen=True)
class Forgotten:
    """What a deletion removed or anonymized."""

    households: int
    nominations_deleted: int
    nominations_detached: int
    responses_anonymized: int
    accounts: int


async def forget(
    session: AsyncSession, resident_id: int, *, keep_chat: tuple[str, str] | None = None
) -> Forgotten:
    """Delete a resident's personal data; survey answers stay, without the link to them.

    `keep_chat` is the chat asking: its state row is reset by the caller rather than
    deleted underneath the open conversation.
    """
    accounts = await residents.identities(session, resident_id)
    removed_households = await households.forget_resident(session, resident_id)
    deleted, detached = await nominations.forget_resident(session, resident_id)
    anonymized = await surveys.anonymize_resident(session, resident_id)
    for account in accounts:
        if (account.channel, account.chat_id) != keep_chat:
            await session.execute(
                delete(ChatState).where(
                    ChatState.channel == account.channel, ChatState.chat_id == account.chat_id
                )
            )
        await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.channel == account.channel,
                OutboxMessage.chat_id == account.chat_id,
                # Held: waiting for their next Zalo OA message; expired: waited too long.
                OutboxMessage.status.in_(("pending", "held", "expired")),
            )
        )
    oa_users = [a.user_id for a in accounts if a.channel == "zalo_oa"]
    if oa_users:
        # The OA's record of them: when they last wrote, and the events they sent.
        await zalo_oa_followers.forget(session, oa_users)
        # The event being handled (this very request) is left to its processor.
        await session.execute(
            delete(ZaloOAEvent).where(
                ZaloOAEvent.user_id.in_(oa_users), ZaloOAEvent.processed_at.is_not(None)
            )
        )
    await residents.delete_resident(session, resident_id)
    return Forgotten(removed_households, deleted, detached, anonymized, len(accounts))


async def channels_of(session: AsyncSession, resident_id: int) -> list[str]:
    """The channels a resident chats from."""
    stmt = select(ChannelIdentity.channel).where(ChannelIdentity.resident_id == resident_id)
    return sorted(set((await session.execute(stmt)).scalars()))


async def oa_last_interaction(session: AsyncSession, resident_id: int) -> datetime | None:
    """When the resident last wrote to the Zalo OA, as the OA records it (None: no OA account)."""
    stmt = (
        select(func.max(ZaloOAFollower.last_interaction_at))
        .join(ChannelIdentity, ChannelIdentity.user_id == ZaloOAFollower.user_id)
        .where(ChannelIdentity.resident_id == resident_id, ChannelIdentity.channel == "zalo_oa")
    )
    return (await session.execute(stmt)).scalar_one_or_none()
