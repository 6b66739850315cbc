"""Which share of residents each channel can reach right now.

A resident is reachable on a channel when they have an account on it that is not marked
unreachable. On the Zalo Official Account that is not enough: Zalo only lets the OA
write to a follower who interacted within the last 7 days (free within 48 hours, see
bot.channels.zalo_oa.windows), so there the account must also follow the OA and have
interacted within 7 days. "Any channel" counts each resident once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Resident
from storage.models.zalo_oa import CS_WINDOW as OA_WINDOW
from storage.models.zalo_oa import FREE_WINDOW as OA_FREE
from storage.models.zalo_oa import ZaloOAFollower

OA = "zalo_oa"
CHANNEL_ORDER = ("zalo_oa", "zalo", "telegram", "webchat")


@dataclass(frozen=True)
class ChannelReach:
    """Residents one channel reaches now; for the OA also those in the free 48 hours."""

    channel: str
    reachable: int
    free: int | None = None


@dataclass(frozen=True)
class Reach:
    """The residents counted, each channel's reach and the reach of any channel."""

    residents: int
    channels: list[ChannelReach]
    any_channel: int

    def share(self, count: int) -> float:
        """`count` over the residents (0 when there are none)."""
        return count / self.residents if self.residents else 0.0


async def reach(
    session: AsyncSession, now: datetime, groups: Collection[str] | None = None
) -> Reach:
    """The reach of every channel now, ward-wide (groups None) or in some groups.

    Every channel some resident has an account on is listed, even when it reaches none.
    """
    in_groups = Resident.group_code.in_(list(groups)) if groups is not None else None
    total = select(func.count(Resident.id))
    if in_groups is not None:
        total = total.where(in_groups)
    residents = int((await session.execute(total)).scalar_one())

    window_open = and_(
        ZaloOAFollower.following.is_(True),
        ZaloOAFollower.last_interaction_at >= now - OA_WINDOW,
    )
    free = ZaloOAFollower.last_interaction_at >= now - OA_FREE
    reachable = and_(
        ChannelIdentity.unreachable_at.is_(None),
        or_(ChannelIdentity.channel != OA, window_open),
    )
    base = (
        select(ChannelIdentity.channel)
        .join(Resident, Resident.id == ChannelIdentity.resident_id)
        .outerjoin(
            ZaloOAFollower,
            and_(ChannelIdentity.channel == OA, ZaloOAFollower.user_id == ChannelIdentity.user_id),
        )
        .where(reachable)
    )
    if in_groups is not None:
        base = base.where(in_groups)
    per_channel = base.with_only_columns(
        ChannelIdentity.channel,
        func.count(func.distinct(ChannelIdentity.resident_id)),
        func.count(func.distinct(case((free, ChannelIdentity.resident_id)))),
    ).group_by(ChannelIdentity.channel)
    rows = {
        channel: (int(count), int(in_free))
        for channel, count, in_free in (await session.execute(per_channel)).all()
    }
    present = (
        select(ChannelIdentity.channel)
        .join(Resident, Resident.id == ChannelIdentity.resident_id)
        .distinct()
    )
    if in_groups is not None:
        present = present.where(in_groups)
    for channel in (await session.execute(present)).scalars():
        rows.setdefault(channel, (0, 0))
    anywhere = base.with_only_columns(func.count(func.distinct(ChannelIdentity.resident_id)))
    any_channel = int((await session.execute(anywhere)).scalar_one())

    names = [c for c in CHANNEL_ORDER if c in rows] + sorted(set(rows) - set(CHANNEL_ORDER))
    channels = [
        ChannelReach(name, rows[name][0], rows[name][1] if name == OA else None)
        for name in names
    ]
    return Reach(residents, channels, any_channel)
