"""Messages waiting for a web chat browser to fetch them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebchatMessage


async def push(session: AsyncSession, chat_id: str, payload: dict[str, Any]) -> int:
    """Queue a rendered reply for a browser; returns its id."""
    message = WebchatMessage(chat_id=chat_id, payload=payload)
    session.add(message)
    await session.flush()
    return message.id


async def since(
    session: AsyncSession, chat_id: str, after_id: int, limit: int = 50
) -> list[WebchatMessage]:
    """Messages for this browser newer than after_id, oldest first."""
    stmt = (
        select(WebchatMessage)
        .where(WebchatMessage.chat_id == chat_id, WebchatMessage.id > after_id)
        .order_by(WebchatMessage.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())
