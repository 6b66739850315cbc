"""Nominating a good person or good deed (/decu), one's own list, and the review service."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from handlers import nomination_review as review
from storage.models import ChatState, OutboxMessage
from storage.models.nominations import Nomination, NominationEvent
from tests.fake_channel import FakeChannel

DEED = "Bác Hoa tự nguyện quét dọn ngõ 12 mỗi sáng thứ bảy suốt 3 năm nay."


async def count(sessionmaker, model) -> int:
    async with sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def stored(sessionmaker) -> list[Nomination]:
    async with sessionmaker() as session:
        return list((await session.execute(select(Nomination).order_by(Nomination.id))).scalars())


async def to_description(chat: FakeChannel, kind: str = "Cá nhân",
                         name: str = "Nguyễn Thị Hoa") -> None:
    """Join, agree, and answer up to the description question."""
    await chat.join("Tổ dân phố 5")
    await chat.say("/decu")
    await chat.press("Đồng ý")
    await chat.press(kind)
    await chat.say(name)
    await chat.press("Cùng tổ với tôi")
    await chat.press("Văn hóa - Xã hội")
    assert "đã làm việc tốt gì" in chat.text, chat.text


async def nominate(chat: FakeChannel, name: str = "Nguyễn Thị Hoa", *, joined: bool = False,
                   kind: str = "Cá nhân") -> str:
    """A whole nomination; returns its code."""
    if joined:
        await chat.say("/decu")
        await chat.press("Đồng ý")
        await chat.press(kind)
        await chat.say(name)
        await chat.press("Cùng tổ với tôi")
        await chat.press("Văn hóa - Xã hội")
    else:
        await to_description(chat, kind, name)
    await chat.say(DEED)
    await chat.press("Bỏ qua")
    await chat.press("Gửi đề cử")
    found = re.search(r"ND-\d{4}-\d{4,}", chat.text)
    assert found, chat.text
    return found.group(0)


async def test_intro_says_the_nominee_is_a_third_person_and_asks_consent(chat):
    await chat.join()
    await chat.say("người tốt việc tốt")
    assert "liên hệ và được họ đồng ý trước khi công bố" in chat.text
    assert "chỉ hỏi những gì cần cho việc xét duyệt" in chat.text
    assert "lưu cùng tài khoản của bạn" in chat.text
    assert chat.labels() == ["✅ Đồng ý", "Để sau"]


async def test_individual_happy_path_is_stored_as_submitted_with_a_code(chat, sessionmaker, clock):
    await chat.join("Tổ dân phố 5")
    await chat.say("đề cử")
    await chat.press("Đồng ý")
    assert "cá nhân hay một tập thể" in chat.text
    await chat.press("Cá nhân")
    assert "Họ và tên đầy đủ" in chat.text
    await chat.say("  Nguyễn   Thị Hoa ")
    assert "Nguyễn Thị Hoa ở tổ dân phố nào?" in chat.text
    assert chat.labels()[0] == "Cùng tổ với tôi (Tổ dân phố 5)"
    await chat.press("Cùng tổ với tôi")
    assert "lĩnh vực nào" in chat.text
    assert "Văn hóa - Xã hội" in chat.labels()
    await chat.press("Văn hóa - Xã hội")
    assert "Nguyễn Thị Hoa đã làm việc tốt gì?" in chat.text
    assert "từ 20 đến 2.000 ký tự" in chat.text
    await chat.say(DEED)
    assert "Gửi 1 ảnh" in chat.text
    await chat.press("Bỏ qua")
    assert "Bạn xem lại đề cử" in chat.text
    for shown in ("Họ tên: Nguyễn Thị Hoa", "Tổ dân phố: Tổ dân phố 5",
                  "Lĩnh vực: Văn hóa - Xã hội", DEED, "Ảnh: không có"):
        assert shown in chat.text
    assert await count(sessionmaker, Nomination) == 0
    await chat.press("Gửi đề cử")
    assert "Cảm ơn bạn! Đề cử đã được gửi, mã đề cử: ND-2026-0001" in chat.text
    assert "Bạn muốn làm gì?" in chat.text
    [nomination] = await stored(sessionmaker)
    assert re.fullmatch(r"ND-2026-\d{4}", nomination.code)
    assert nomination.code == f"ND-2026-{nomination.id:04d}"
    assert nomination.status == "submitted"
    assert (nomination.kind, nomination.nominee_name) == ("individual", "Nguyễn Thị Hoa")
    assert (nomination.group_code, nomination.field_code) == ("05", "van-hoa-xa-hoi")
    assert nomination.description == DEED
    assert nomination.photo_ref is None and nomination.photo_channel is None
    assert nomination.nominee_agreed_at is None and nomination.status_reason is None
    assert nomination.nominator_resident_id is not None
    assert nomination.created_at == clock.now
    async with sessionmaker() as session:
        [event] = (await session.execute(select(NominationEvent))).scalars().all()
    assert (event.status, event.nomination_id) == ("submitted", nomination.id)


async def test_collective_path_adapts_the_questions(chat, sessionmaker):
    await chat.join("Tổ dân phố 5")
    await chat.say("/nominate")
    await chat.press("Đồng ý")
    await chat.press("Tập thể")
    assert "Tên của tập thể" in chat.text
    long_name = "Chi hội Phụ nữ " + "x" * 90  # over the 80 allowed for a person
    await chat.say(long_name)
    assert "thuộc tổ dân phố nào?" in chat.text
    await chat.press("Tổ dân phố 7")
    await chat.press("An ninh - Trật tự")
    await chat.say("Cả chi hội tuần tra, nhắc nhở phòng cháy chữa cháy mỗi tối trong tháng 10.")
    await chat.press("Bỏ qua")
    assert "Tên tập thể: Chi hội Phụ nữ" in chat.text
    await chat.press("Gửi đề cử")
    assert "ND-2026-" in chat.text
    [nomination] = await stored(sessionmaker)
    assert nomination.kind == "collective"
    assert nomination.nominee_name == long_name
    assert (nomination.group_code, nomination.field_code) == ("07", "an-ninh-trat-tu")


async def test_name_limits_follow_the_kind(chat):
    await chat.join()
    await chat.say("/decu")
    await chat.press("Đồng ý")
    await chat.press("Cá nhân")
    await chat.say("H")
    assert "cần ít nhất 2 ký tự, bạn mới viết 1" in chat.text
    assert "Ví dụ: Nguyễn Thị Hoa" in chat.text
    await chat.say("N" * 81)
    assert "tối đa 80 ký tự, bạn đã viết 81" in chat.text
    await chat.say("12345")
    assert "Tên cần có chữ" in chat.text
    await chat.say("Trần Văn Bình")
    assert "Trần Văn Bình ở tổ dân phố nào?" in chat.text


async def test_description_too_short_or_too_long_says_so_and_keeps_earlier_answers(
    chat, sessionmaker
):
    await to_description(chat)
    await chat.say("x" * 19)
    assert "cần ít nhất 20 ký tự, bạn mới viết 19" in chat.text
    assert "Ví dụ:" in chat.text
    await chat.say("y" * 2001)
    assert "tối đa 2.000 ký tự, bạn đã viết 2.001" in chat.text
    await chat.say(DEED)
    assert "Gửi 1 ảnh" in chat.text
    await chat.press("Bỏ qua")
    assert "Họ tên: Nguyễn Thị Hoa" in chat.text
    assert "Lĩnh vực: Văn hóa - Xã hội" in chat.text
    await chat.press("Gửi đề cử")
    [nomination] = await stored(sessionmaker)
    assert nomination.description == DEED


async def test_a_description_of_exactly_the_limits_is_accepted(chat, sessionmaker):
    await to_description(chat)
    await chat.say("z" * 2000)
    assert "Gửi 1 ảnh" in chat.text
    await chat.press("Bỏ qua")
    assert "z" * 300 + "…" in chat.text  # the summary shows a phone-sized preview
    await chat.press("Gửi đề cử")
    [nomination] = await stored(sessionmaker)
    assert len(nomination.description) == 2000


async def test_a_photo_where_text_is_expected_gets_a_polite_message(chat):
    await chat.join()
    await chat.say("/decu")
    await chat.press("Đồng ý")
    await chat.press("Cá nhân")
    await chat.send_photo()
    assert "cần tin nhắn chữ" in chat.text
    await chat.say("Nguyễn Thị Hoa")
    await chat.press("Cùng tổ với tôi")
    await chat.press("Kinh tế")
    await chat.send_photo()
    assert "Ảnh mình sẽ hỏi ở bước sau" in chat.text
    await chat.say(DEED)
    assert "Gửi 1 ảnh" in chat.text


async def test_a_photo_at_the_photo_step_is_stored_as_a_reference(chat, sessionmaker):
    await to_description(chat)
    await chat.say(DEED)
    await chat.say("ảnh đây")
    assert "gửi một ảnh, hoặc bấm “Bỏ qua”" in chat.text
    await chat.send_photo()
    assert "Ảnh: có" in chat.text
    await chat.press("Gửi đề cử")
    [nomination] = await stored(sessionmaker)
    assert (nomination.photo_channel, nomination.photo_ref) == ("test", "photo-1")


@pytest.mark.parametrize("typed", ["bo qua", "không có ảnh", "Không"])
async def test_skipping_the_photo_by_typing(chat, sessionmaker, typed):
    await to_description(chat)
    await chat.say(DEED)
    await chat.say(typed)
    assert "Ảnh: không có" in chat.text
    await chat.press("Gửi đề cử")
    [nomination] = await stored(sessionmaker)
    assert nomination.photo_ref is None


async def test_an_old_button_is_refused_and_the_current_question_asked_again(chat):
    await chat.join()
    await chat.say("/decu")
    await chat.press("Đồng ý")
    old = chat.button_data("Tập thể")
    await chat.press("Cá nhân")
    await chat.press_data(old)
    assert "câu hỏi cũ" in chat.text
    assert "Họ và tên đầy đủ" in chat.text


async def test_leave_and_come_back_resumes_where_it_was(chat, make_chat):
    await to_description(chat)
    again = make_chat("u1")
    await again.say("/decu")
    assert "tiếp tục từ chỗ đang dở" in again.text
    assert "Nguyễn Thị Hoa đã làm việc tốt gì?" in again.text
    await again.say(DEED)
    await again.press("Bỏ qua")
    assert "Họ tên: Nguyễn Thị Hoa" in again.text


async def test_edit_from_the_summary_returns_to_the_summary(chat, sessionmaker):
    await to_description(chat)
    await chat.say(DEED)
    await chat.press("Bỏ qua")
    await chat.press("Sửa")
    assert "sửa mục nào" in chat.text
    await chat.press("Họ tên")
    assert "Họ và tên đầy đủ" in chat.text
    await chat.say("Nguyễn Thị Hồng")
    assert "Bạn xem lại đề cử" in chat.text
    assert "Họ tên: Nguyễn Thị Hồng" in chat.text
    await chat.press("Sửa")
    await chat.press("Lĩnh vực")
    await chat.press("Kinh tế")
    assert "Lĩnh vực: Kinh tế" in chat.text
    await chat.press("Sửa")
    await chat.press("Loại đề cử")
    await chat.press("Tập thể")
    assert "Tên của tập thể" in chat.text  # a new kind needs a name that fits it
    await chat.say("Tổ hòa giải Tổ dân phố 5")
    assert "Tên tập thể: Tổ hòa giải Tổ dân phố 5" in chat.text
    await chat.press("Sửa")
    await chat.press("Ảnh")
    await chat.send_photo()
    assert "Ảnh: có" in chat.text
    await chat.press("Gửi đề cử")
    [nomination] = await stored(sessionmaker)
    assert (nomination.kind, nomination.nominee_name) == ("collective", "Tổ hòa giải Tổ dân phố 5")
    assert nomination.field_code == "kinh-te"
    assert nomination.photo_ref == "photo-1"


async def test_cancel_midway_stores_nothing(chat, sessionmaker):
    await to_description(chat)
    await chat.say("/huy")
    assert "Đã huỷ: đề cử người tốt, việc tốt" in chat.text
    assert await count(sessionmaker, Nomination) == 0
    async with sessionmaker() as session:
        state = (await session.execute(select(ChatState))).scalar_one()
    assert "Nguyễn Thị Hoa" not in str(state.data)


async def test_not_now_stores_nothing(chat, sessionmaker):
    await chat.join()
    await chat.say("/decu")
    await chat.press("Để sau")
    assert "Mình chưa lưu gì cả" in chat.text
    assert "/decu" in chat.text
    assert "Bạn muốn làm gì?" in chat.text
    assert await count(sessionmaker, Nomination) == 0


async def test_guests_join_first(chat):
    await chat.say("/decu")
    assert "Bạn có đồng ý không?" in chat.text
    assert "Phường An Hải" in chat.text


async def test_numbered_choices_without_buttons(make_chat, sessionmaker):
    chat = make_chat("zalo-like", buttons=False)
    await chat.say("hi")
    await chat.say("1")
    await chat.say("5")
    await chat.say("de cu")
    await chat.say("1")
    await chat.say("2")
    assert "Tên của tập thể" in chat.text
    await chat.say("Đội thanh niên tình nguyện")
    await chat.say("1")
    assert "lĩnh vực nào" in chat.text
    await chat.say("3")
    await chat.say("Đội dọn sạch bãi rác ven sông Lạch Tray sáng chủ nhật vừa rồi.")
    await chat.say("bỏ qua")
    await chat.say("1")
    assert "ND-2026-" in chat.text
    [nomination] = await stored(sessionmaker)
    assert (nomination.kind, nomination.group_code) == ("collective", "05")
    assert nomination.field_code == "an-ninh-trat-tu"


async def test_the_code_uses_the_year_in_hai_phong(chat, clock):
    clock.now = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # 00:30 on 01/01/2027 locally
    code = await nominate(chat)
    assert code.startswith("ND-2027-")


async def test_my_nominations_lists_them_with_statuses(chat, sessionmaker, clock):
    await chat.join()
    await chat.say("/decucuatoi")
    assert "Bạn chưa có đề cử nào" in chat.text
    assert chat.labels() == ["🏅 Đề cử ngay"]
    await chat.press("Đề cử ngay")
    assert "lưu cùng tài khoản của bạn" in chat.text
    await chat.say("/huy")
    first = await nominate(chat, "Nguyễn Thị Hoa", joined=True)
    clock.now += timedelta(days=3)
    second = await nominate(chat, "Lê Văn Nam", joined=True)
    async with sessionmaker() as session, session.begin():
        nomination = (await session.execute(
            select(Nomination).where(Nomination.code == second))).scalar_one()
        await review.change_status(session, nomination.id, "rejected",
                                   reason="Chưa đủ thông tin xác minh.", now=clock.now)
    await chat.say("đề cử của tôi")
    text = chat.text
    assert "Đề cử của bạn (2)" in text
    assert f"{first} · Nguyễn Thị Hoa" in text and f"{second} · Lê Văn Nam" in text
    assert "Văn hóa - Xã hội · gửi ngày 24/11/2026" in text
    assert "gửi ngày 27/11/2026" in text
    assert "Trạng thái: đã gửi" in text
    assert "Trạng thái: không được duyệt\nLý do: Chưa đủ thông tin xác minh." in text
    assert text.index(second) < text.index(first)  # newest first
    assert "Bạn muốn làm gì?" in text


async def test_my_nominations_midway_offers_to_continue(chat):
    await nominate(chat)
    await chat.say("/decu")
    await chat.press("Đồng ý")
    await chat.say("/decucuatoi")
    assert "Trạng thái: đã gửi" in chat.text
    assert "Bạn đang làm dở: đề cử người tốt, việc tốt" in chat.text
    await chat.press("Tiếp tục")
    assert "cá nhân hay một tập thể" in chat.text


async def test_my_nominations_shows_only_ones_own(chat, make_chat):
    await nominate(chat, "Nguyễn Thị Hoa")
    other = make_chat("u2")
    await other.join()
    await other.say("/mynominations")
    assert "Bạn chưa có đề cử nào" in other.text


# The review service (officers' chat UI comes later; these are called directly).


async def submitted(chat, sessionmaker) -> Nomination:
    await nominate(chat)
    [nomination] = await stored(sessionmaker)
    return nomination


async def outbox_rows(sessionmaker) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        return list((await session.execute(stmt)).scalars())


async def change(sessionmaker, nomination_id, status, clock, **kwargs):
    async with sessionmaker() as session, session.begin():
        return await review.change_status(session, nomination_id, status, now=clock.now, **kwargs)


async def test_approving_records_the_event_and_tells_the_nominator(chat, sessionmaker, clock):
    nomination = await submitted(chat, sessionmaker)
    clock.now += timedelta(days=1)
    await change(sessionmaker, nomination.id, "under_review", clock)
    await change(sessionmaker, nomination.id, "approved", clock, actor_resident_id=None)
    rows = await outbox_rows(sessionmaker)
    assert [r.key for r in rows] == [
        f"nomination:{nomination.id}:under_review:test:u1",
        f"nomination:{nomination.id}:approved:test:u1",
    ]
    approved = rows[1]
    assert (approved.channel, approved.chat_id, approved.kind) == ("test", "u1", "notification")
    assert nomination.code in approved.payload["text"]
    assert "đã duyệt" in approved.payload["text"]
    assert "đang xem xét" in rows[0].payload["text"]
    async with sessionmaker() as session:
        events = (await session.execute(
            select(NominationEvent.status).order_by(NominationEvent.id))).scalars().all()
        current = await session.get(Nomination, nomination.id)
    assert events == ["submitted", "under_review", "approved"]
    assert current.status == "approved" and current.updated_at == clock.now


async def test_rejecting_needs_a_reason_and_sends_it(chat, sessionmaker, clock):
    nomination = await submitted(chat, sessionmaker)
    with pytest.raises(review.ReasonRequired):
        await change(sessionmaker, nomination.id, "rejected", clock, reason="  ")
    assert await outbox_rows(sessionmaker) == []
    reason = "Việc đã được khen năm 2025."
    await change(sessionmaker, nomination.id, "rejected", clock, reason=reason)
    [row] = await outbox_rows(sessionmaker)
    assert row.key == f"nomination:{nomination.id}:rejected:test:u1"
    assert "không được duyệt" in row.payload["text"]
    assert "Lý do: Việc đã được khen năm 2025." in row.payload["text"]
    async with sessionmaker() as session:
        current = await session.get(Nomination, nomination.id)
    assert current.status_reason == "Việc đã được khen năm 2025."


async def test_honouring_waits_for_the_nominees_agreement(chat, sessionmaker, clock):
    nomination = await submitted(chat, sessionmaker)
    await change(sessionmaker, nomination.id, "approved", clock)
    with pytest.raises(review.NomineeAgreementMissing, match="agreement"):
        await change(sessionmaker, nomination.id, "honoured", clock)
    async with sessionmaker() as session, session.begin():
        await review.record_nominee_agreement(session, nomination.id, clock.now)
    later = clock.now + timedelta(days=2)
    async with sessionmaker() as session, session.begin():
        await review.record_nominee_agreement(session, nomination.id, later)  # first time kept
    await change(sessionmaker, nomination.id, "honoured", clock)
    rows = await outbox_rows(sessionmaker)
    assert rows[-1].key == f"nomination:{nomination.id}:honoured:test:u1"
    assert "đã biểu dương/khen thưởng" in rows[-1].payload["text"]
    async with sessionmaker() as session:
        current = await session.get(Nomination, nomination.id)
    assert current.nominee_agreed_at == clock.now
    assert current.status == "honoured"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "honoured"),
        ([], "bogus"),
        (["under_review"], "submitted"),
        (["approved"], "under_review"),
        (["rejected"], "approved"),
    ],
)
async def test_invalid_transitions_are_refused(chat, sessionmaker, clock, path, target):
    nomination = await submitted(chat, sessionmaker)
    for status in path:
        await change(sessionmaker, nomination.id, status, clock, reason="Trùng đề cử.")
    before = await outbox_rows(sessionmaker)
    with pytest.raises(review.InvalidTransition):
        await change(sessionmaker, nomination.id, target, clock)
    assert len(await outbox_rows(sessionmaker)) == len(before)


async def test_an_unknown_nomination_is_reported(sessionmaker, clock):
    with pytest.raises(review.NominationNotFound):
        await change(sessionmaker, 999, "approved", clock)


async def test_the_same_change_twice_queues_one_message(chat, sessionmaker, clock):
    nomination = await submitted(chat, sessionmaker)
    await change(sessionmaker, nomination.id, "approved", clock)
    await change(sessionmaker, nomination.id, "approved", clock)
    rows = await outbox_rows(sessionmaker)
    assert [r.key for r in rows] == [f"nomination:{nomination.id}:approved:test:u1"]
    assert await count(sessionmaker, NominationEvent) == 2  # submitted, approved


async def test_the_nominator_is_told_in_their_own_language(chat, sessionmaker, clock):
    code = await nominate(chat)
    await chat.say("/ngonngu en")
    [nomination] = await stored(sessionmaker)
    await change(sessionmaker, nomination.id, "approved", clock)
    [row] = await outbox_rows(sessionmaker)
    assert f"Your nomination {code}" in row.payload["text"]
    assert "approved" in row.payload["text"]


async def test_review_errors_name_a_vietnamese_text(chat, sessionmaker, clock):
    from bot import texts

    nomination = await submitted(chat, sessionmaker)
    with pytest.raises(review.InvalidTransition) as caught:
        await change(sessionmaker, nomination.id, "honoured", clock)
    message = texts.t(caught.value.key, "vi", **caught.value.params)
    assert message == (
        f"Đề cử {nomination.code} đang ở trạng thái “đã gửi”, "
        "không chuyển sang “đã biểu dương/khen thưởng” được."
    )


async def test_english_is_a_second_language(chat, sessionmaker):
    await chat.say("/language")
    await chat.press("English")
    await chat.press("I agree")
    await chat.press("Tổ dân phố 2")
    await chat.say("/nominate")
    assert "someone else" in chat.text
    await chat.press("I agree")
    await chat.press("Collective")
    assert "name of the collective" in chat.text
    await chat.say("Hội Cựu chiến binh")
    await chat.press("Same as mine")
    await chat.press("Kinh tế")
    await chat.say("x" * 10)
    assert "at least 20 characters, you wrote 10" in chat.text
    await chat.say(DEED)
    await chat.press("Skip")
    assert "Collective: Hội Cựu chiến binh" in chat.text
    await chat.press("Send nomination")
    assert "its code is ND-2026-0001" in chat.text
    await chat.say("/mynominations")
    assert "Status: sent" in chat.text


async def test_channel_without_photos_skips_the_photo_step(make_chat):
    chat = make_chat("no-photos", photos=False)
    await chat.join()
    await chat.say("/decu")
    await chat.press("Đồng ý")
    await chat.press("Cá nhân")
    await chat.say("Nguyễn Thị Hoa")
    await chat.press("Cùng tổ với tôi")
    await chat.say("1")
    await chat.say("Bà Hoa nhiều năm liền dọn vệ sinh ngõ và trồng cây xanh.")
    assert "ảnh" not in chat.text.lower().split("\n")[0]
    assert "Gửi đề cử" in " ".join(chat.labels())
