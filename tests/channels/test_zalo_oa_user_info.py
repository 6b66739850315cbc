"""Sharing name, phone and address through the platform's form during household
registration: on the test channel, and over the Zalo OA webhook (request_user_info out,
user_submit_info in). Each shared field is checked as if typed; nothing is kept outside
the registration or before consent."""

from __future__ import annotations

from sqlalchemy import func, select

from bot import keys
from storage.models.households import Household
from storage.models.zalo_oa import ZaloOAEvent
from tests.channels.test_zalo_oa import oa_server, say
from tests.fake_channel import FakeChannel
from tests.fakes.zalo_oa_api import FakeZaloOA

USER = "6302917364501928374"


async def households_in(sessionmaker) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Household)) or 0)


async def at_name(chat: FakeChannel) -> None:
    chat.user_info_form = True
    await chat.join()
    await chat.say("/dangky")
    await chat.press("Đồng ý")


async def test_the_name_question_offers_the_form_where_the_channel_has_one(
    chat: FakeChannel,
) -> None:
    await chat.join()
    await chat.say("/dangky")
    await chat.press("Đồng ý")
    assert not chat.last[-1].request_user_info and "Zalo" not in chat.text
    await chat.say("/huy")
    chat.user_info_form = True
    await chat.say("/dangky")
    await chat.press("Đồng ý")
    assert chat.last[-1].request_user_info
    assert "Họ và tên chủ hộ" in chat.text and "từ Zalo" in chat.text


async def test_shared_details_fill_the_registration_and_are_confirmed_in_the_summary(
    chat: FakeChannel, sessionmaker
) -> None:
    await at_name(chat)
    await chat.share_info(name="Nguyễn Văn An", phone="0912 345 678",
                          address="Số 12, ngõ 34, phố Lê Lợi, Phường An Hải, Hải Phòng")
    assert "đã nhận thông tin từ Zalo" in chat.text
    assert "bao nhiêu người" in chat.text
    await chat.press("4")
    await chat.press("Chọn tất cả")
    assert "Nguyễn Văn An" in chat.text and "0912 345 678" in chat.text
    assert "Số 12, ngõ 34, phố Lê Lợi" in chat.text
    await chat.press("Xác nhận")
    async with sessionmaker() as session:
        [household] = (await session.scalars(select(Household))).all()
    assert (household.head_name, household.phone) == ("Nguyễn Văn An", "+84912345678")


async def test_unusable_fields_are_named_and_asked_for_in_turn(
    chat: FakeChannel, sessionmaker
) -> None:
    await at_name(chat)
    await chat.share_info(name="Trần Thị Bình", phone="12345")
    assert "Số điện thoại" in chat.text and "chưa dùng được" in chat.text
    assert "Địa chỉ của hộ" in chat.text  # the first field still missing
    await chat.say("Số 5, ngõ 9, phố Đà Nẵng")
    assert "Số điện thoại liên hệ" in chat.text
    await chat.say("0987 654 321")
    assert "bao nhiêu người" in chat.text
    await chat.say("Quay lại")  # back goes to the phone, not to a skipped question
    assert "Số điện thoại liên hệ" in chat.text
    assert await households_in(sessionmaker) == 0


async def test_a_bad_name_keeps_the_name_question(chat: FakeChannel) -> None:
    await at_name(chat)
    await chat.share_info(name="12345", phone="0912345678", address="Số 1 phố Lạch Tray")
    assert "Họ tên chủ hộ" in chat.text and "chưa dùng được" in chat.text
    assert "Họ và tên chủ hộ là gì" in chat.text and chat.last[-1].request_user_info
    await chat.say("Lê Văn Cường")
    assert "bao nhiêu người" in chat.text  # address and phone were kept


async def test_outside_registration_or_before_consent_nothing_is_kept(
    chat: FakeChannel, sessionmaker
) -> None:
    chat.user_info_form = True
    await chat.join()
    await chat.share_info(name="Nguyễn Văn An", phone="0912345678")
    assert "chỉ dùng khi đăng ký hộ gia đình" in chat.text
    await chat.say("/dangky")
    await chat.share_info(name="Nguyễn Văn An", phone="0912345678")
    assert "không lưu lại" in chat.text and "Đồng ý" in " ".join(chat.labels())
    await chat.press("Đồng ý")
    assert "Họ và tên chủ hộ là gì" in chat.text  # the flow had not moved on
    assert await households_in(sessionmaker) == 0


async def test_the_form_round_trip_over_the_oa_webhook(database_url: str) -> None:
    async with FakeZaloOA() as fake, oa_server(database_url, fake) as (server, channel):
        await say(fake, server, channel, fake.webhook_event("follow", USER))
        await say(fake, server, channel, fake.text_event(USER, "✅ Tôi đồng ý"))
        await say(fake, server, channel, fake.text_event(USER, "Tổ dân phố 5"))
        await say(fake, server, channel, fake.text_event(USER, "/dangky"))
        asked = await say(fake, server, channel, fake.text_event(USER, "✅ Đồng ý"))
        assert any("Họ và tên chủ hộ" in text for text in asked)
        form = fake.sent_to(USER)[-1]
        assert form.template_type == "request_user_info"
        [element] = form.message["attachment"]["payload"]["elements"]
        assert element["title"] and element["image_url"].endswith("/zalo-oa/form.png")

        shared = fake.submit_info_event(USER, name="Nguyễn Văn An", phone="0912345678",
                                        full_address={"user_address": "Số 12 ngõ 34 Lê Lợi",
                                                      "user_ward": "Phường An Hải",
                                                      "user_city": "Hải Phòng"})
        next_question = await say(fake, server, channel, shared)
        assert any("bao nhiêu người" in text for text in next_question), next_question
        await say(fake, server, channel, fake.text_event(USER, "4"))
        summary = await say(fake, server, channel, fake.text_event(USER, "☑️ Chọn tất cả"))
        assert any("Số 12 ngõ 34 Lê Lợi, Phường An Hải, Hải Phòng" in t for t in summary)
        async with server.app[keys.SESSIONMAKER]() as session:
            payloads = list(await session.scalars(
                select(ZaloOAEvent.payload).where(ZaloOAEvent.event_name == "user_submit_info")))
        assert payloads and all("info" not in p for p in payloads)
        assert "Nguyễn Văn An" not in str(payloads)
