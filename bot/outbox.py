"""Putting replies in the outbox for residents, whichever channels they use."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Button, Reply
from storage.repos import outbox, residents


def reply_to_payload(reply: Reply) -> dict[str, Any]:
    """A reply as JSON for the outbox (attachments are not queued)."""
    if reply.attachment is not None:
        raise ValueError("attachments are sent in direct replies, not through the outbox")
    return {
        "text": reply.text,
        "buttons": [[[b.label, b.data] for b in row] for row in reply.buttons],
    }


def payload_to_reply(payload: dict[str, Any]) -> Reply:
    """The reply stored by reply_to_payload."""
    rows = tuple(
        tuple(Button(label, data) for label, data in row) for row in payload.get("buttons", [])
    )
    return Reply(text=payload["text"], buttons=rows)


async def notify_resident(
    session: AsyncSession, resident_id: int, reply: Reply, *, key: str, kind: str
) -> int:
    """Queue `reply` for every chat account of a resident; returns how many were queued."""
    queued = 0
    for identity in await residents.identities(session, resident_id):
        added = await outbox.enqueue(
            session,
            key=f"{key}:{identity.channel}:{identity.chat_id}",
            kind=kind,
            channel=identity.channel,
            chat_id=identity.chat_id,
            payload=reply_to_payload(reply),
        )
        queued += int(added)
    return queued
