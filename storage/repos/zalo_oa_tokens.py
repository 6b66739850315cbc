"""The Zalo OA's token pair and its pending connections.

A refresh is serialized across processes by a lease on the row (`refreshing_until`) and
stored only if the row's `version` is still the one the refresher read. `updated_at` is
kept as the time the current pair was issued (leases leave it alone), which tells how
long the access token lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Resident
from storage.models.roles import RoleGrant
from storage.models.zalo_oa import ZaloOAAuthRequest, ZaloOAToken

OK = "ok"
FAILED = "failed"
PENDING = "pending"
EXCHANGING = "exchanging"
CONNECTED = "connected"


@dataclass(frozen=True)
class NewPair:
    """A token pair to store, with its expiry times already computed."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None


@dataclass(frozen=True)
class StaffChat:
    """A chat of an officer or admin, to tell them the OA stopped."""

    resident_id: int
    lang: str
    channel: str
    chat_id: str


async def get(session: AsyncSession, oa_id: str | None = None) -> ZaloOAToken | None:
    """The token row of `oa_id`, or of the OA connected last when no id is given."""
    stmt = select(ZaloOAToken).execution_options(populate_existing=True)
    if oa_id is not None:
        stmt = stmt.where(ZaloOAToken.oa_id == oa_id)
    else:
        stmt = stmt.order_by(ZaloOAToken.updated_at.desc()).limit(1)
    return (await session.execute(stmt)).scalars().first()


async def store_pair(
    session: AsyncSession, *, oa_id: str, pair: NewPair, now: datetime
) -> ZaloOAToken:
    """Store the pair of a new connection (a reconnect replaces the old pair, version + 1)."""
    row = await session.get(ZaloOAToken, oa_id, with_for_update=True, populate_existing=True)
    if row is None:
        row = ZaloOAToken(oa_id=oa_id, version=1, created_at=now)
        session.add(row)
    else:
        row.version += 1
    row.access_token = pair.access_token
    row.refresh_token = pair.refresh_token
    row.access_expires_at = pair.access_expires_at
    row.refresh_expires_at = pair.refresh_expires_at
    row.status = OK
    row.last_error = None
    row.refreshing_until = None
    row.updated_at = now
    await session.flush()
    return row


async def take_refresh_lease(
    session: AsyncSession, *, oa_id: str, version: int, now: datetime, until: datetime
) -> bool:
    """Claim the right to spend this version's refresh token; True for exactly one caller."""
    stmt = (
        update(ZaloOAToken)
        .where(
            ZaloOAToken.oa_id == oa_id,
            ZaloOAToken.version == version,
            ZaloOAToken.status == OK,
            or_(ZaloOAToken.refreshing_until.is_(None), ZaloOAToken.refreshing_until < now),
        )
        .values(refreshing_until=until, updated_at=ZaloOAToken.updated_at)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).rowcount == 1


async def release_lease(session: AsyncSession, *, oa_id: str, version: int) -> None:
    """Give the lease back after a refresh that could not reach Zalo."""
    await session.execute(
        update(ZaloOAToken)
        .where(ZaloOAToken.oa_id == oa_id, ZaloOAToken.version == version)
        .values(refreshing_until=None, updated_at=ZaloOAToken.updated_at)
        .execution_options(synchronize_session=False)
    )


async def finish_refresh(
    session: AsyncSession, *, oa_id: str, version: int, pair: NewPair, now: datetime
) -> bool:
    """Store the refreshed pair as version + 1, only if `version` is still current."""
    stmt = (
        update(ZaloOAToken)
        .where(ZaloOAToken.oa_id == oa_id, ZaloOAToken.version == version)
        .values(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            access_expires_at=pair.access_expires_at,
            refresh_expires_at=pair.refresh_expires_at,
            version=version + 1,
            status=OK,
            last_error=None,
            refreshing_until=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).rowcount == 1


async def mark_failed(
    session: AsyncSession, *, oa_id: str, version: int, error: str
) -> bool:
    """Record a refused refresh; True only the first time (so it is reported once)."""
    stmt = (
        update(ZaloOAToken)
        .where(
            ZaloOAToken.oa_id == oa_id,
            ZaloOAToken.version == version,
            ZaloOAToken.status != FAILED,
        )
        .values(
            status=FAILED,
            last_error=error[:500],
            refreshing_until=None,
            updated_at=ZaloOAToken.updated_at,
        )
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).rowcount == 1


async def staff_chats(session: AsyncSession) -> list[StaffChat]:
    """Reachable chats of every officer and admin, one per chat."""
    stmt = (
        select(Resident.id, Resident.lang, ChannelIdentity.channel, ChannelIdentity.chat_id)
        .join(RoleGrant, RoleGrant.resident_id == Resident.id)
        .join(ChannelIdentity, ChannelIdentity.resident_id == Resident.id)
        .where(RoleGrant.role.in_(("officer", "admin")), ChannelIdentity.unreachable_at.is_(None))
        .distinct()
        .order_by(Resident.id, ChannelIdentity.channel, ChannelIdentity.chat_id)
    )
    return [StaffChat(*row) for row in (await session.execute(stmt)).all()]


async def create_auth_request(
    session: AsyncSession,
    *,
    state: str,
    verifier: str,
    redirect_uri: str,
    now: datetime,
    expires_at: datetime,
) -> ZaloOAAuthRequest:
    """A pending connection waiting for Zalo's code."""
    request = ZaloOAAuthRequest(
        state=state,
        code_verifier=verifier,
        redirect_uri=redirect_uri,
        created_at=now,
        expires_at=expires_at,
        status=PENDING,
    )
    session.add(request)
    await session.flush()
    return request


async def get_auth_request(session: AsyncSession, state: str) -> ZaloOAAuthRequest | None:
    """A connection by its state, as stored now."""
    stmt = (
        select(ZaloOAAuthRequest)
        .where(ZaloOAAuthRequest.state == state)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalars().first()


async def claim_auth_request(
    session: AsyncSession, state: str, *, now: datetime
) -> ZaloOAAuthRequest | None:
    """Take a pending, unexpired connection for the code exchange; None for anyone else."""
    stmt = (
        update(ZaloOAAuthRequest)
        .where(
            ZaloOAAuthRequest.state == state,
            ZaloOAAuthRequest.status == PENDING,
            ZaloOAAuthRequest.expires_at > now,
        )
        .values(status=EXCHANGING)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).rowcount != 1:
        return None
    return await get_auth_request(session, state)


async def complete_auth_request(
    session: AsyncSession,
    state: str,
    *,
    status: str,
    oa_id: str | None = None,
    error: str | None = None,
) -> None:
    """Close a connection: connected, failed (with the error), or pending again."""
    await session.execute(
        update(ZaloOAAuthRequest)
        .where(ZaloOAAuthRequest.state == state)
        .values(status=status, oa_id=oa_id, error=error[:500] if error else None)
        .execution_options(synchronize_session=False)
    )
