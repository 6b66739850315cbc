"""Roles: invites claimed in chat, officers inviting and revoking leaders, refusals logged."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers import role_service
from storage.models.roles import AuditEntry, RoleGrant
from storage.repos import roles
from tests.fake_channel import give_role


async def audit_actions(sessionmaker) -> list[str]:
    async with sessionmaker() as session:
        return [
            e.action for e in (await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        ]


async def make_invite(sessionmaker, clock, role="leader", group="05", hours=72) -> str:
    async with sessionmaker() as session, session.begin():
        code, _ = await role_service.invite(
            session,
            role=role,
            group_code=group,
            actor="cli",
            at=clock.now,
            valid_for=timedelta(hours=hours),
        )
    return code


async def test_claiming_an_invite_makes_a_leader_with_a_leader_menu(chat, sessionmaker, clock):
    await chat.join()
    code = await make_invite(sessionmaker, clock)
    await chat.say(f"/maquyen {code.lower()}")
    assert "Tổ trưởng Tổ dân phố 5" in chat.text
    async with sessionmaker() as session:
        [grant] = (await session.scalars(select(RoleGrant))).all()
    assert (grant.role, grant.group_code) == ("leader", "05")
    assert await audit_actions(sessionmaker) == ["invite_created", "role_granted"]


async def test_an_invite_works_once_and_expires(make_chat, sessionmaker, clock):
    first, second, late = make_chat("a"), make_chat("b"), make_chat("c")
    for chat in (first, second, late):
        await chat.join()
    code = await make_invite(sessionmaker, clock)
    await first.say(f"/maquyen {code}")
    await second.say(f"/maquyen {code}")
    assert "đã được dùng rồi" in second.text
    expiring = await make_invite(sessionmaker, clock, hours=1)
    clock.now += timedelta(hours=2)
    await late.say(f"/maquyen {expiring}")
    assert "đã hết hạn" in late.text
    await late.say("/maquyen KHONG-COMA")
    assert "không đúng" in late.text
    assert (await audit_actions(sessionmaker)).count("invite_refused") == 3


async def test_claim_without_a_code_explains(chat):
    await chat.join()
    await chat.say("/maquyen")
    assert "/maquyen ABCDE-FGHJK" in chat.text


async def test_officer_invites_and_revokes_a_leader(make_chat, sessionmaker):
    officer, leader = make_chat("officer"), make_chat("leader")
    await officer.join("Tổ dân phố 1")
    await leader.join("Tổ dân phố 7")
    await give_role(sessionmaker, officer, "officer")
    await officer.say("/menu")
    await officer.press("Phân quyền")
    assert "Chưa có ai" not in officer.text  # the officer is listed
    await officer.press("Tạo mã mời tổ trưởng")
    await officer.press("Tổ dân phố 7")
    code = next(word for word in officer.text.split() if word.count("-") == 1 and len(word) == 11)
    await leader.say(f"/maquyen {code}")
    assert "Tổ trưởng Tổ dân phố 7" in leader.text
    await officer.say("/thuhoi")
    await officer.press("Tổ trưởng Tổ dân phố 7")
    await officer.press("Thu hồi")
    assert "Đã thu hồi quyền Tổ trưởng Tổ dân phố 7" in officer.text
    async with sessionmaker() as session:
        assert await roles.holders(session, "leader") == []
    assert "role_revoked" in await audit_actions(sessionmaker)


async def test_residents_are_refused_staff_commands_and_it_is_logged(chat, sessionmaker):
    await chat.join()
    await chat.say("/phanquyen")
    assert "chỉ dành cho cán bộ" in chat.text
    async with sessionmaker() as session:
        [entry] = (await session.scalars(select(AuditEntry))).all()
    assert (entry.action, entry.target, entry.details["role"]) == (
        "denied",
        "/phanquyen",
        "resident",
    )


async def test_guests_are_refused_staff_commands_too(chat, sessionmaker):
    await chat.say("/thuhoi")
    assert "chỉ dành cho cán bộ" in chat.text
    assert await audit_actions(sessionmaker) == ["denied"]


async def test_staff_menu_shows_their_work_first_and_the_residents_menu_one_tap_away(
    chat, sessionmaker
):
    await chat.join()
    await give_role(sessionmaker, chat, "officer")
    await chat.say("/menu")
    assert "👥 Phân quyền" in chat.labels()
    assert "🏠 Đăng ký hộ gia đình" not in chat.labels()
    await chat.press("Chức năng người dân")
    assert "🏠 Đăng ký hộ gia đình" in chat.labels()
    assert "👥 Phân quyền" not in chat.labels()
    await chat.press("Công việc cán bộ")
    assert "👥 Phân quyền" in chat.labels()
