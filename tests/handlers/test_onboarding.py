"""Joining the bot: welcome, consent, group, menu; nothing stored before consent."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import ChannelIdentity, ChatState, ProcessedUpdate, Resident
from tests.fake_channel import FakeChannel


async def count(sessionmaker, model) -> int:
    async with sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_start_shows_vietnamese_welcome_and_consent(chat: FakeChannel) -> None:
    await chat.say("/start")
    assert "Chào bạn" in chat.text
    assert "Phường An Hải" in chat.text
    assert "Bạn có đồng ý không?" in chat.text
    assert chat.labels() == ["✅ Tôi đồng ý", "Không đồng ý"]


async def test_full_onboarding_reaches_menu_and_stores_resident(chat, sessionmaker, clock):
    await chat.say("/batdau")
    await chat.press("Tôi đồng ý")
    assert "tổ dân phố nào" in chat.text
    assert len(chat.labels()) == 23 + 1  # the groups and "Quay lại"
    await chat.press("Tổ dân phố 12")
    assert "Bạn đã tham gia cùng Tổ dân phố 12" in chat.text
    assert "Bạn muốn làm gì?" in chat.text
    assert "🏘️ Đổi tổ dân phố" in chat.labels()
    async with sessionmaker() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
        identity = (await session.execute(select(ChannelIdentity))).scalar_one()
    assert resident.group_code == "12"
    assert resident.consent_at == clock.now
    assert (identity.channel, identity.user_id) == ("test", "u1")


async def test_nothing_personal_is_stored_before_consent(chat, sessionmaker):
    await chat.say("/batdau")
    await chat.say("xin chào, tôi là Nguyễn Văn An")
    assert await count(sessionmaker, Resident) == 0
    assert await count(sessionmaker, ChannelIdentity) == 0
    async with sessionmaker() as session:
        state = (await session.execute(select(ChatState))).scalar_one()
    assert "Nguyễn" not in str(state.data)


async def test_declining_stores_nothing_and_says_how_to_come_back(chat, sessionmaker):
    await chat.say("/batdau")
    await chat.press("Không đồng ý")
    assert "không có thông tin nào của bạn được lưu" in chat.text
    assert "/batdau" in chat.text
    assert await count(sessionmaker, Resident) == 0


async def test_choices_can_be_typed_with_or_without_diacritics_or_as_numbers(chat):
    await chat.say("bắt đầu")
    await chat.say("DONG Y")
    assert "tổ dân phố nào" in chat.text
    await chat.say("tổ 7")
    assert "Tổ dân phố 7" in chat.text


async def test_numbered_choice_without_buttons(make_chat):
    chat = make_chat("zalo-like", buttons=False)
    await chat.say("hi")
    await chat.say("1")
    await chat.say("23")
    assert "Bạn đã tham gia cùng Tổ dân phố 23" in chat.text


async def test_wrong_answer_keeps_the_question_and_explains(chat):
    await chat.say("/batdau")
    await chat.press("Tôi đồng ý")
    await chat.say("tổ 99")
    assert "gõ số thứ tự (1 đến 23)" in chat.text
    assert len(chat.labels()) == 24
    await chat.say("3")
    assert "Tổ dân phố 3" in chat.text


async def test_old_button_is_refused_politely(chat):
    await chat.say("/batdau")
    old = chat.button_data("Tôi đồng ý")
    await chat.press("Tôi đồng ý")
    await chat.press_data(old)
    assert "câu hỏi cũ" in chat.text
    assert "tổ dân phố nào" in chat.text


async def test_back_returns_to_the_previous_question(chat):
    await chat.say("/batdau")
    await chat.press("Tôi đồng ý")
    await chat.press("Quay lại")
    assert "Bạn có đồng ý không?" in chat.text


async def test_cancel_at_any_step_and_help_anywhere(chat):
    await chat.say("/batdau")
    await chat.say("trợ giúp")
    assert "/trogiup" in chat.text
    assert "Bạn đang làm dở: tham gia chatbot" in chat.text
    await chat.say("/huy")
    assert "Đã huỷ" in chat.text
    await chat.say("/cancel")
    assert "không có việc nào đang làm dở" in chat.text


async def test_unknown_text_and_commands_lead_to_the_menu(chat):
    await chat.join()
    await chat.say("asdfgh")
    assert "chưa hiểu" in chat.text
    assert "Bạn muốn làm gì?" in chat.text
    await chat.say("/khonglenhnay")
    assert "Không có lệnh /khonglenhnay" in chat.text
    await chat.send_photo()
    assert "chỉ đọc được tin nhắn chữ" in chat.text


async def test_menu_choice_by_number(chat):
    await chat.join()
    menu = chat.labels()
    position = menu.index("🌐 Ngôn ngữ / Language") + 1
    await chat.say(str(position))
    assert "Choose your language" in chat.text


async def test_english_is_a_second_language(chat):
    await chat.say("/language")
    await chat.press("English")
    assert "Switched to English" in chat.text
    assert "Do you agree?" in chat.text
    await chat.press("I agree")
    await chat.press("Tổ dân phố 2")
    assert "You have joined Tổ dân phố 2" in chat.text


async def test_change_group(chat, sessionmaker):
    await chat.join("Tổ dân phố 5")
    await chat.press("Đổi tổ dân phố")
    assert "Bạn đang ở Tổ dân phố 5" in chat.text
    await chat.press("Tổ dân phố 9")
    assert "Đã chuyển bạn sang Tổ dân phố 9" in chat.text
    async with sessionmaker() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
    assert resident.group_code == "09"


async def test_resume_after_leaving_mid_flow(chat, make_chat, dispatcher):
    await chat.say("/batdau")
    await chat.press("Tôi đồng ý")
    again = make_chat("u1")  # the same resident, later, a new conversation object
    await again.say("/batdau")
    assert "tiếp tục từ chỗ đang dở" in again.text
    assert "tổ dân phố nào" in again.text


async def test_starting_another_flow_mid_flow_offers_continue_or_cancel(chat):
    await chat.join()
    await chat.press("Đổi tổ dân phố")
    await chat.say("/start")
    assert "tiếp tục từ chỗ đang dở" in chat.text
    await chat.say("/huy")
    assert "Đã huỷ: đổi tổ dân phố" in chat.text


async def test_duplicate_update_is_handled_once(chat, sessionmaker):
    incoming = chat._incoming(kind="command", command="batdau")
    first = await chat.deliver(incoming)
    second = await chat.deliver(incoming)
    assert first and "Chào bạn" in first[0].text
    assert second == []
    assert await count(sessionmaker, ProcessedUpdate) == 1


async def test_numbered_back_button_without_buttons(make_chat):
    chat = make_chat("numbers-only", buttons=False)
    await chat.say("/batdau")
    await chat.say("1")
    assert chat.labels()[-1] == "⬅️ Quay lại"
    await chat.say(str(len(chat.labels())))  # the number shown beside "Quay lại"
    assert "Bạn có đồng ý không?" in chat.text


async def test_a_choice_can_be_named_by_its_first_words(chat):
    await chat.join()
    await chat.say("/decu")
    await chat.press("Đồng ý")
    await chat.say("cá nhân")
    await chat.say("Trần Văn Bình")
    await chat.press("Cùng tổ với tôi")
    await chat.say("an ninh")
    assert "đã làm việc tốt gì" in chat.text
