"""Broadcasts (/thongbao): leaders to their groups, officers to any, reports, /tinhtrang."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.delivery import DeliveryWorker
from bot.events import DeliveryResult, Reply
from handlers import role_service
from handlers.broadcast_status import report_finished_broadcasts
from storage.models import OutboxMessage, Resident
from storage.models.broadcasts import Broadcast
from storage.models.roles import AuditEntry
from storage.repos import audiences, households, residents, roles, surveys
from storage.repos.households import HouseholdDetails
from tests.fake_channel import FakeChannel, give_role

MEETING = "Tối thứ Bảy 19h họp tổ tại nhà văn hoá, mời bà con đến đông đủ."
CLEANUP = "Sáng Chủ nhật 7h tổng vệ sinh đường phố."


async def joined(make_chat, user: str, group: str = "Tổ dân phố 5") -> FakeChannel:
    chat = make_chat(user)
    await chat.join(group)
    return chat


async def resident_id(sessionmaker, chat: FakeChannel) -> int:
    async with sessionmaker() as session:
        found = await roles.resident_by_account(session, chat.channel, chat.user_id)
    assert found is not None
    return found


async def queued(sessionmaker) -> dict[str, str]:
    """Broadcast messages in the outbox: chat id -> text."""
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "broadcast")
        )
        return {row.chat_id: row.payload["text"] for row in rows}


async def audit_log(sessionmaker, action: str) -> list[AuditEntry]:
    async with sessionmaker() as session:
        stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list((await session.scalars(stmt)).all())


async def stop_reminders(sessionmaker, chat: FakeChannel, clock) -> None:
    rid = await resident_id(sessionmaker, chat)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Resident).where(Resident.id == rid).values(reminders_off_at=clock.now)
        )


async def block(sessionmaker, chat: FakeChannel, clock) -> None:
    async with sessionmaker() as session, session.begin():
        await residents.mark_unreachable(session, chat.channel, chat.chat_id or chat.user_id,
                                         clock.now)


async def make_leader(make_chat, sessionmaker, *groups: str) -> FakeChannel:
    leader = await joined(make_chat, "leader")
    for group in groups:
        await give_role(sessionmaker, leader, "leader", group)
    await leader.say("/menu")
    return leader


async def make_officer(make_chat, sessionmaker) -> FakeChannel:
    officer = await joined(make_chat, "officer", "Tổ dân phố 1")
    await give_role(sessionmaker, officer, "officer")
    await officer.say("/menu")
    return officer


async def test_a_leader_broadcasts_to_their_group(make_chat, sessionmaker, clock):
    leader = await make_leader(make_chat, sessionmaker, "05")
    neighbour = await joined(make_chat, "an")
    quiet = await joined(make_chat, "binh")
    gone = await joined(make_chat, "chi")
    await joined(make_chat, "dung", "Tổ dân phố 7")
    await stop_reminders(sessionmaker, quiet, clock)
    await block(sessionmaker, gone, clock)

    await leader.press("Gửi thông báo")
    assert "Gửi cho những ai ở Tổ dân phố 5?" in leader.text
    await leader.press("Mọi người")
    assert "gõ nội dung thông báo" in leader.text
    await leader.say(MEETING)
    assert f"📣 Thông báo của Tổ dân phố 5:\n{MEETING}" in leader.text
    assert "3 người (3 tài khoản chat)" in leader.text
    assert leader.labels()[:3] == ["✅ Gửi cho 3 người", "✏️ Sửa", "Huỷ"]
    await leader.press("Gửi cho 3 người")
    assert "Đã xếp 3 tin vào hàng gửi" in leader.text

    sent = await queued(sessionmaker)
    assert set(sent) == {leader.user_id, neighbour.user_id, quiet.user_id}
    assert set(sent.values()) == {f"📣 Thông báo của Tổ dân phố 5:\n{MEETING}"}
    async with sessionmaker() as session:
        broadcast = (await session.scalars(select(Broadcast))).one()
        keys = set((await session.scalars(select(OutboxMessage.key))).all())
    assert (broadcast.author_role, broadcast.groups, broadcast.audience) == ("leader", ["05"],
                                                                            "all")
    assert (broadcast.text, broadcast.recipients) == (MEETING, 3)
    assert broadcast.author_resident_id == await resident_id(sessionmaker, leader)
    assert f"broadcast:{broadcast.id}:test:{quiet.user_id}" in keys
    [entry] = await audit_log(sessionmaker, "broadcast_sent")
    assert entry.actor == f"resident:{broadcast.author_resident_id}"
    assert (entry.details["groups"], entry.details["audience"], entry.details["count"]) == (
        ["05"], "all", 3)


async def test_the_phrase_and_the_english_alias_open_it(make_chat, sessionmaker):
    leader = await make_leader(make_chat, sessionmaker, "05")
    await leader.say("gui thong bao")
    assert "Gửi cho những ai ở Tổ dân phố 5?" in leader.text
    await leader.say("/huy")
    await leader.say("/broadcast")
    assert "Gửi cho những ai ở Tổ dân phố 5?" in leader.text


async def test_a_leader_of_two_groups_chooses_and_each_is_signed_by_its_group(
    make_chat, sessionmaker
):
    leader = await make_leader(make_chat, sessionmaker, "05", "06")
    five = await joined(make_chat, "an")
    six = await joined(make_chat, "binh", "Tổ dân phố 6")
    await joined(make_chat, "chi", "Tổ dân phố 7")
    await leader.say("/thongbao")
    assert "Bạn phụ trách Tổ dân phố 5, Tổ dân phố 6" in leader.text
    assert leader.labels()[:2] == ["▫️ Tổ dân phố 5", "▫️ Tổ dân phố 6"]
    await leader.press("Tổ dân phố 6")
    await leader.press("Xong")
    assert "Gửi cho những ai ở Tổ dân phố 6?" in leader.text
    await leader.press("Mọi người")
    await leader.say(CLEANUP)
    assert "📣 Thông báo của Tổ dân phố 6:" in leader.text
    await leader.press("Gửi cho 1 người")
    signed = f"📣 Thông báo của Tổ dân phố 6:\n{CLEANUP}"
    assert await queued(sessionmaker) == {six.user_id: signed}

    await leader.say("/thongbao")
    await leader.press("Chọn tất cả")
    await leader.press("Mọi người")
    await leader.say(MEETING)
    await leader.press("Gửi cho 3 người")
    async with sessionmaker() as session:
        texts = {row.chat_id: row.payload["text"] for row in await session.scalars(
            select(OutboxMessage).where(OutboxMessage.key.like("broadcast:2:%")))}
    assert texts == {
        leader.user_id: f"📣 Thông báo của Tổ dân phố 5:\n{MEETING}",
        five.user_id: f"📣 Thông báo của Tổ dân phố 5:\n{MEETING}",
        six.user_id: f"📣 Thông báo của Tổ dân phố 6:\n{MEETING}",
    }


async def test_a_leader_cannot_reach_another_group(make_chat, sessionmaker):
    leader = await make_leader(make_chat, sessionmaker, "05", "06")
    await joined(make_chat, "an", "Tổ dân phố 7")
    await leader.say("/thongbao 7")
    assert "chỉ gửi được thông báo cho tổ mình phụ trách" in leader.text
    assert "Tổ dân phố 7 không thuộc quyền của bạn" in leader.text
    await leader.say("/thongbao")
    await leader.say("Tổ dân phố 7")
    assert "Tổ dân phố 7 không thuộc quyền của bạn" in leader.text
    assert leader.labels()[:2] == ["▫️ Tổ dân phố 5", "▫️ Tổ dân phố 6"]  # asked again
    await leader.say("07")
    assert "không thuộc quyền của bạn" in leader.text
    refused = await audit_log(sessionmaker, "denied")
    assert [(e.target, e.details["command"]) for e in refused] == [("group:07", "/thongbao")] * 3
    assert await queued(sessionmaker) == {}


async def test_a_leader_whose_role_is_revoked_midway_cannot_send(make_chat, sessionmaker, clock):
    leader = await make_leader(make_chat, sessionmaker, "05")
    await leader.say("/thongbao")
    await leader.press("Mọi người")
    await leader.say(MEETING)
    async with sessionmaker() as session, session.begin():
        await role_service.revoke(session, resident_id=await resident_id(sessionmaker, leader),
                                  role="leader", group_code="05", actor="test", at=clock.now)
    await leader.press("Gửi cho")
    assert "chỉ dành cho cán bộ" in leader.text
    assert await queued(sessionmaker) == {}
    assert [e.target for e in await audit_log(sessionmaker, "denied")] == ["group:05"]


@pytest.fixture
async def ward_people(make_chat, sessionmaker, clock, ward):
    """An officer (group 01) and residents of 05, 07 and 01 with different histories."""
    officer = await make_officer(make_chat, sessionmaker)
    people = {
        "an": await joined(make_chat, "an"),
        "binh": await joined(make_chat, "binh"),
        "chi": await joined(make_chat, "chi", "Tổ dân phố 7"),
        "dung": await joined(make_chat, "dung", "Tổ dân phố 7"),
        "em": await joined(make_chat, "em", "Tổ dân phố 1"),
    }
    await stop_reminders(sessionmaker, people["binh"], clock)
    ids = {name: await resident_id(sessionmaker, chat) for name, chat in people.items()}
    async with sessionmaker() as session, session.begin():
        for n, (name, year) in enumerate((("an", 2026), ("dung", 2025)), start=1):
            details = HouseholdDetails(group_code="05", head_name=f"Hộ {name}",
                                       address=f"Số {n} Lê Lợi", phone=f"+8491234567{n}",
                                       members=3)
            await households.register(session, details, household_id=None,
                                      resident_id=ids[name], consent_at=clock.now, year=year,
                                      campaigns=["ngoi-nha-xanh"], at=clock.now)
        survey = await surveys.ensure_ward_survey(session, ward.survey, clock.now)
        for name in ("an", "chi"):
            await surveys.save_response(session, survey_id=survey.id, resident_id=ids[name],
                                        group_code="05", answers={"q1": 5},
                                        started_at=clock.now, now=clock.now)
    return officer, survey.id


async def expected(sessionmaker, groups, audience, survey_id=None) -> set[str]:
    async with sessionmaker() as session:
        found = await audiences.recipients(session, groups=groups, audience=audience,
                                           year=2026, survey_id=survey_id)
    return {r.chat_id for r in found}


@pytest.mark.parametrize(
    ("audience", "label", "wanted"),
    [
        ("unregistered", "Chưa đăng ký hộ năm 2026", {"binh", "chi", "dung"}),
        ("no_survey", "Chưa trả lời khảo sát", {"binh", "dung"}),
        ("reminders", "Người đang nhận nhắc nhở", {"an", "chi", "dung"}),
    ],
)
async def test_an_officer_picks_several_groups_and_an_audience(
    ward_people, sessionmaker, audience, label, wanted
):
    officer, survey_id = ward_people
    await officer.press("Gửi thông báo")
    await officer.press("Một số tổ dân phố")
    await officer.press("Tổ dân phố 5")
    await officer.press("Tổ dân phố 7")
    await officer.press("Xong (2")
    assert "Gửi cho những ai ở Tổ dân phố 5, Tổ dân phố 7?" in officer.text
    await officer.press(label)
    await officer.say(CLEANUP)
    assert f"📣 Thông báo của UBND Phường An Hải:\n{CLEANUP}" in officer.text
    assert f"{len(wanted)} người ({len(wanted)} tài khoản chat)" in officer.text
    await officer.press("Gửi cho")
    assert f"Đã xếp {len(wanted)} tin" in officer.text
    sent = await queued(sessionmaker)
    assert set(sent) == wanted == await expected(sessionmaker, ["05", "07"], audience, survey_id)
    [entry] = await audit_log(sessionmaker, "broadcast_sent")
    assert (entry.details["groups"], entry.details["audience"]) == (["05", "07"], audience)


async def test_an_officer_broadcasts_ward_wide(ward_people, sessionmaker):
    officer, _ = ward_people
    await officer.say("/thongbao")
    await officer.press("Toàn phường")
    assert "Gửi cho những ai ở toàn phường?" in officer.text
    await officer.press("Mọi người")
    await officer.say(CLEANUP)
    assert "6 người (6 tài khoản chat) ở toàn phường" in officer.text
    await officer.press("Gửi cho 6 người")
    sent = await queued(sessionmaker)
    assert set(sent) == {"officer", "an", "binh", "chi", "dung", "em"}
    assert set(sent) == await expected(sessionmaker, [f"{n:02d}" for n in range(1, 24)], "all")
    assert set(sent.values()) == {f"📣 Thông báo của UBND Phường An Hải:\n{CLEANUP}"}


async def test_an_officer_sends_to_one_group_by_name(ward_people, sessionmaker):
    officer, _ = ward_people
    await officer.say("/thongbao")
    await officer.press("Một tổ dân phố")
    await officer.say("tổ 7")
    await officer.press("Mọi người")
    await officer.say(CLEANUP)
    await officer.press("Gửi cho 2 người")
    assert set(await queued(sessionmaker)) == {"chi", "dung"}


async def test_nobody_to_reach_is_said_and_sending_is_not_offered(ward_people, sessionmaker):
    officer, _ = ward_people
    await officer.say("/thongbao 23")
    await officer.press("Mọi người")
    await officer.say(CLEANUP)
    assert "Không có ai nhận" in officer.text
    assert officer.labels() == ["✏️ Sửa", "Huỷ", "⬅️ Quay lại"]
    await officer.say("1")  # the first button is now "Sửa", never a send
    assert "gõ lại nội dung" in officer.text
    assert await queued(sessionmaker) == {}


async def test_the_text_can_be_edited_before_sending(make_chat, sessionmaker):
    leader = await make_leader(make_chat, sessionmaker, "05")
    await leader.say("/thongbao")
    await leader.press("Mọi người")
    await leader.say("Họp")
    assert "cần ít nhất 5 ký tự" in leader.text and "Ví dụ" in leader.text
    await leader.say("x" * 2001)
    assert "tối đa 2000 ký tự, bạn đã viết 2001" in leader.text
    await leader.say(MEETING)
    await leader.press("Sửa")
    assert MEETING in leader.text  # the old text, to copy
    await leader.say(CLEANUP)
    assert f"📣 Thông báo của Tổ dân phố 5:\n{CLEANUP}" in leader.text
    await leader.press("Gửi cho 1 người")
    assert await queued(sessionmaker) == {"leader": f"📣 Thông báo của Tổ dân phố 5:\n{CLEANUP}"}


async def test_cancelling_sends_nothing(make_chat, sessionmaker):
    leader = await make_leader(make_chat, sessionmaker, "05")
    await leader.say("/thongbao")
    await leader.press("Mọi người")
    await leader.say("/huy")
    assert "Đã huỷ: gửi thông báo" in leader.text
    await leader.say("/thongbao")
    await leader.press("Mọi người")
    await leader.say(MEETING)
    await leader.press("Huỷ")
    assert "Đã huỷ, thông báo chưa được gửi" in leader.text
    async with sessionmaker() as session:
        assert (await session.scalars(select(Broadcast))).all() == []
    assert await queued(sessionmaker) == {}


@pytest.mark.parametrize("command", ["/thongbao", "gửi thông báo", "/tinhtrang"])
async def test_residents_and_guests_are_refused_and_it_is_logged(make_chat, sessionmaker,
                                                                 command):
    resident = await joined(make_chat, "an")
    guest = make_chat("guest")
    for chat in (resident, guest):
        await chat.say(command)
        assert "chỉ dành cho cán bộ" in chat.text
    refused = await audit_log(sessionmaker, "denied")
    name = "/tinhtrang" if command == "/tinhtrang" else "/thongbao"
    assert [(e.target, e.details["role"]) for e in refused] == [(name, "resident"),
                                                                (name, "guest")]


@dataclass
class Phones(FakeChannel):
    """The test channel as the delivery worker sees it; some chats have blocked the bot."""

    blocked: set[str] = field(default_factory=set)

    async def send(self, chat_id: str, reply: Reply) -> DeliveryResult:
        if chat_id in self.blocked:
            return DeliveryResult("blocked", reason="Forbidden: bot was blocked by the user")
        return await super().send(chat_id, reply)


async def drain(worker: DeliveryWorker) -> None:
    while await worker.run_once():
        pass


async def test_the_author_gets_progress_and_one_final_report(make_chat, sessionmaker, clock,
                                                             dispatcher):
    officer = await make_officer(make_chat, sessionmaker)
    for user in ("an", "binh", "chi"):
        await joined(make_chat, user)
    await officer.say("/thongbao 5")
    await officer.press("Mọi người")
    await officer.say(CLEANUP)
    await officer.press("Gửi cho 3 người")
    phones = Phones(dispatcher, blocked={"chi"})
    worker = DeliveryWorker(sessionmaker, {"test": phones}, idle_wait=0.01)

    assert await report_finished_broadcasts(sessionmaker, clock.now) == 0  # nothing sent yet
    clock.now += timedelta(minutes=2)
    assert await report_finished_broadcasts(sessionmaker, clock.now) == 1
    await drain(worker)
    received = {chat: reply.text for chat, reply in phones.sent}
    assert received["officer"] == "⏳ Thông báo số 1 đang gửi: đã gửi 0/3, còn chờ 3. " \
        "Gõ /tinhtrang 1 để xem lại."
    assert received["an"] == received["binh"] == f"📣 Thông báo của UBND Phường An Hải:\n{CLEANUP}"
    assert "chi" not in received

    assert await report_finished_broadcasts(sessionmaker, clock.now) == 1
    assert await report_finished_broadcasts(sessionmaker, clock.now) == 0  # once
    phones.sent.clear()
    await drain(worker)
    [(chat, report)] = phones.sent
    assert chat == "officer"
    assert report.text == (
        "📊 Thông báo số 1 (10:00 24/11/2026) đã gửi xong:\n✅ Đã gửi: 2\n⚠️ Lỗi: 0\n"
        "🚫 Không liên lạc được (đã chặn chatbot): 1"
    )
    await officer.say("/thongbao 5")
    await officer.press("Mọi người")
    await officer.say(MEETING)
    assert "2 người (2 tài khoản chat)" in officer.text  # the blocked chat is skipped now


async def test_status_shows_the_figures_to_those_who_may_see_them(make_chat, sessionmaker,
                                                                  dispatcher):
    officer = await make_officer(make_chat, sessionmaker)
    leader = await make_leader(make_chat, sessionmaker, "05")
    await joined(make_chat, "an")
    await officer.say("/tinhtrang")
    assert "Chưa có thông báo nào" in officer.text
    await leader.say("/thongbao")
    await leader.press("Mọi người")
    await leader.say(MEETING)
    await leader.press("Gửi cho 2 người")
    await leader.press("Xem tiến độ")
    assert "📊 Thông báo số 1" in leader.text
    assert "Tổ dân phố 5" in leader.text and "“Mọi người”" in leader.text
    assert "✅ Đã gửi: 0\n⏳ Đang chờ: 2\n⚠️ Lỗi: 0\n🚫 Không liên lạc được: 0" in leader.text

    await officer.say("/thongbao")
    await officer.press("Toàn phường")
    await officer.press("Mọi người")
    await officer.say(CLEANUP)
    await officer.press("Gửi cho")
    await drain(DeliveryWorker(sessionmaker, {"test": Phones(dispatcher)}))
    await officer.say("/tinhtrang")
    assert "📊 Thông báo số 2" in officer.text and "toàn phường" in officer.text
    assert "✅ Đã gửi: 3\n⏳ Đang chờ: 0" in officer.text and "Đã gửi xong" in officer.text
    assert officer.labels() == ["Số 1 · 24/11/2026"]
    await officer.press("Số 1")
    assert "📊 Thông báo số 1" in officer.text and "✅ Đã gửi: 2" in officer.text

    await leader.say("/tinhtrang")
    assert "📊 Thông báo số 1" in leader.text  # the ward-wide one is not the leader's
    await leader.say("/tinhtrang 2")
    assert "không phải của bạn" in leader.text
    [refused] = await audit_log(sessionmaker, "denied")
    assert (refused.target, refused.details["command"]) == ("broadcast:2", "/tinhtrang")
    await leader.say("/tinhtrang 9")
    assert "Không có thông báo số 9" in leader.text
    await leader.say("/tinhtrang abc")
    assert "/tinhtrang 12" in leader.text
