"""A resident sees everything stored about them, and can delete it."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import ChannelIdentity, OutboxMessage, Resident
from storage.models.households import Household
from storage.models.nominations import Nomination
from storage.models.surveys import SurveyResponse
from tests import transcript
from tests.test_transcripts import FakeDriver


async def count(sessionmaker, model) -> int:
    async with sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def play_without_join(chat, name: str) -> None:
    script = {k: v for k, v in transcript.load(name).items() if k != "join"}
    await transcript.play(FakeDriver(chat), script)


async def resident_with_everything(chat) -> None:
    await chat.join("Tổ dân phố 5")
    await play_without_join(chat, "household_registration")
    await play_without_join(chat, "nomination_individual")
    await play_without_join(chat, "survey_full")


async def test_my_data_lists_what_is_stored(chat) -> None:
    await resident_with_everything(chat)
    await chat.say("/toi")
    assert "Tổ dân phố: Tổ dân phố 5" in chat.text
    assert "Đồng ý tham gia ngày: 24/11/2026" in chat.text
    assert "Tài khoản chat: Test" in chat.text
    assert "Hộ gia đình bạn đã đăng ký: 1" in chat.text
    assert "Đề cử bạn đã gửi: 1" in chat.text
    assert "Khảo sát đã trả lời: 1" in chat.text
    assert "🗑️ Xoá dữ liệu của tôi" in chat.labels()


async def test_delete_my_data_removes_personal_data_and_keeps_anonymous_answers(
    chat, sessionmaker
) -> None:
    await resident_with_everything(chat)
    await chat.press("Dữ liệu của tôi")
    await chat.press("Xoá dữ liệu của tôi")
    assert "không thể hoàn tác" in chat.text
    await chat.press("Xoá vĩnh viễn")
    assert "Đã xoá dữ liệu của bạn: 1 hộ gia đình, 1 đề cử" in chat.text
    assert await count(sessionmaker, Resident) == 0
    assert await count(sessionmaker, ChannelIdentity) == 0
    assert await count(sessionmaker, Household) == 0
    assert await count(sessionmaker, Nomination) == 0  # not yet reviewed: deleted
    async with sessionmaker() as session:
        [response] = (await session.execute(select(SurveyResponse))).scalars().all()
    assert response.resident_id is None and response.group_code == "05"
    await chat.say("xin chào")
    assert "Bạn có đồng ý không?" in chat.text  # a stranger again: consent first


async def test_keeping_data_changes_nothing(chat, sessionmaker) -> None:
    await chat.join()
    await chat.say("/xoadulieu")
    await chat.press("Không xoá")
    assert "được giữ nguyên" in chat.text
    assert await count(sessionmaker, Resident) == 1


async def test_deleting_drops_messages_still_waiting_for_the_resident(chat, sessionmaker):
    from handlers.nomination_review import change_status

    await chat.join()
    await play_without_join(chat, "nomination_individual")
    async with sessionmaker() as session, session.begin():
        nomination = (await session.execute(select(Nomination))).scalar_one()
        await change_status(session, nomination.id, "under_review", now=chat.dispatcher.clock())
    assert await count(sessionmaker, OutboxMessage) == 1
    await chat.say("xoá dữ liệu")
    await chat.press("Xoá vĩnh viễn")
    assert await count(sessionmaker, OutboxMessage) == 0
    async with sessionmaker() as session:
        kept = (await session.execute(select(Nomination))).scalar_one()
    assert kept.nominator_resident_id is None  # reviewed: kept without the nominator


async def test_guests_are_asked_to_join_first(chat) -> None:
    await chat.say("/toi")
    assert "Bạn có đồng ý không?" in chat.text
