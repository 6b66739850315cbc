"""The satisfaction survey as a resident meets it: /khaosat, 8 questions, thanks, comment."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.dispatcher import Dispatcher
from bot.registry import Registry
from handlers import ROUTERS
from storage.models.surveys import Survey, SurveyResponse
from storage.repos import surveys
from tests.fake_channel import FakeChannel

SCALE = ["1 · Rất không hài lòng", "2 · Không hài lòng", "3 · Bình thường", "4 · Hài lòng",
         "5 · Rất hài lòng"]


async def responses(sessionmaker) -> list[SurveyResponse]:
    async with sessionmaker() as session:
        return list((await session.execute(select(SurveyResponse))).scalars())


async def close_the_survey(sessionmaker, ward, when: datetime) -> None:
    async with sessionmaker() as session, session.begin():
        survey = await surveys.ensure_ward_survey(session, ward.survey, when)
        await surveys.close_survey(session, survey.id, when)


async def answer_by_buttons(chat: FakeChannel) -> int:
    """Press through all 8 questions; returns how many taps it took."""
    taps = 0
    for level in ("4 ·", "5 ·", "3 ·", "4 ·", "Loa phát thanh", "An ninh", "Xong", "Có",
                  "Bỏ qua"):
        await chat.press(level)
        taps += 1
    return taps


async def test_the_whole_survey_by_buttons_takes_at_most_12_taps(chat, sessionmaker):
    await chat.join("Tổ dân phố 5")
    await chat.press("Khảo sát")
    assert "8 câu hỏi" in chat.text
    assert "ẩn danh" in chat.text and "số điện thoại" in chat.text
    assert "mỗi người được tính một lần" in chat.text
    assert "Câu 1/8" in chat.text
    assert chat.labels() == SCALE
    taps = 1
    await chat.press("4 ·")
    await chat.press("5 ·")
    taps += 2
    assert "Câu 3/8" in chat.text
    assert "⬅️ Quay lại" in chat.labels()
    await chat.press("3 ·")
    await chat.press("4 ·")
    assert "Câu 5/8" in chat.text
    assert chat.labels()[:5] == ["Họp tổ dân phố", "Loa phát thanh", "Zalo / mạng xã hội",
                                 "Cán bộ đến nhà", "Khác"]
    await chat.press("Loa phát thanh")
    assert "Câu 6/8" in chat.text
    assert not any("Chọn tất cả" in label for label in chat.labels())
    await chat.press("An ninh")
    assert "✅ An ninh trật tự" in chat.labels()
    await chat.press("Xong")
    assert "Câu 7/8" in chat.text
    assert chat.labels() == ["Có", "Không", "⬅️ Quay lại"]
    await chat.press("Có")
    assert "Câu 8/8" in chat.text
    assert "Bỏ qua ➡️" in chat.labels()
    await chat.press("Bỏ qua")
    taps += 7
    assert taps <= 12
    assert "Cảm ơn bạn đã trả lời khảo sát" in chat.text
    assert "ẩn danh" in chat.text
    assert "💬 Gửi góp ý" in chat.labels()
    assert "📝 Khảo sát hài lòng" in chat.labels()
    [response] = await responses(sessionmaker)
    assert response.group_code == "05"
    assert response.answers == {"q1": 4, "q2": 5, "q3": 3, "q4": 4, "q5": 1, "q6": [1],
                                "q7": True, "q8": None}


async def test_typed_answers_with_or_without_diacritics(chat, sessionmaker):
    await chat.join()
    await chat.say("khao sat")
    await chat.say("hai long")
    assert "Câu 2/8" in chat.text
    await chat.say("Rất hài lòng")
    await chat.say("khong hai long")
    await chat.say("1")
    await chat.say("zalo")
    assert "Câu 6/8" in chat.text
    await chat.say("rác thải")
    assert "✅ Môi trường, rác thải" in chat.labels()
    await chat.say("Hỗ trợ người nghèo")
    await chat.say("xong")
    assert "Câu 7/8" in chat.text
    await chat.say("ko")
    await chat.say("Nên tổ chức họp tổ vào buổi tối.")
    assert "Cảm ơn bạn đã trả lời khảo sát" in chat.text
    [response] = await responses(sessionmaker)
    assert response.answers == {"q1": 4, "q2": 5, "q3": 2, "q4": 1, "q5": 2, "q6": [0, 2],
                                "q7": False, "q8": "Nên tổ chức họp tổ vào buổi tối."}


async def test_yes_typed_without_diacritics(chat, sessionmaker):
    await chat.join()
    await chat.say("/khaosat")
    for answer in ("4", "4", "4", "4", "1", "1, 2"):
        await chat.say(answer)
    await chat.say("co")
    assert "Câu 8/8" in chat.text
    await chat.say("bỏ qua")
    [response] = await responses(sessionmaker)
    assert response.answers["q7"] is True and response.answers["q8"] is None


async def test_back_goes_one_question_and_changes_the_answer(chat, sessionmaker):
    await chat.join()
    await chat.say("/khaosat")
    await chat.press("2 ·")
    await chat.press("3 ·")
    assert "Câu 3/8" in chat.text
    await chat.press("Quay lại")
    assert "Câu 2/8" in chat.text
    assert "Lần trước bạn chọn: 3 · Bình thường" in chat.text
    await chat.press("5 ·")
    assert "Câu 3/8" in chat.text
    await answer_rest_from_q3(chat)
    [response] = await responses(sessionmaker)
    assert (response.answers["q1"], response.answers["q2"]) == (2, 5)


async def answer_rest_from_q3(chat: FakeChannel) -> None:
    for label in ("4 ·", "4 ·", "Khác", "Văn hóa", "Xong", "Không", "Bỏ qua"):
        await chat.press(label)
    assert "Cảm ơn bạn đã trả lời khảo sát" in chat.text


async def test_back_to_a_multiple_choice_shows_the_earlier_ticks(chat):
    await chat.join()
    await chat.say("/khaosat")
    for answer in ("4", "4", "4", "4", "1", "2, 5"):
        await chat.say(answer)
    assert "Câu 7/8" in chat.text
    await chat.say("quay lại")
    assert "Câu 6/8" in chat.text
    assert "✅ An ninh trật tự" in chat.labels()
    assert "✅ Văn hóa, thể thao" in chat.labels()
    assert "▫️ Hỗ trợ người nghèo" in chat.labels()


async def test_resume_after_leaving_keeps_the_question_and_answers(
    chat, make_chat, sessionmaker
):
    await chat.join()
    await chat.say("/khaosat")
    await chat.press("1 ·")
    await chat.press("2 ·")
    await chat.press("3 ·")
    assert "Câu 4/8" in chat.text
    assert await responses(sessionmaker) == []
    later = make_chat("u1")
    await later.say("khảo sát")
    assert "tiếp tục" in later.text
    assert "Câu 4/8" in later.text
    assert "8 câu hỏi" not in later.text
    await later.press("5 ·")
    await later.press("Họp tổ")
    await later.say("1")
    await later.press("Có")
    await later.say("Cảm ơn phường.")
    [response] = await responses(sessionmaker)
    assert response.answers == {"q1": 1, "q2": 2, "q3": 3, "q4": 5, "q5": 0, "q6": [0],
                                "q7": True, "q8": "Cảm ơn phường."}


async def test_answering_again_updates_the_one_response(chat, sessionmaker, clock):
    await chat.join()
    await chat.say("/khaosat")
    await answer_by_buttons(chat)
    clock.now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    await chat.press("Khảo sát")
    assert "Bạn đã trả lời ngày 24/11/2026" in chat.text
    assert "trả lời lại sẽ cập nhật câu trả lời của bạn" in chat.text
    assert chat.labels() == ["🔁 Trả lời lại", "Để sau"]
    await chat.press("Để sau")
    assert "Bạn muốn làm gì?" in chat.text
    await chat.say("/khaosat")
    await chat.press("Trả lời lại")
    assert "Câu 1/8" in chat.text
    for label in ("1 ·", "1 ·", "1 ·", "1 ·", "Khác", "Môi trường", "Xong", "Không"):
        await chat.press(label)
    await chat.say("Cần cải thiện.")
    [response] = await responses(sessionmaker)
    assert response.answers["q1"] == 1 and response.answers["q8"] == "Cần cải thiện."
    assert response.submitted_at == clock.now
    await chat.say("/khaosat")
    assert "Bạn đã trả lời ngày 30/11/2026" in chat.text


async def test_a_closed_survey_says_when_and_stores_nothing(chat, sessionmaker, ward, clock):
    await chat.join()
    await close_the_survey(sessionmaker, ward, clock.now)
    clock.now = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    await chat.say("/khaosat")
    assert "đã đóng ngày 24/11/2026" in chat.text
    assert "Câu 1/8" not in chat.text
    await chat.say("4")
    assert "Câu 2/8" not in chat.text
    assert await responses(sessionmaker) == []


async def test_closing_while_a_resident_answers_stores_nothing(chat, sessionmaker, ward, clock):
    await chat.join()
    await chat.say("/khaosat")
    await chat.press("4 ·")
    await close_the_survey(sessionmaker, ward, clock.now)
    await chat.press("4 ·")
    assert "đã đóng ngày 24/11/2026" in chat.text
    assert "Câu 3/8" not in chat.text
    assert await responses(sessionmaker) == []


async def test_no_open_survey_is_a_polite_note(sessionmaker, ward, clock):
    no_survey = ward.model_copy(update={"survey": None})
    chat = FakeChannel(Dispatcher(sessionmaker, Registry(ROUTERS), no_survey, clock=clock))
    await chat.join()
    await chat.say("/khaosat")
    assert "Hiện chưa có khảo sát nào đang mở" in chat.text
    assert "Bạn muốn làm gì?" in chat.text
    async with sessionmaker() as session:
        assert (await session.execute(select(Survey))).first() is None


async def test_an_old_button_from_an_earlier_question_changes_nothing(chat, sessionmaker):
    await chat.join()
    await chat.say("/khaosat")
    old = chat.button_data("1 ·")
    await chat.press("4 ·")
    await chat.press("4 ·")
    await chat.press_data(old)
    assert "câu hỏi cũ" in chat.text
    assert "Câu 3/8" in chat.text
    await answer_rest_from_q3(chat)
    [response] = await responses(sessionmaker)
    assert response.answers["q1"] == 4


async def test_a_photo_instead_of_an_answer_keeps_the_question(chat):
    await chat.join()
    await chat.say("/khaosat")
    await chat.press("4 ·")
    await chat.send_photo()
    assert "từ 1 đến 5" in chat.text
    assert chat.labels()[:5] == SCALE
    await chat.press("5 ·")
    assert "Câu 3/8" in chat.text


async def test_wrong_typed_answers_explain_and_keep_the_question(chat, sessionmaker):
    await chat.join()
    await chat.say("/khaosat")
    await chat.say("7")
    assert "từ 1 đến 5" in chat.text and "Ví dụ: gõ 4" in chat.text
    assert chat.labels() == SCALE
    await chat.say("hai")
    assert "từ 1 đến 5" in chat.text
    await chat.say("hai long")
    assert "Câu 2/8" in chat.text
    for answer in ("4", "4", "4"):
        await chat.say(answer)
    await chat.say("9")
    assert "1 đến 5" in chat.text
    await chat.say("1")
    await chat.press("Xong")
    assert "chọn ít nhất 1" in chat.text
    await chat.say("1, 9")
    assert "1 đến 5" in chat.text
    await chat.say("3")
    assert "Câu 7/8" in chat.text
    await chat.say("có lẽ")
    assert "“Có” hoặc “Không”" in chat.text
    await chat.say("có")
    await chat.say("x" * 1001)
    assert "tối đa 1.000 ký tự, bạn đã viết 1.001" in chat.text
    assert "Câu 8/8" in chat.text
    await chat.say("Tốt.")
    [response] = await responses(sessionmaker)
    assert response.answers["q1"] == 4 and response.answers["q6"] == [2]


async def test_a_comment_after_the_end_is_kept_on_the_response(chat, sessionmaker):
    await chat.join()
    await chat.say("/khaosat")
    await answer_by_buttons(chat)
    await chat.press("Gửi góp ý")
    assert "tối đa 1.000 ký tự" in chat.text
    assert chat.labels() == ["Bỏ qua ➡️"]
    await chat.say("Mong phường tổ chức thêm hoạt động cho thiếu nhi.")
    assert "Đã ghi nhận góp ý" in chat.text
    [response] = await responses(sessionmaker)
    assert response.comment == "Mong phường tổ chức thêm hoạt động cho thiếu nhi."
    assert response.answers["q1"] == 4


async def test_skipping_the_comment_stores_none(chat, sessionmaker):
    await chat.join()
    await chat.say("/khaosat")
    await answer_by_buttons(chat)
    await chat.press("Gửi góp ý")
    await chat.press("Bỏ qua")
    assert "Cảm ơn bạn" in chat.text
    [response] = await responses(sessionmaker)
    assert response.comment is None


async def test_numbered_choices_without_buttons(make_chat, sessionmaker):
    chat = make_chat("no-buttons", buttons=False)
    await chat.join()
    await chat.say("/khaosat")
    for answer in ("5", "4", "3", "2", "3", "2, 4", "1"):
        await chat.say(answer)
    assert "Câu 8/8" in chat.text
    await chat.say("không có")
    [response] = await responses(sessionmaker)
    assert response.answers == {"q1": 5, "q2": 4, "q3": 3, "q4": 2, "q5": 2, "q6": [1, 3],
                                "q7": True, "q8": None}


async def test_cancel_midway_stores_nothing(chat, sessionmaker):
    await chat.join()
    await chat.say("/khaosat")
    await chat.press("4 ·")
    await chat.press("4 ·")
    await chat.say("/huy")
    assert "Đã huỷ: khảo sát hài lòng" in chat.text
    assert await responses(sessionmaker) == []
    await chat.say("/khaosat")
    assert "Câu 1/8" in chat.text


async def test_guests_are_asked_to_join_first(chat, sessionmaker):
    await chat.say("/khaosat")
    assert "Bạn có đồng ý không?" in chat.text
    assert await responses(sessionmaker) == []


async def test_in_english_the_levels_are_english_and_typed_words_still_work(chat, sessionmaker):
    await chat.join()
    await chat.say("/ngonngu en")
    await chat.say("/survey")
    assert "Question 1/8" in chat.text
    assert chat.labels()[3] == "4 · Satisfied"
    await chat.say("satisfied")
    await chat.say("hài lòng")
    assert "Question 3/8" in chat.text


async def test_a_typed_number_adds_to_ticks_made_with_buttons(chat, sessionmaker):
    """Zalo OA shows a long list's last items as numbered lines: typing one of them after
    ticking others with buttons must add it, not end the list with that one alone."""
    await chat.join("Tổ dân phố 5")
    await chat.press("Khảo sát")
    for label in ("4 ·", "5 ·", "3 ·", "4 ·", "Loa phát thanh", "An ninh"):
        await chat.press(label)
    await chat.say("4")
    assert "Câu 6/8" in chat.text
    assert sum(label.startswith("✅") for label in chat.labels()) == 2
    await chat.press("Xong")
    assert "Câu 7/8" in chat.text
    for label in ("Có", "Bỏ qua"):
        await chat.press(label)
    [response] = await responses(sessionmaker)
    assert response.answers["q6"] == [1, 3]


async def test_typed_numbers_with_nothing_ticked_answer_at_once(chat, sessionmaker):
    await chat.join("Tổ dân phố 5")
    await chat.press("Khảo sát")
    for label in ("4 ·", "5 ·", "3 ·", "4 ·", "Loa phát thanh"):
        await chat.press(label)
    await chat.say("2, 4")
    assert "Câu 7/8" in chat.text


async def test_without_buttons_the_hints_never_ask_to_tap(make_chat, chat):
    typed = make_chat("no-buttons-hints", buttons=False)
    await typed.join()
    await typed.say("/khaosat")
    for answer in ("5", "4", "3", "2"):
        await typed.say(answer)
    await typed.say("mười hai")
    assert "gõ số thứ tự (1 đến 5) hoặc tên lựa chọn" in typed.text
    assert "bấm" not in typed.text.lower()
    await typed.say("3")
    assert "Gõ số của các mục bạn chọn, ví dụ: 1, 3." in typed.text
    assert "bấm" not in typed.text.lower()
    await chat.join()
    await chat.say("/khaosat")
    for answer in ("5", "4", "3", "2"):
        await chat.say(answer)
    await chat.say("mười hai")
    assert "bấm một nút" in chat.text
