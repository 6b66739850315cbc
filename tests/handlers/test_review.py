"""Officers review nominations in chat (/duyet); leaders read their groups' (/decuto)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.models import OutboxMessage
from storage.models.roles import AuditEntry
from storage.repos import nominations as repo
from storage.repos import roles
from tests.fake_channel import FakeChannel, give_role
from tests.handlers.test_nominations import DEED, nominate

FIELDS = {"kinh-te": "Kinh tế", "van-hoa-xa-hoi": "Văn hóa - Xã hội",
          "an-ninh-trat-tu": "An ninh - Trật tự"}


async def officer_chat(make_chat, sessionmaker, user: str = "officer") -> FakeChannel:
    officer = make_chat(user)
    await officer.join("Tổ dân phố 1")
    await give_role(sessionmaker, officer, "officer")
    return officer


async def notices(sessionmaker, chat: FakeChannel) -> list[str]:
    """Texts queued in the outbox for a chat, oldest first."""
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == chat.user_id)
            .order_by(OutboxMessage.id)
        )
        return [row.payload["text"] for row in rows]


async def audited(sessionmaker, action: str) -> list[AuditEntry]:
    async with sessionmaker() as session:
        return list(await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ))


async def seed(sessionmaker, clock, nominator: FakeChannel,
               rows: list[tuple[str, str, str]]) -> list[str]:
    """Nominations (name, group, field) one hour apart, oldest first; returns their codes."""
    codes = []
    async with sessionmaker() as session, session.begin():
        resident_id = await roles.resident_by_account(session, nominator.channel,
                                                      nominator.user_id)
        for hours, (name, group, field) in enumerate(rows):
            nomination = await repo.create(
                session, nominator_resident_id=resident_id, kind="individual",
                nominee_name=name, group_code=group, field_code=field,
                description=DEED, photo_channel="test" if hours == 0 else None,
                photo_ref="photo-1" if hours == 0 else None, year=2026,
                now=clock.now - timedelta(days=10) + timedelta(hours=hours),
            )
            codes.append(nomination.code)
    return codes


async def set_status(sessionmaker, clock, code: str, status: str) -> None:
    async with sessionmaker() as session, session.begin():
        nomination = await repo.by_code(session, code)
        await repo.set_status(session, nomination, status, reason=None,
                              actor_resident_id=None, now=clock.now)


async def test_an_officer_moves_a_nomination_to_honoured_and_the_nominator_is_told(
    make_chat, sessionmaker
):
    resident = make_chat("resident")
    code = await nominate(resident)
    officer = await officer_chat(make_chat, sessionmaker)
    await officer.say("/menu")
    await officer.press("Duyệt đề cử")
    assert "Đề cử chờ xử lý: 1" in officer.text
    assert f"1. {code} · Cá nhân · đã gửi" in officer.text
    assert "Nguyễn Thị Hoa — Tổ dân phố 5" in officer.text
    assert "Văn hóa - Xã hội · gửi ngày 24/11/2026" in officer.text
    assert "“Bác Hoa tự nguyện quét dọn ngõ 12 mỗi sáng thứ bảy suốt 3 năm nay.”" in officer.text
    assert "không có ảnh · chưa ghi nhận người được đề cử đồng ý" in officer.text
    assert "Lịch sử: 24/11/2026 đã gửi" in officer.text

    await officer.press(code)
    assert f"Đề cử {code} · Cá nhân" in officer.text
    assert f"Việc tốt: {DEED}" in officer.text
    assert "Trạng thái: đã gửi" in officer.text
    assert officer.labels() == [
        "🔍 Đang xem xét", "✅ Duyệt", "🤝 Ghi nhận người được đề cử đã đồng ý",
        "❌ Không duyệt", "📋 Về danh sách",
    ]
    await officer.press("Đang xem xét")
    assert f"Đề cử {code}: đã chuyển sang “đang xem xét”" in officer.text
    assert "• 24/11/2026: đang xem xét" in officer.text
    assert "🔍 Đang xem xét" not in officer.labels()
    await officer.press("Duyệt")
    assert "Trạng thái: đã duyệt" in officer.text
    assert "🏅 Biểu dương / khen thưởng" in officer.labels()

    await officer.press("Biểu dương")
    refusal = ("Chưa ghi nhận người được đề cử đồng ý, "
               f"nên chưa biểu dương/khen thưởng đề cử {code}")
    assert refusal in officer.text
    async with sessionmaker() as session:
        assert (await repo.by_code(session, code)).status == "approved"

    await officer.press("Ghi nhận người được đề cử đã đồng ý")
    assert f"Đề cử {code}: đã ghi nhận người được đề cử đồng ý" in officer.text
    assert "✍️ người được đề cử đã đồng ý (24/11/2026)" in officer.text
    await officer.press("Biểu dương")
    assert "Trạng thái: đã biểu dương/khen thưởng" in officer.text
    assert "Đề cử này đã xử lý xong." in officer.text
    assert officer.labels() == ["📋 Về danh sách"]

    told = await notices(sessionmaker, resident)
    assert len(told) == 3
    for text, status in zip(told, ("đang xem xét", "đã duyệt", "đã biểu dương/khen thưởng"),
                            strict=True):
        assert code in text and status in text
    entries = await audited(sessionmaker, "nomination_status")
    assert [(e.details["code"], e.details["status"]) for e in entries] == [
        (code, "under_review"), (code, "approved"), (code, "honoured"),
    ]
    assert [e.details["code"] for e in await audited(sessionmaker, "nominee_agreement")] == [code]
    await officer.press("Về danh sách")
    assert "Hiện không có đề cử nào chờ xử lý" in officer.text


async def test_not_approving_needs_a_reason_that_reaches_the_nominator(make_chat, sessionmaker):
    resident = make_chat("resident")
    code = await nominate(resident)
    officer = await officer_chat(make_chat, sessionmaker)
    await officer.say("/duyet")
    await officer.say(code.lower())
    await officer.press("Không duyệt")
    assert f"Vì sao không duyệt đề cử {code}?" in officer.text
    await officer.say("Sai")
    assert "Lý do hơi ngắn (cần ít nhất 5 ký tự, bạn mới viết 3)" in officer.text
    await officer.say("x" * 501)
    assert "Lý do dài quá (tối đa 500 ký tự, bạn đã viết 501)" in officer.text
    async with sessionmaker() as session:
        assert (await repo.by_code(session, code)).status == "submitted"
    await officer.say("Việc tốt chưa được xác minh ở địa phương.")
    assert "Trạng thái: không được duyệt" in officer.text
    assert "• 24/11/2026: không được duyệt — lý do: Việc tốt chưa được xác minh" in officer.text
    assert officer.labels() == ["📋 Về danh sách"]
    [told] = await notices(sessionmaker, resident)
    assert code in told and "không được duyệt" in told
    assert "Lý do: Việc tốt chưa được xác minh ở địa phương." in told
    await resident.say("/decucuatoi")
    assert "Lý do: Việc tốt chưa được xác minh ở địa phương." in resident.text
    [entry] = await audited(sessionmaker, "nomination_status")
    assert entry.details == {"code": code, "status": "rejected"}


async def test_the_queue_is_oldest_first_five_at_a_time(make_chat, sessionmaker, clock):
    resident = make_chat("resident")
    await resident.join("Tổ dân phố 5")
    names = [f"Người số {n}" for n in range(1, 9)]
    codes = await seed(sessionmaker, clock, resident,
                       [(name, "05", "kinh-te") for name in names])
    await set_status(sessionmaker, clock, codes[1], "rejected")
    await set_status(sessionmaker, clock, codes[2], "approved")
    officer = await officer_chat(make_chat, sessionmaker)
    await officer.say("/duyet")
    assert "Đề cử chờ xử lý: 7" in officer.text
    assert codes[1] not in officer.text
    shown = [c for c in codes if c in officer.text]
    assert shown == [codes[0], *codes[2:6]]
    assert officer.text.index(codes[0]) < officer.text.index(codes[2]) < officer.text.index(
        codes[5])
    assert "📷 có ảnh" in officer.text and "(đang xem 1–5 trên 7)" in officer.text
    await officer.press("Xem thêm")
    assert [c for c in codes if c in officer.text] == codes[6:]
    assert "(đang xem 6–7 trên 7)" in officer.text
    assert "⏬ Xem thêm" not in officer.labels()


async def test_the_queue_is_filtered_by_group_and_field_by_button_or_typing(
    make_chat, sessionmaker, clock
):
    resident = make_chat("resident")
    await resident.join("Tổ dân phố 5")
    codes = await seed(sessionmaker, clock, resident, [
        ("An", "05", "kinh-te"), ("Bình", "07", "kinh-te"), ("Chi", "07", "an-ninh-trat-tu"),
        ("Dũng", "05", "an-ninh-trat-tu"),
    ])
    officer = await officer_chat(make_chat, sessionmaker)
    await officer.say("/duyet")
    await officer.press("Lọc theo tổ")
    await officer.press("Tổ dân phố 7")
    assert "Đang lọc: Tổ dân phố 7" in officer.text
    assert [c for c in codes if c in officer.text] == [codes[1], codes[2]]
    await officer.press("Lọc theo lĩnh vực")
    await officer.press("An ninh - Trật tự")
    assert "Đang lọc: Tổ dân phố 7 · An ninh - Trật tự" in officer.text
    assert [c for c in codes if c in officer.text] == [codes[2]]
    await officer.press("Bỏ lọc")
    assert [c for c in codes if c in officer.text] == codes
    await officer.say("to 5")
    assert [c for c in codes if c in officer.text] == [codes[0], codes[3]]
    await officer.say("kinh te")
    assert "Đang lọc: Tổ dân phố 5 · Kinh tế" in officer.text
    assert [c for c in codes if c in officer.text] == [codes[0]]
    await officer.say("/duyet an ninh")
    assert [c for c in codes if c in officer.text] == [codes[2], codes[3]]
    await officer.say("/duyet tổ 9")
    assert "Không có đề cử nào chờ xử lý theo bộ lọc này." in officer.text
    assert "✖️ Bỏ lọc" in officer.labels()
    await officer.say("bánh mì")
    assert "Mình chưa nhận ra" in officer.text and "ND-2026-0042" in officer.text


async def test_typing_a_code_opens_any_nomination_even_off_the_page(
    make_chat, sessionmaker, clock
):
    resident = make_chat("resident")
    await resident.join("Tổ dân phố 5")
    codes = await seed(sessionmaker, clock, resident,
                       [(f"Người {n}", "05", "kinh-te") for n in range(7)])
    await set_status(sessionmaker, clock, codes[0], "rejected")
    officer = await officer_chat(make_chat, sessionmaker)
    await officer.say("/duyet")
    assert codes[6] not in officer.text
    await officer.say(codes[6])
    assert f"Đề cử {codes[6]} · Cá nhân" in officer.text and "Người 6" in officer.text
    await officer.say("ND-2026-9999")
    assert "Không tìm thấy đề cử ND-2026-9999" in officer.text
    await officer.say(f"/duyet {codes[0]}")
    assert "Trạng thái: không được duyệt" in officer.text
    assert officer.labels() == ["📋 Về danh sách"]


async def test_a_change_made_meanwhile_is_explained_not_repeated(make_chat, sessionmaker, clock):
    resident = make_chat("resident")
    code = await nominate(resident)
    first = await officer_chat(make_chat, sessionmaker, "officer-1")
    second = await officer_chat(make_chat, sessionmaker, "officer-2")
    for officer in (first, second):
        await officer.say(f"/duyet {code}")
    await first.press("Không duyệt")
    await first.say("Trùng với một đề cử khác.")
    await second.press("Đang xem xét")
    assert "đang ở trạng thái “không được duyệt”, không chuyển sang “đang xem xét” được" in (
        second.text
    )
    assert len(await notices(sessionmaker, resident)) == 1


async def test_leaders_read_their_own_groups_nominations_only(make_chat, sessionmaker, clock):
    resident = make_chat("resident")
    await resident.join("Tổ dân phố 5")
    codes = await seed(sessionmaker, clock, resident, [
        ("An", "05", "kinh-te"), ("Bình", "07", "kinh-te"), ("Chi", "05", "an-ninh-trat-tu"),
    ])
    await set_status(sessionmaker, clock, codes[2], "honoured")
    leader = make_chat("leader")
    await leader.join("Tổ dân phố 5")
    await give_role(sessionmaker, leader, "leader", "05")
    await leader.say("/menu")
    await leader.press("Đề cử theo tổ")
    assert "Đề cử của Tổ dân phố 5: 2" in leader.text
    assert [c for c in codes if c in leader.text] == [codes[0], codes[2]]
    assert leader.text.index(codes[2]) < leader.text.index(codes[0])  # newest first
    assert f"{codes[2]} · Cá nhân · đã biểu dương/khen thưởng" in leader.text
    assert "An — Tổ dân phố 5" in leader.text
    assert "Lịch sử: 14/11/2026 đã gửi → 24/11/2026 đã biểu dương/khen thưởng" in leader.text
    assert leader.labels() == []
    await leader.say("/decuto 7")
    assert "bạn chỉ làm việc được với Tổ dân phố 5, không phải Tổ dân phố 7" in leader.text
    assert codes[1] not in leader.text
    [entry] = await audited(sessionmaker, "denied")
    assert (entry.target, entry.details["group"], entry.details["role"]) == (
        "/decuto", "07", "leader")
    await leader.say("/duyet")
    assert "chỉ dành cho cán bộ" in leader.text
    officer = await officer_chat(make_chat, sessionmaker)
    await officer.say("/decuto tổ 7")
    assert "Đề cử của Tổ dân phố 7: 1" in officer.text and codes[1] in officer.text
    await officer.say("/decuto")
    assert "Đề cử của các tổ dân phố: 3" in officer.text


async def test_a_groups_list_pages_by_five(make_chat, sessionmaker, clock):
    resident = make_chat("resident")
    await resident.join("Tổ dân phố 5")
    codes = await seed(sessionmaker, clock, resident,
                       [(f"Người {n}", "05", "kinh-te") for n in range(6)])
    leader = make_chat("leader")
    await leader.join("Tổ dân phố 5")
    await give_role(sessionmaker, leader, "leader", "05")
    await leader.say("/decuto")
    assert [c for c in codes if c in leader.text] == codes[1:]
    await leader.press("Xem thêm")
    assert [c for c in codes if c in leader.text] == codes[:1]
    assert "(đang xem 6–6 trên 6)" in leader.text


@pytest.mark.parametrize(("command", "name"), [
    ("/duyet", "/duyet"), ("/review", "/duyet"), ("/decuto", "/decuto"),
    ("/groupnominations", "/decuto"),
])
async def test_residents_and_guests_are_refused_and_it_is_logged(
    make_chat, sessionmaker, command, name
):
    resident, guest = make_chat("resident"), make_chat("guest")
    await resident.join()
    for chat in (resident, guest):
        await chat.say(command)
        assert "chỉ dành cho cán bộ" in chat.text
        assert "ND-" not in chat.text
    entries = await audited(sessionmaker, "denied")
    assert [(e.target, e.details["role"]) for e in entries] == [
        (name, "resident"), (name, "guest"),
    ]
