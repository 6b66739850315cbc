"""A leader registers a household for a resident without a smartphone (/dangkyho)."""

from __future__ import annotations

from sqlalchemy import select

from storage.models.households import Household, HouseholdPledge
from storage.models.roles import AuditEntry
from storage.repos import roles
from tests.fake_channel import FakeChannel, give_role
from tests.handlers.test_households import register

AGREED = "Tôi xác nhận chủ hộ đã đồng ý cho phường lưu thông tin hộ"


async def leader_of(make_chat, sessionmaker, *groups: str, user: str = "leader") -> FakeChannel:
    leader = make_chat(user)
    await leader.join(f"Tổ dân phố {int(groups[0])}")
    for group in groups:
        await give_role(sessionmaker, leader, "leader", group)
    return leader


async def resident_id(sessionmaker, chat: FakeChannel) -> int:
    async with sessionmaker() as session:
        return await roles.resident_by_account(session, chat.channel, chat.user_id)


async def stored(sessionmaker) -> list[Household]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(Household).order_by(Household.id)))


async def denials(sessionmaker) -> list[tuple[str, str | None]]:
    async with sessionmaker() as session:
        entries = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "denied").order_by(AuditEntry.id))
        return [(e.target, e.details.get("group")) for e in entries]


async def answer_household(chat: FakeChannel, name: str = "Trần Thị Lan",
                           address: str = "Số 8, ngõ 3, phố Lê Lợi",
                           phone: str = "0987 654 321") -> None:
    await chat.say(name)
    await chat.say(address)
    assert "Số điện thoại liên hệ của hộ (của chủ hộ hoặc người nhà)" in chat.text, chat.text
    await chat.say(phone)
    await chat.press("2")
    await chat.press("Chọn tất cả")
    assert "Bạn kiểm tra lại thông tin hộ" in chat.text, chat.text


async def test_a_leader_registers_a_household_that_counts_but_is_not_theirs(
    make_chat, sessionmaker, clock
):
    leader = await leader_of(make_chat, sessionmaker, "05")
    await leader.say("/menu")
    await leader.press("Đăng ký giúp hộ dân")
    assert "Bạn đã hỏi và được chủ hộ đồng ý chưa?" in leader.text
    assert leader.labels() == [AGREED, "Chưa"]
    await leader.press(AGREED)
    assert "Họ và tên chủ hộ" in leader.text  # one group: no question about it
    await leader.say("Trần Thị Lan")
    assert "Địa chỉ của hộ ở Tổ dân phố 5" in leader.text
    await leader.say("Số 8, ngõ 3, phố Lê Lợi")
    assert not leader.last[-1].request_contact
    assert "Gửi số điện thoại của tôi" not in leader.text
    await leader.say("0987 654 321")
    await leader.press("2")
    await leader.press("Chọn tất cả")
    assert "👤 Chủ hộ: Trần Thị Lan" in leader.text and "0987 654 321" in leader.text
    await leader.press("Xác nhận")
    assert "Đã đăng ký giúp hộ Trần Thị Lan (Tổ dân phố 5) tham gia 11 phong trào năm 2026" in (
        leader.text
    )
    assert "➕ Đăng ký giúp hộ khác" in leader.labels()

    me = await resident_id(sessionmaker, leader)
    [home] = await stored(sessionmaker)
    assert (home.group_code, home.head_name, home.phone) == ("05", "Trần Thị Lan", "+84987654321")
    assert (home.consent_by, home.consent_at) == ("leader", clock.now)
    assert (home.assisted_by_resident_id, home.registered_by_resident_id) == (me, None)
    async with sessionmaker() as session:
        [pledge] = (await session.scalars(select(HouseholdPledge))).all()
        [entry] = (await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "household_assisted"))).all()
    assert (pledge.year, len(pledge.campaigns), pledge.pledged_by_resident_id) == (2026, 11, me)
    assert (entry.target, entry.details) == (f"household:{home.id}", {"group": "05"})

    await leader.say("/hocuatoi")
    assert "Bạn chưa đăng ký hộ gia đình nào" in leader.text
    await leader.say("/tiendo")
    assert "1/705 hộ (0,1%) — mục tiêu 50%: còn thiếu 352 hộ" in leader.text

    await leader.say("/xoadulieu")
    await leader.press("Xoá vĩnh viễn")
    [kept] = await stored(sessionmaker)
    assert (kept.id, kept.assisted_by_resident_id, kept.consent_by) == (home.id, None, "leader")


async def test_the_leaders_own_contact_is_never_asked_for(make_chat, sessionmaker):
    leader = await leader_of(make_chat, sessionmaker, "05")
    await leader.say("/dangkyho")
    await leader.press(AGREED)
    await leader.say("Trần Thị Lan")
    await leader.say("Số 8, ngõ 3, phố Lê Lợi")
    await leader.share_contact("+84912345678")
    assert "Đây là số của chính bạn" in leader.text
    assert not leader.last[-1].request_contact
    await leader.say("0912 34")
    assert "Số điện thoại chưa đúng" in leader.text
    await leader.say("0987 654 321")
    assert "bao nhiêu người" in leader.text
    # A resident registering their own household is still offered the button.
    await leader.say("/huy")
    await leader.say("/dangky")
    await leader.press("Đồng ý")
    await leader.say("Nguyễn Văn An")
    await leader.say("Số 12, ngõ 34, phố Lê Lợi")
    assert leader.last[-1].request_contact


