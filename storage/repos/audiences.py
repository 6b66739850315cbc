"""Who a broadcast or a reminder goes to: residents' reachable chats, narrowed by audience.

Audiences: "all" (everyone in the groups), "reminders" (those who have not stopped
reminders), "unregistered" (no household registered by them has this year's pledge),
"no_survey" (no response to the given survey), "campaign:<code>" (their household
pledged this campaign this year). Chats whose platform said the bot is blocked are
never included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Resident
from storage.models.households import Household, HouseholdPledge
from storage.models.surveys import SurveyResponse

AUDIENCES = ("all", "reminders", "unregistered", "no_survey")


@dataclass(frozen=True)
class Recipient:
    """One chat of one resident."""

    resident_id: int
    channel: str
    chat_id: str
    lang: str
    group_code: str


async def recipients(
    session: AsyncSession,
    *,
    groups: Iterable[str],
    audience: str = "all",
    year: int | None = None,
    survey_id: int | None = None,
) -> list[Recipient]:
    """Reachable chats of the residents of `groups` in `audience`, ordered by resident."""
    stmt = (
        select(
            Resident.id,
            ChannelIdentity.channel,
            ChannelIdentity.chat_id,
            Resident.lang,
            Resident.group_code,
        )
        .join(ChannelIdentity, ChannelIdentity.resident_id == Resident.id)
        .where(Resident.group_code.in_(list(groups)), ChannelIdentity.unreachable_at.is_(None))
        .order_by(Resident.id, ChannelIdentity.id)
    )
    if audience == "reminders":
        stmt = stmt.where(Resident.reminders_off_at.is_(None))
    elif audience == "unregistered":
        if year is None:
            raise ValueError("the unregistered audience needs a year")
        pledged = (
            select(HouseholdPledge.id)
            .join(Household, Household.id == HouseholdPledge.household_id)
            .where(
                Household.registered_by_resident_id == Resident.id, HouseholdPledge.year == year
            )
        )
        stmt = stmt.where(~exists(pledged))
    elif audience == "no_survey":
        if survey_id is None:
            raise ValueError("the no_survey audience needs a survey")
        answered = select(SurveyResponse.id).where(
            SurveyResponse.survey_id == survey_id, SurveyResponse.resident_id == Resident.id
        )
        stmt = stmt.where(~exists(answered))
    elif audience.startswith("campaign:"):
        if year is None:
            raise ValueError("a campaign audience needs a year")
        return await _campaign(session, stmt, audience.removeprefix("campaign:"), year)
    elif audience != "all":
        raise ValueError(f"unknown audience {audience!r}")
    rows = (await session.execute(stmt)).all()
    return [Recipient(*row) for row in rows]


async def _campaign(session: AsyncSession, stmt, campaign: str, year: int) -> list[Recipient]:  # type: ignore[no-untyped-def]
    pledges = await session.execute(
        select(Household.registered_by_resident_id, HouseholdPledge.campaigns)
        .join(HouseholdPledge, HouseholdPledge.household_id == Household.id)
        .where(HouseholdPledge.year == year)
    )
    joined = {resident for resident, campaigns in pledges if campaign in (campaigns or [])}
    rows = (await session.execute(stmt)).all()
    return [Recipient(*row) for row in rows if row[0] in joined]
