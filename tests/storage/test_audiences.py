"""Who a broadcast or a reminder reaches, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from storage.models import ChannelIdentity, Resident
from storage.repos import audiences, households, residents, surveys
from storage.repos.households import HouseholdDetails

AT = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


async def join(sessionmaker, user: str, group: str = "05") -> int:
    async with sessionmaker() as session, session.begin():
        resident = await residents.join(
            session, channel="test", user_id=user, chat_id=user, group_code=group,
            lang="vi", consent_at=AT, consent_version="2026-11",
        )
        return resident.id


async def register(sessionmaker, resident_id: int, n: int, *, year: int = 2026,
                   campaigns: tuple[str, ...] = ("ngoi-nha-xanh",)) -> None:
    details = HouseholdDetails(group_code="05", head_name=f"Hộ số {n}", address=f"Số {n} Lê Lợi",
                               phone=f"+8491234{n:04d}", members=3)
    async with sessionmaker() as session, session.begin():
        await households.register(session, details, household_id=None, resident_id=resident_id,
                                  consent_at=AT, year=year, campaigns=list(campaigns), at=AT)


async def chats(sessionmaker, groups=("05",), audience="all", **kwargs) -> list[str]:
    async with sessionmaker() as session:
        found = await audiences.recipients(session, groups=groups, audience=audience, **kwargs)
    return [r.chat_id for r in found]


async def test_everyone_in_the_groups_in_joining_order(sessionmaker):
    for user, group in (("an", "05"), ("binh", "07"), ("chi", "05"), ("dung", "01")):
        await join(sessionmaker, user, group)
    assert await chats(sessionmaker) == ["an", "chi"]
    assert await chats(sessionmaker, groups=("05", "07")) == ["an", "binh", "chi"]
    assert await chats(sessionmaker, groups=()) == []
    async with sessionmaker() as session:
        [first, _] = await audiences.recipients(session, groups=["05"])
    assert (first.channel, first.group_code, first.lang) == ("test", "05", "vi")


async def test_those_who_stopped_reminders_are_left_out_of_reminders_only(sessionmaker):
    await join(sessionmaker, "an")
    quiet = await join(sessionmaker, "binh")
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Resident).where(Resident.id == quiet).values(reminders_off_at=AT)
        )
    assert await chats(sessionmaker, audience="reminders") == ["an"]
    assert await chats(sessionmaker, audience="all") == ["an", "binh"]


async def test_unregistered_means_no_household_pledged_this_year(sessionmaker):
    this_year = await join(sessionmaker, "an")
    last_year = await join(sessionmaker, "binh")
    await join(sessionmaker, "chi")
    await register(sessionmaker, this_year, 1, year=2026)
    await register(sessionmaker, last_year, 2, year=2025)
    assert await chats(sessionmaker, audience="unregistered", year=2026) == ["binh", "chi"]
    assert await chats(sessionmaker, audience="unregistered", year=2025) == ["an", "chi"]
    with pytest.raises(ValueError, match="year"):
        await chats(sessionmaker, audience="unregistered")


async def test_no_survey_means_no_response_to_that_survey(sessionmaker, ward):
    answered = await join(sessionmaker, "an")
    await join(sessionmaker, "binh")
    async with sessionmaker() as session, session.begin():
        survey = await surveys.ensure_ward_survey(session, ward.survey, AT)
        await surveys.save_response(session, survey_id=survey.id, resident_id=answered,
                                    group_code="05", answers={"q1": 5}, started_at=AT, now=AT)
        survey_id = survey.id
    assert await chats(sessionmaker, audience="no_survey", survey_id=survey_id) == ["binh"]
    with pytest.raises(ValueError, match="survey"):
        await chats(sessionmaker, audience="no_survey")


async def test_a_campaign_audience_is_this_years_pledges_to_it(sessionmaker):
    green = await join(sessionmaker, "an")
    sorting = await join(sessionmaker, "binh")
    earlier = await join(sessionmaker, "chi")
    await register(sessionmaker, green, 1, campaigns=("ngoi-nha-xanh", "phan-loai-rac"))
    await register(sessionmaker, sorting, 2, campaigns=("phan-loai-rac",))
    await register(sessionmaker, earlier, 3, year=2025, campaigns=("ngoi-nha-xanh",))
    assert await chats(sessionmaker, audience="campaign:ngoi-nha-xanh", year=2026) == ["an"]
    assert await chats(sessionmaker, audience="campaign:phan-loai-rac", year=2026) == [
        "an", "binh"]


async def test_chats_that_blocked_the_bot_are_never_included(sessionmaker):
    two_phones = await join(sessionmaker, "an")
    await join(sessionmaker, "binh")
    async with sessionmaker() as session, session.begin():
        session.add(ChannelIdentity(channel="telegram", user_id="501", chat_id="501",
                                    resident_id=two_phones))
    assert await chats(sessionmaker) == ["an", "501", "binh"]
    async with sessionmaker() as session, session.begin():
        await residents.mark_unreachable(session, "test", "an", AT)
        await residents.mark_unreachable(session, "test", "binh", AT)
    for audience in ("all", "reminders", "unregistered"):
        assert await chats(sessionmaker, audience=audience, year=2026) == ["501"]


async def test_an_unknown_audience_is_an_error(sessionmaker):
    with pytest.raises(ValueError, match="unknown audience"):
        await chats(sessionmaker, audience="everyone")