async def test_a_leader_registers_only_in_their_own_groups(make_chat, sessionmaker):
    leader = await leader_of(make_chat, sessionmaker, "05", "07")
    await leader.say("/dangkyho 9")
    assert "bạn chỉ làm việc được với Tổ dân phố 5, Tổ dân phố 7, không phải Tổ dân phố 9" in (
        leader.text
    )
    await leader.say("/dangkyho")
    await leader.press(AGREED)
    assert "Hộ này ở tổ dân phố nào?" in leader.text
    assert leader.labels()[:2] == ["Tổ dân phố 5", "Tổ dân phố 7"]
    assert len(leader.labels()) == 3  # and "back"
    await leader.say("Tổ dân phố 9")
    refusal = "bạn chỉ đăng ký giúp được hộ ở Tổ dân phố 5, Tổ dân phố 7, không phải Tổ dân phố 9"
    assert refusal in leader.text
    await leader.say("tổ 7")
    assert "Họ và tên chủ hộ" in leader.text
    await answer_household(leader)
    assert "Tổ dân phố 7" in leader.text
    await leader.press("Sửa")
    await leader.press("Tổ dân phố")
    assert leader.labels()[:2] == ["Tổ dân phố 5", "Tổ dân phố 7"]
    await leader.say("12")
    assert "không phải Tổ dân phố 12" in leader.text
    await leader.press("Tổ dân phố 5")
    await leader.press("Xác nhận")
    [home] = await stored(sessionmaker)
    assert home.group_code == "05"
    assert await denials(sessionmaker) == [
        ("/dangkyho", "09"), ("/dangkyho", "09"), ("/dangkyho", "12"),
    ]


async def test_officers_choose_any_group(make_chat, sessionmaker):
    officer = make_chat("officer")
    await officer.join("Tổ dân phố 1")
    await give_role(sessionmaker, officer, "officer")
    await officer.say("/registerfor")
    await officer.press(AGREED)
    assert len(officer.labels()) == 23 + 1
    await officer.press("Tổ dân phố 23")
    await answer_household(officer)
    await officer.press("Xác nhận")
    [home] = await stored(sessionmaker)
    assert (home.group_code, home.consent_by) == ("23", "leader")


async def test_not_yet_agreed_stores_nothing(make_chat, sessionmaker):
    leader = await leader_of(make_chat, sessionmaker, "05")
    await leader.say("đăng ký giúp")
    await leader.press("Chưa")
    assert "chưa lưu thông tin nào" in leader.text and "/dangkyho" in leader.text
    assert await stored(sessionmaker) == []


async def test_an_existing_household_is_masked_and_stays_its_residents(
    make_chat, sessionmaker
):
    resident = make_chat("resident")
    await resident.join("Tổ dân phố 5")
    await register(resident)
    leader = await leader_of(make_chat, sessionmaker, "05")
    await leader.say("/dangkyho")
    await leader.press(AGREED)
    await answer_household(leader, name="Nguyễn Văn An", address="Số 99, phố Lạch Tray",
                           phone="0912 345 678")
    await leader.press("Xác nhận")
    assert "Hộ này đã được đăng ký:" in leader.text
    assert "N. V. A." in leader.text and "09xx xxx 678" in leader.text
    assert "Số người" not in leader.text
    await leader.press("Cập nhật hộ này")
    [home] = await stored(sessionmaker)
    assert home.address == "Số 99, phố Lạch Tray" and home.members == 2
    assert home.registered_by_resident_id == await resident_id(sessionmaker, resident)
    assert home.assisted_by_resident_id == await resident_id(sessionmaker, leader)
    await resident.say("/hocuatoi")
    assert "Số 99, phố Lạch Tray" in resident.text

    await leader.say("/dangkyho")
    await leader.press(AGREED)
    await answer_household(leader, name="Nguyễn Văn An", address="Số 99, phố Lạch Tray",
                           phone="0912 345 678")
    await leader.press("Xác nhận")
    assert "Hộ này bạn đã đăng ký rồi" in leader.text and "0912 345 678" in leader.text


async def test_a_resident_who_registers_the_same_household_takes_it_over(
    make_chat, sessionmaker
):
    leader = await leader_of(make_chat, sessionmaker, "05")
    await leader.say("/dangkyho")
    await leader.press(AGREED)
    await answer_household(leader, name="Nguyễn Văn An", phone="0912 345 678")
    await leader.press("Xác nhận")
    resident = make_chat("resident")
    await resident.join("Tổ dân phố 5")
    await register(resident)
    assert "Hộ này đã có người đăng ký" in resident.text and "N. V. A." in resident.text
    await resident.press("Cập nhật hộ này")
    [home] = await stored(sessionmaker)
    assert home.registered_by_resident_id == await resident_id(sessionmaker, resident)
    assert (home.consent_by, home.assisted_by_resident_id) == ("self", None)
