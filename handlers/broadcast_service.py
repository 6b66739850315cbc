"""What a broadcast does, apart from the chat: who receives it, how it is signed, queueing.

A leader's message is signed with the recipient's group ("📣 Thông báo của Tổ dân phố
5:"), an officer's with the ward ("📣 Thông báo của UBND Phường An Hải:"), in each
recipient's language. The broadcast row, one outbox row per recipient chat and the
audit entry are written in the caller's transaction, so they exist together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.events import Reply
from bot.normalize import LOCAL_TZ
from bot.outbox import reply_to_payload
from bot.ward import WardConfig
from storage.models.broadcasts import Broadcast
from storage.repos import audiences, audit, broadcasts
from storage.repos.audiences import Recipient

LEADER = "leader"


@dataclass(frozen=True)
class Audience:
    """Who in the chosen groups: an audience name and what it needs (year, survey)."""

    name: str
    year: int
    survey_id: int | None = None


def local_year(moment: datetime) -> int:
    """The calendar year in Hải Phòng at `moment`."""
    return moment.astimezone(LOCAL_TZ).year


async def find_recipients(
    session: AsyncSession, groups: Sequence[str], audience: Audience
) -> list[Recipient]:
    """The reachable chats of the residents of `groups` in the audience."""
    return await audiences.recipients(
        session,
        groups=groups,
        audience=audience.name,
        year=audience.year,
        survey_id=audience.survey_id,
    )


def people(recipients: Sequence[Recipient]) -> int:
    """How many residents the chats belong to."""
    return len({r.resident_id for r in recipients})


def sender(ward: WardConfig, role: str, group_code: str) -> str:
    """Who signs: the group for a leader, the ward's people's committee for officers."""
    if role == LEADER:
        group = ward.group(group_code)
        return group.name if group is not None else group_code
    return ward.ward.data_controller


def signed(ward: WardConfig, role: str, group_code: str, text: str, lang: str) -> str:
    """The message as a resident of `group_code` reads it."""
    return texts.t("broadcasts.signed", lang, sender=sender(ward, role, group_code), text=text)


async def send(
    session: AsyncSession,
    ward: WardConfig,
    *,
    actor: str,
    author_resident_id: int | None,
    role: str,
    groups: Sequence[str],
    audience: Audience,
    text: str,
    now: datetime,
) -> Broadcast | None:
    """Store the broadcast and queue it for every recipient chat; None if nobody is left."""
    recipients = await find_recipients(session, groups, audience)
    if not recipients:
        return None
    broadcast = await broadcasts.create(
        session,
        author_resident_id=author_resident_id,
        author_role=role,
        groups=groups,
        audience=audience.name,
        text=text,
        recipients=people(recipients),
        at=now,
    )
    messages = [
        broadcasts.Message(
            r.channel,
            r.chat_id,
            reply_to_payload(Reply(text=signed(ward, role, r.group_code, text, r.lang))),
        )
        for r in recipients
    ]
    queued = await broadcasts.queue(session, broadcast, messages)
    await audit.record(
        session,
        actor=actor,
        action="broadcast_sent",
        target=f"broadcast:{broadcast.id}",
        at=now,
        groups=list(groups),
        audience=audience.name,
        count=queued,
        people=broadcast.recipients,
    )
    return broadcast


def where(ward: WardConfig, groups: Sequence[str], lang: str) -> str:
    """'toàn phường', a few group names, or 'N tổ dân phố'."""
    if set(groups) >= {g.code for g in ward.groups}:
        return texts.t("broadcasts.ward_wide", lang)
    if len(groups) > 3:
        return texts.t("broadcasts.group_count", lang, count=len(groups))
    return ", ".join(sender(ward, LEADER, code) for code in groups)


def audience_label(name: str, lang: str, year: int) -> str:
    """The audience as the author chose it: 'Mọi người', 'Chưa đăng ký hộ năm 2026', ..."""
    return texts.t(f"broadcasts.audience_{name}", lang, year=year)
