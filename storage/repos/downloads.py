"""Short-lived download links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.downloads import Download


async def store(
    session: AsyncSession,
    *,
    token: str,
    filename: str,
    mime: str,
    content: bytes,
    created_by: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Keep a file behind `token` until `expires_at`."""
    session.add(
        Download(
            token=token,
            filename=filename,
            mime=mime,
            content=content,
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()


async def fetch(session: AsyncSession, token: str, now: datetime) -> Download | None:
    """The file, if the token exists and has not expired."""
    found = await session.get(Download, token)
    if found is None or found.expires_at <= now:
        return None
    return found


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete expired files; returns how many."""
    result = await session.execute(delete(Download).where(Download.expires_at <= now))
    return result.rowcount or 0
