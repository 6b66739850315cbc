"""Registering a household (/dangky) and seeing it (/hocuatoi), as a resident would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from storage.models import ChatState, Resident
from storage.models.households import Household, HouseholdPledge
from tests.fake_channel import FakeChannel

ALL_CAMPAIGNS = 11


async def count(sessionmaker, model) -> int:
    async with sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def stored(sessionmaker) -> tuple[list[Household], list[HouseholdPledge]]:
    async with sessionmaker() as session:
        homes = list((await session.execute(select(Household).order_by(Household.id))).scalars())
        pledges = list(
            (await session.execute(select(HouseholdPledge).order_by(HouseholdPledge.year)))
            .scalars()
        )
    return homes, pledges


async def to_phone_step(chat: FakeChannel, name: str = "Nguyễn Văn An",
                        address: str = "Số 12, ngõ 34, phố Lê Lợi") -> None:
    await chat.say("/dangky")
    await chat.press("Đồng ý")
    await chat.say(name)
    await chat.say(address)
    assert "Số điện thoại liên hệ" in chat.text, chat.text


async def to_summary(chat: FakeChannel, name: str = "Nguyễn Văn An",
                     address: str = "Số 12, ngõ 34, phố Lê Lợi",
                     phone: str = "0912 345 678", members: str = "4") -> None:
    await to_phone_step(chat, name, address)
    await chat.say(phone)
    await chat.press(members)
    await chat.press("Chọn tất cả")
    assert "Bạn kiểm tra lại thông tin hộ" in chat.text, chat.text


async def register(chat: FakeChannel, **answers: str) -> None:
    await to_summary(chat, **answers)
    await chat.press("Xác nhận")


async def test_happy_path_in_eight_taps_stores_household_and_pledge(chat, sessionmaker, clock):
    await chat.join("Tổ dân phố 5")
    taps = 0

    async def act(step) -> None:
        nonlocal taps
        taps += 1
        await step

    await act(chat.press("Đăng ký hộ gia đình"))
    assert "chỉ để đếm số hộ tham gia và liên hệ" in chat.text
    assert "họ tên chủ hộ, địa chỉ và số điện thoại" in chat.text
    assert chat.labels() == ["✅ Đồng ý", "Để sau"]
    await act(chat.press("Đồng ý"))
    assert "Họ và tên chủ hộ" in chat.text
    await act(chat.say("Nguyễn Văn An"))
    assert "Địa chỉ của hộ ở Tổ dân phố 5" in chat.text
    assert "Số 12, ngõ 34, phố Lê Lợi" in chat.text
    await act(chat.say("Số 12, ngõ 34, phố Lê Lợi"))
    assert "Số điện thoại liên hệ" in chat.text
    await act(chat.say("0912 345 678"))
    assert "bao nhiêu người" in chat.text
    assert chat.labels()[:6] == ["1", "2", "3", "4", "5", "6"]
    await act(chat.press("4"))
    assert "phong trào nào" in chat.text
    await act(chat.press("Chọn tất cả"))
    assert "👤 Chủ hộ: Nguyễn Văn An" in chat.text
    assert "🏠 Địa chỉ: Số 12, ngõ 34, phố Lê Lợi, Tổ dân phố 5" in chat.text
    assert "📞 Điện thoại: 0912 345 678" in chat.text
    assert "Số người: 4" in chat.text
    assert f"Phong trào năm 2026: cả {ALL_CAMPAIGNS} phong trào" in chat.text
    assert {"✅ Xác nhận", "✏️ Sửa"} <= set(chat.labels())
    await act(chat.press("Xác nhận"))
    assert taps <= 8
    assert "Cảm ơn bạn! Hộ Nguyễn Văn An đã đăng ký tham gia 11 phong trào năm 2026" in chat.text
    assert "• Ngôi nhà xanh" in chat.text
    assert "Bạn muốn làm gì?" in chat.text

    homes, pledges = await stored(sessionmaker)
    async with sessionmaker() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
    (home,) = homes
    assert home.group_code == "05"
    assert home.head_name == "Nguyễn Văn An"
    assert home.address == "Số 12, ngõ 34, phố Lê Lợi"
    assert home.address_key == "12 ngo 34 pho le loi"
    assert home.phone == "+84912345678"
    assert home.members == 4
    assert home.consent_at == clock.now and home.consent_by == "self"
    assert home.registered_by_resident_id == resident.id
    (pledge,) = pledges
    assert pledge.household_id == home.id and pledge.year == 2026
    assert len(pledge.campaigns) == ALL_CAMPAIGNS and "ngoi-nha-xanh" in pledge.campaigns
    assert pledge.pledged_at == clock.now
    assert pledge.pledged_by_resident_id == resident.id


@pytest.mark.parametrize("phrase", ["đăng ký", "Dang ky ho gia dinh", "/register"])
async def test_command_alias_and_phrases_open_the_consent(chat, phrase):
    await chat.join()
    await chat.say(phrase)
    assert "Bạn có đồng ý không?" in chat.text
    assert "chỉ để đếm số hộ" in chat.text


async def test_wrong_phone_numbers_are_explained_and_answers_kept(chat, sessionmaker):
    await chat.join()
    await to_phone_step(chat)
    for wrong in ("01234567890", "0912 34", "không có số", "+1 202 555 0143"):
        await chat.say(wrong)
        assert "Số điện thoại chưa đúng" in chat.text, wrong
        assert "ví dụ: 0912 345 678" in chat.text
        assert "Số điện thoại liên hệ" in chat.text
        assert chat.last[-1].request_contact
    await chat.say("+84 912.345-678")
    assert "bao nhiêu người" in chat.text
    await chat.press("3")
    await chat.press("Chọn tất cả")
    assert "Chủ hộ: Nguyễn Văn An" in chat.text
    assert "Số 12, ngõ 34, phố Lê Lợi" in chat.text
    assert "0912 345 678" in chat.text
    assert await count(sessionmaker, Household) == 0


async def test_phone_shared_through_the_contact_button(chat, sessionmaker):
    await chat.join()
    await to_phone_step(chat)
    assert chat.last[-1].request_contact
    assert "Gửi số điện thoại của tôi" in chat.text
    await chat.share_contact("84987654321")
    assert "bao nhiêu người" in chat.text
    await chat.press("2")
    await chat.press("Chọn tất cả")
    await chat.press("Xác nhận")
    homes, _ = await stored(sessionmaker)
    assert homes[0].phone == "+84987654321"


async def test_names_and_addresses_of_the_wrong_length_are_refused(chat):
    await chat.join()
    await chat.say("/dangky")
    await chat.press("Đồng ý")
    await chat.say("A")
    assert "Họ tên hơi ngắn" in chat.text and "Nguyễn Văn An" in chat.text
    await chat.say("Nguyễn " * 12)
    assert "Họ tên dài quá (tối đa 80 ký tự" in chat.text
    await chat.say("123456")
    assert "không chỉ có số" in chat.text
    assert "Họ và tên chủ hộ" in chat.text
    await chat.say("Trần Thị Bình")
    assert "Địa chỉ của hộ" in chat.text
    await chat.say("Số 1")
    assert "Địa chỉ hơi ngắn" in chat.text and "ví dụ: Số 12, ngõ 34" in chat.text
    await chat.say("Ngõ " * 60)
    assert "Địa chỉ dài quá (tối đa 200 ký tự" in chat.text
    await chat.say("Số nhà 12")
    assert "cần có tên ngõ hoặc phố" in chat.text
    await chat.say("Số 8, ngõ Hoà Bình")
    assert "Số điện thoại liên hệ" in chat.text


async def test_a_button_from_an_earlier_message_is_refused(chat):
    await chat.join()
    await chat.say("/dangky")
    old = chat.button_data("Đồng ý")
    await chat.press("Đồng ý")
    await chat.say("Nguyễn Văn An")
    await chat.press_data(old)
    assert "câu hỏi cũ" in chat.text
    assert "Địa chỉ của hộ" in chat.text


async def test_a_photo_where_text_is_expected(chat):
    await chat.join()
    await chat.say("/dangky")
    await chat.press("Đồng ý")
    await chat.send_photo()
    assert "trả lời bằng tin nhắn chữ" in chat.text
    assert "Họ và tên chủ hộ" in chat.text
    await chat.say("Nguyễn Văn An")
    assert "Địa chỉ của hộ" in chat.text


async def test_leaving_and_coming_back_resumes_at_the_same_step(chat, make_chat):
    await chat.join()
    await chat.say("/dangky")
    await chat.press("Đồng ý")
    await chat.say("Nguyễn Văn An")
    later = make_chat("u1")  # the same person, after a restart of everything in memory
    await later.say("/dangky")
    assert "Mời bạn tiếp tục từ chỗ đang dở" in later.text
    assert "Địa chỉ của hộ" in later.text
    await later.say("Số 12, ngõ 34, phố Lê Lợi")
    await later.say("0912345678")
    await later.press("5")
    await later.press("Chọn tất cả")
    assert "Chủ hộ: Nguyễn Văn An" in later.text


async def test_correcting_from_the_summary_returns_to_the_summary(chat, sessionmaker):
    await chat.join("Tổ dân phố 5")
    await to_summary(chat)
    await chat.press("Sửa")
    assert "Bạn muốn sửa mục nào?" in chat.text
    assert {"Họ tên chủ hộ", "Địa chỉ", "Tổ dân phố", "Số điện thoại", "Số người",
            "Phong trào"} <= set(chat.labels())
    await chat.press("Số điện thoại")
    await chat.say("0987 654 321")
    assert "Bạn kiểm tra lại thông tin hộ" in chat.text
    assert "0987 654 321" in chat.text and "0912 345 678" not in chat.text
    await chat.press("Sửa")
    await chat.press("Tổ dân phố")
    assert "tổ dân phố nào" in chat.text
    await chat.press("Tổ dân phố 7")
    assert "Số 12, ngõ 34, phố Lê Lợi, Tổ dân phố 7" in chat.text
    await chat.press("Sửa")
    await chat.press("Phong trào")
    await chat.press("Ngôi nhà xanh")  # untick one of the eleven
    await chat.press("Xong")
    assert "Ngôi nhà xanh" not in chat.text
    assert "• Dân vận khéo" in chat.text
    await chat.press("Xác nhận")
    assert "10 phong trào năm 2026" in chat.text
    homes, pledges = await stored(sessionmaker)
    assert (homes[0].group_code, homes[0].phone) == ("07", "+84987654321")
    assert "ngoi-nha-xanh" not in pledges[0].campaigns and len(pledges[0].campaigns) == 10


async def test_same_phone_twice_shows_own_household_and_updates_it(chat, sessionmaker):
    await chat.join()
    await register(chat)
    await to_summary(chat, address="Số 14, ngõ 34, phố Lê Lợi", members="5")
    await chat.press("Xác nhận")
    assert "Hộ này bạn đã đăng ký rồi" in chat.text
    assert "Nguyễn Văn An" in chat.text and "0912 345 678" in chat.text
    assert "Số 12, ngõ 34, phố Lê Lợi" in chat.text
    assert {"🔄 Cập nhật hộ này", "Huỷ"} <= set(chat.labels())
    await chat.press("Cập nhật hộ này")
    assert "Cảm ơn bạn" in chat.text
    homes, pledges = await stored(sessionmaker)
    assert len(homes) == 1 and len(pledges) == 1
    assert homes[0].address == "Số 14, ngõ 34, phố Lê Lợi" and homes[0].members == 5


async def test_same_address_spelled_differently_is_the_same_household(chat, sessionmaker):
    await chat.join()
    await register(chat, address="số 12 ngõ 34 Lê Lợi")
    await to_summary(chat, address="So 12, Ngo 34, Le Loi", phone="0987654321")
    await chat.press("Xác nhận")
    assert "Hộ này bạn đã đăng ký rồi" in chat.text
    await chat.press("Cập nhật hộ này")
    homes, pledges = await stored(sessionmaker)
    assert len(homes) == 1 and len(pledges) == 1
    assert homes[0].phone == "+84987654321"
    assert homes[0].address == "So 12, Ngo 34, Le Loi"


async def test_another_resident_sees_the_household_masked(chat, make_chat, sessionmaker):
    await chat.join("Tổ dân phố 5")
    await register(chat)
    spouse = make_chat("u2")
    await spouse.join("Tổ dân phố 5")
    await to_summary(spouse, name="Lê Thị Hoa", address="Số 12 ngõ 34 phố Lê Lợi")
    await spouse.press("Xác nhận")
    assert "Hộ này đã có người đăng ký" in spouse.text
    assert "N. V. A." in spouse.text and "Nguyễn Văn An" not in spouse.text
    assert "09xx xxx 678" in spouse.text and "0912 345 678" not in spouse.text
    assert "Số 12, ngõ 34, phố Lê Lợi" in spouse.text
    await spouse.press("Huỷ")
    assert "không được lưu" in spouse.text
    homes, _ = await stored(sessionmaker)
    assert homes[0].head_name == "Nguyễn Văn An"

    await to_summary(spouse, name="Lê Thị Hoa")
    await spouse.press("Xác nhận")
    await spouse.press("Cập nhật hộ này")
    homes, pledges = await stored(sessionmaker)
    assert len(homes) == 1 and len(pledges) == 1
    assert homes[0].head_name == "Lê Thị Hoa"


async def test_next_year_is_a_new_pledge_of_the_same_household(chat, sessionmaker, clock):
    await chat.join()
    await register(chat)
    clock.now = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    await to_summary(chat)
    assert "Phong trào năm 2027" in chat.text
    await chat.press("Xác nhận")
    await chat.press("Cập nhật hộ này")
    assert "phong trào năm 2027" in chat.text
    homes, pledges = await stored(sessionmaker)
    assert len(homes) == 1
    assert [(p.household_id, p.year) for p in pledges] == [(homes[0].id, 2026),
                                                           (homes[0].id, 2027)]


async def test_year_is_the_year_in_hai_phong(chat, sessionmaker, clock):
    await chat.join()
    clock.now = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)  # 01:00 on 1/1/2027 in Hải Phòng
    await register(chat)
    _, pledges = await stored(sessionmaker)
    assert pledges[0].year == 2027


async def test_cancel_midway_stores_nothing(chat, sessionmaker):
    await chat.join()
    await to_phone_step(chat)
    await chat.say("/huy")
    assert "Đã huỷ: đăng ký hộ gia đình" in chat.text
    assert await count(sessionmaker, Household) == 0
    async with sessionmaker() as session:
        state = (await session.execute(select(ChatState))).scalar_one()
    assert "Nguyễn" not in str(state.data)


async def test_not_now_stores_nothing(chat, sessionmaker):
    await chat.join()
    await chat.say("/dangky")
    await chat.press("Để sau")
    assert "Mình chưa lưu thông tin nào về hộ của bạn" in chat.text
    assert "/dangky" in chat.text
    assert "Bạn muốn làm gì?" in chat.text
    assert await count(sessionmaker, Household) == 0
    assert await count(sessionmaker, HouseholdPledge) == 0


async def test_numbered_choices_without_buttons(make_chat, sessionmaker):
    chat = make_chat("no-buttons", buttons=False)
    await chat.join()
    await chat.say("đăng ký hộ")
    await chat.say("1")
    await chat.say("Phạm Văn Cường")
    await chat.say("Số 3, ngõ 5, đường Trần Phú")
    await chat.say("0912345678")
    await chat.say("4 người")
    await chat.say("1, 7")
    assert "• Toàn dân đoàn kết xây dựng đời sống văn hóa" in chat.text
    assert "• Ngôi nhà xanh" in chat.text
    await chat.say("1")
    assert "Cảm ơn bạn" in chat.text
    _, pledges = await stored(sessionmaker)
    assert pledges[0].campaigns == ["doi-song-van-hoa", "ngoi-nha-xanh"]


async def test_campaigns_typed_as_all(make_chat):
    chat = make_chat("no-buttons", buttons=False)
    await chat.join()
    await to_phone_step(chat)
    await chat.say("0912345678")
    await chat.say("4")
    await chat.say("tat ca")
    assert "cả 11 phong trào" in chat.text


async def test_my_household_when_none_leads_to_registration(chat):
    await chat.join()
    await chat.press("Hộ của tôi")
    assert "Bạn chưa đăng ký hộ gia đình nào" in chat.text
    await chat.press("Đăng ký hộ gia đình")
    assert "Bạn có đồng ý không?" in chat.text


async def test_my_household_shows_it_and_updates_from_the_summary(chat, sessionmaker):
    await chat.join("Tổ dân phố 5")
    await register(chat)
    await chat.say("hộ của tôi")
    assert "Nguyễn Văn An" in chat.text
    assert "Số 12, ngõ 34, phố Lê Lợi, Tổ dân phố 5" in chat.text
    assert "0912 345 678" in chat.text and "Số người: 4" in chat.text
    assert "Năm 2026, đăng ký ngày 24/11/2026, 11 phong trào" in chat.text
    assert "• Phân loại rác thải tại nguồn" in chat.text
    await chat.press("Cập nhật")
    assert "Bạn kiểm tra lại thông tin hộ" in chat.text
    await chat.press("Sửa")
    await chat.press("Số người")
    await chat.press("5")
    assert "Số người: 5" in chat.text
    await chat.press("Xác nhận")
    assert "Cảm ơn bạn" in chat.text
    homes, pledges = await stored(sessionmaker)
    assert len(homes) == 1 and homes[0].members == 5 and len(pledges) == 1


async def test_my_household_shows_only_my_own(chat, make_chat):
    await chat.join()
    await register(chat)
    other = make_chat("u2")
    await other.join()
    await other.say("/myhousehold")
    assert "Bạn chưa đăng ký hộ gia đình nào" in other.text
    await other.say("/capnhatho")
    assert "Nguyễn Văn An" not in other.text


async def test_guest_is_asked_to_join_first(chat, sessionmaker):
    await chat.say("/dangky")
    assert "Để tham gia" in chat.text
    assert await count(sessionmaker, Household) == 0


async def test_in_english(chat, sessionmaker):
    await chat.say("/language")
    await chat.press("English")
    await chat.press("I agree")
    await chat.press("Tổ dân phố 2")
    await chat.say("/register")
    assert "only to count the households taking part" in chat.text
    await chat.press("I agree")
    await chat.say("Nguyễn Văn An")
    await chat.say("Số 12, ngõ 34, phố Lê Lợi")
    await chat.say("0912345678")
    await chat.press("4")
    await chat.press("Select all")
    assert "Please check the household's details" in chat.text
    assert "Campaigns in 2026: all 11 campaigns" in chat.text
    await chat.press("Confirm")
    assert "Thank you! The household of Nguyễn Văn An has joined 11 campaigns in 2026" in chat.text
    assert await count(sessionmaker, Household) == 1
