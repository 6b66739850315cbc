"""The audit log: append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.roles import AuditEntry


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    at: datetime,
    target: str | None = None,
    **details: Any,
) -> None:
    """Append one entry (never personal data beyond ids and group codes)."""
    session.add(AuditEntry(at=at, actor=actor, action=action, target=target, details=details))
    await session.flush()


async def entries(
    session: AsyncSession, action: str | None = None, limit: int = 200
) -> list[AuditEntry]:
    """The newest entries, optionally of one action."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    return list((await session.execute(stmt)).scalars())
