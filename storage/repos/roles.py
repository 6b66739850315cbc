"""Role grants and invites."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity
from storage.models.roles import Invite, RoleGrant


def hash_code(code: str) -> str:
    """Invites are stored hashed: a leaked table gives no usable codes."""
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


async def grants_of(session: AsyncSession, resident_id: int) -> list[RoleGrant]:
    """Every role a resident holds."""
    stmt = select(RoleGrant).where(RoleGrant.resident_id == resident_id)
    return list((await session.execute(stmt)).scalars())


async def grant(
    session: AsyncSession,
    *,
    resident_id: int,
    role: str,
    group_code: str | None,
    granted_by: str,
    at: datetime,
    label: str | None = None,
) -> bool:
    """Give a role (idempotent); True if it is new."""
    values = {
        "resident_id": resident_id,
        "role": role,
        "group_code": group_code,
        "granted_by": granted_by,
        "granted_at": at,
        "label": label,
    }
    existing = await session.execute(
        select(RoleGrant.id).where(
            RoleGrant.resident_id == resident_id,
            RoleGrant.role == role,
            RoleGrant.group_code.is_(None)
            if group_code is None
            else RoleGrant.group_code == group_code,
        )
    )
    if existing.first() is not None:
        return False
    insert = (
        pg_insert
        if session.bind and session.bind.dialect.name == "postgresql"
        else (sqlite_insert)
    )
    result = await session.execute(insert(RoleGrant).values(values).on_conflict_do_nothing())
    return bool(result.rowcount)


async def revoke(
    session: AsyncSession, *, resident_id: int, role: str, group_code: str | None
) -> bool:
    """Take a role away; True if there was one."""
    stmt = delete(RoleGrant).where(RoleGrant.resident_id == resident_id, RoleGrant.role == role)
    if group_code is not None:
        stmt = stmt.where(RoleGrant.group_code == group_code)
    result = await session.execute(stmt)
    return bool(result.rowcount)


async def holders(session: AsyncSession, role: str) -> list[RoleGrant]:
    """Every grant of a role, by group."""
    stmt = (
        select(RoleGrant)
        .where(RoleGrant.role == role)
        .order_by(RoleGrant.group_code, RoleGrant.id)
    )
    return list((await session.execute(stmt)).scalars())


async def resident_by_account(session: AsyncSession, channel: str, user_id: str) -> int | None:
    """The resident id behind a channel account."""
    stmt = select(ChannelIdentity.resident_id).where(
        ChannelIdentity.channel == channel, ChannelIdentity.user_id == user_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def create_invite(
    session: AsyncSession,
    *,
    code: str,
    role: str,
    group_code: str | None,
    created_by: str,
    at: datetime,
    expires_at: datetime,
) -> Invite:
    """Store a new invite (hashed)."""
    invite = Invite(
        code_hash=hash_code(code),
        role=role,
        group_code=group_code,
        created_by=created_by,
        created_at=at,
        expires_at=expires_at,
    )
    session.add(invite)
    await session.flush()
    return invite


async def invite_by_code(session: AsyncSession, code: str) -> Invite | None:
    """The invite a code stands for, locked for the claim."""
    stmt = select(Invite).where(Invite.code_hash == hash_code(code)).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()
