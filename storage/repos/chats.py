"""Per-chat state: language, the flow in progress, the choices last offered."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatState


async def load(session: AsyncSession, channel: str, chat_id: str) -> ChatState:
    """The chat's state row, created (not yet flushed) if the chat is new."""
    state = await session.get(ChatState, (channel, chat_id))
    if state is None:
        state = ChatState(channel=channel, chat_id=chat_id, seq=0, data={}, offered=[])
        session.add(state)
    return state
