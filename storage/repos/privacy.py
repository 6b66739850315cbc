"""Everything stored about one resident, and forgetting it (Decree 13 requests)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, ChatState, OutboxMessage
from storage.repos import households, nominations, residents, surveys


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
                OutboxMessage.status == "pending",
            )
        )
    await residents.delete_resident(session, resident_id)
    return Forgotten(removed_households, deleted, detached, anonymized, len(accounts))


async def channels_of(session: AsyncSession, resident_id: int) -> list[str]:
    """The channels a resident chats from."""
    stmt = select(ChannelIdentity.channel).where(ChannelIdentity.resident_id == resident_id)
    return sorted(set((await session.execute(stmt)).scalars()))
