"""Reminders in chat and on the command line: residents stop and restart them; officers
list, add, pause, resume and delete rules, every change audited."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.scheduler import fire_rule
from storage.models import OutboxMessage, Resident
from storage.models.reminders import ReminderRule
from storage.models.roles import AuditEntry
from storage.repos import households, roles
from tests.fake_channel import give_role


async def audit_log(sessionmaker) -> list[AuditEntry]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


async def all_rules(sessionmaker) -> list[ReminderRule]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(ReminderRule).order_by(ReminderRule.id)))


async def officer_chat(make_chat, sessionmaker, user="officer"):
    officer = make_chat(user)
    await officer.join("Tổ dân phố 1")
    await give_role(sessionmaker, officer, "officer")
    await officer.say("/menu")
    return officer


async def register_household(sessionmaker, chat, head: str, clock) -> None:
    async with sessionmaker() as session, session.begin():
        resident_id = await roles.resident_by_account(session, chat.channel, chat.user_id)
        await households.register(
            session,
            households.HouseholdDetails("05", head, "Số 12 ngõ 3 Lê Lợi", "+84912345678", 4),
            household_id=None,
            resident_id=resident_id,
            consent_at=clock.now,
            year=2026,
            campaigns=["phan-loai-rac"],
            at=clock.now,
        )


# Residents: /tatnhac and /batnhac


async def test_a_resident_stops_and_restarts_reminders(chat, sessionmaker):
    await chat.join()
    await chat.say("tắt nhắc nhở")
    assert "Đã tắt nhắc nhở" in chat.text
    assert "vẫn nhận thông báo của tổ trưởng" in chat.text
    await chat.say("/tatnhac")
    assert "đã tắt nhắc nhở từ ngày 24/11/2026" in chat.text
    await chat.press("Bật lại nhắc nhở")
    assert "Đã bật lại nhắc nhở" in chat.text
    await chat.say("bat nhac")
    assert "đang nhận nhắc nhở" in chat.text
    await chat.say("khong nhac nua")
    await chat.say("/startreminders")
    async with sessionmaker() as session:
        [resident] = (await session.scalars(select(Resident))).all()
    assert resident.reminders_off_at is None


async def test_the_button_under_a_reminder_stops_reminders(chat, sessionmaker, ward, clock):
    await chat.join()
    async with sessionmaker() as session, session.begin():
        rule = ReminderRule(name="Nhắc thử", cron="0 9 * * *", message="Chào {ten}!",
                            created_by="test")
        session.add(rule)
    await fire_rule(sessionmaker, rule.id, clock.now, ward, clock=clock)
    async with sessionmaker() as session:
        [queued] = (await session.scalars(select(OutboxMessage))).all()
    assert queued.payload["text"] == "Chào bạn!"
    [[[label, data]]] = queued.payload["buttons"]
    assert label == "🔕 Tắt nhắc nhở"
    await chat.press_data(data)
    assert "Đã tắt nhắc nhở" in chat.text


async def test_guests_are_asked_to_join_first(chat):
    await chat.say("/tatnhac")
    assert "Bạn có đồng ý không?" in chat.text


# Officers: /nhacnho


async def test_residents_and_leaders_are_refused_and_logged(make_chat, sessionmaker):
    resident, leader = make_chat("r"), make_chat("l")
    await resident.join()
    await leader.join()
    await give_role(sessionmaker, leader, "leader", "05")
    await resident.say("/nhacnho")
    assert "chỉ dành cho cán bộ" in resident.text
    await leader.say("/reminders them")
    assert "chỉ dành cho cán bộ" in leader.text
    denied = [e for e in await audit_log(sessionmaker) if e.action == "denied"]
    assert [(e.target, e.details["role"]) for e in denied] == [
        ("/nhacnho", "resident"), ("/nhacnho", "leader")
    ]
    await leader.say("/menu")
    assert "Lịch nhắc nhở" not in leader.labels()


async def test_officer_adds_a_monthly_reminder_with_a_preset(
    make_chat, sessionmaker, clock
):
    resident = make_chat("resident")
    await resident.join("Tổ dân phố 5")
    await register_household(sessionmaker, resident, "Nguyễn Văn An", clock)
    officer = await officer_chat(make_chat, sessionmaker)
    await officer.press("Lịch nhắc nhở")
    assert "chưa có lịch nhắc nhở nào" in officer.text
    await officer.press("Thêm lịch nhắc")
    await officer.say("Nhắc phân loại rác")
    await officer.press("Hằng tháng, ngày 1 lúc 9:00")
    assert "9:00 ngày 1 hằng tháng" in officer.text
    assert "01/12/2026 09:00, 01/01/2027 09:00, 01/02/2027 09:00" in officer.text
    await officer.press("Người tham gia một phong trào")
    await officer.press("Phân loại rác thải tại nguồn")
    await officer.press("Chọn tổ dân phố")
    await officer.press("Tổ dân phố 5")
    await officer.press("Tổ dân phố 7")
    await officer.press("Xong")
    await officer.say("Chào {ten}! {to} nhắc gia đình phân loại rác trước {han} nhé.")
    assert "Hạn chót là ngày nào?" in officer.text
    await officer.say("31/13/2026")
    assert "ví dụ: 31/12/2026" in officer.text
    await officer.say("31/12/2026")
    assert "Người tham gia “Phân loại rác thải tại nguồn” · Tổ dân phố 5, Tổ dân phố 7" in (
        officer.text
    )
    assert "Hiện có 1 người nhận." in officer.text
    assert "ông/bà Nguyễn Văn An (Tổ dân phố 5)" in officer.text
    sample = "Chào Nguyễn Văn An! Tổ dân phố 5 nhắc gia đình phân loại rác trước 31/12/2026 nhé."
    assert sample in officer.text
    await officer.press("Lưu lịch nhắc")
    assert "Đã lưu lịch nhắc “Nhắc phân loại rác”. Lần gửi tới: 01/12/2026 09:00." in officer.text
    [rule] = await all_rules(sessionmaker)
    assert (rule.cron, rule.audience, rule.groups, rule.status) == (
        "0 9 1 * *", "campaign:phan-loai-rac", ["05", "07"], "active"
    )
    assert rule.deadline.isoformat() == "2026-12-31"
    [added] = [e for e in await audit_log(sessionmaker) if e.action == "reminder_added"]
    assert added.target == f"reminder:{rule.id}"
    assert added.details["name"] == "Nhắc phân loại rác"
    await officer.say("/nhacnho")
    assert "Nhắc phân loại rác — ▶️ đang chạy" in officer.text
    assert "9:00 ngày 1 hằng tháng" in officer.text
    assert "Chưa gửi lần nào" in officer.text


async def test_a_typed_cron_is_checked_and_shown_in_words(make_chat, sessionmaker):
    officer = await officer_chat(make_chat, sessionmaker)
    await officer.say("/nhacnho them")
    await officer.say("Nhắc khảo sát cuối tuần")
    await officer.say("thứ bảy 8 giờ")
    assert "Lịch “thứ bảy 8 giờ” chưa đúng" in officer.text
    assert "ví dụ: 0 9 1 * *" in officer.text
    assert "Hằng tuần, thứ Hai 8:00" in officer.labels()
    await officer.say("0 8 * * 61")
    assert "chưa đúng" in officer.text
    await officer.say("30 7 * * 6")
    assert "7:30 thứ Bảy hằng tuần" in officer.text
    assert "28/11/2026 07:30, 05/12/2026 07:30, 12/12/2026 07:30" in officer.text
    await officer.press("Người chưa trả lời khảo sát")
    await officer.press("Cả phường")
    await officer.say("Chào {ten}, mời bạn trả lời khảo sát: gõ /khaosat")
    assert "Chào bạn, mời bạn trả lời khảo sát" in officer.text
    await officer.press("Lưu lịch nhắc")
    [rule] = await all_rules(sessionmaker)
    assert (rule.cron, rule.audience, rule.groups) == ("30 7 * * 6", "no_survey", None)


async def test_unknown_placeholders_are_refused_with_the_allowed_ones(make_chat, sessionmaker):
    officer = await officer_chat(make_chat, sessionmaker)
    await officer.say("/nhacnho them")
    await officer.say("Nhắc đăng ký")
    await officer.press("Hằng ngày 19:00")
    await officer.press("Hộ chưa đăng ký năm nay")
    await officer.press("Cả phường")
    await officer.say("Chào {ho_ten}, mời đăng ký")
    assert "“{ho_ten}”" in officer.text
    assert "{ten}, {to}, {han}" in officer.text
    await officer.say("Chào {ten, mời đăng ký")
    assert "“{”" in officer.text
    await officer.say("Nhắc")
    assert "từ 5 đến 1.000 ký tự" in officer.text
    await officer.say("Chào {Tên}, mời gia đình đăng ký: gõ /dangky")
    assert "Chào bạn, mời gia đình đăng ký" in officer.text
    assert "Lưu lịch nhắc này?" in officer.text
    await officer.press("Không lưu")
    assert "không lưu lịch nhắc nào" in officer.text
    assert await all_rules(sessionmaker) == []


async def test_a_name_in_use_is_refused(make_chat, sessionmaker):
    officer = await officer_chat(make_chat, sessionmaker)
    async with sessionmaker() as session, session.begin():
        session.add(ReminderRule(name="Nhắc khảo sát", cron="0 9 1 * *", message="Chào {ten}!",
                                 created_by="test", status="deleted"))
    await officer.say("/nhacnho them")
    await officer.say("nhac khao sat")
    assert "Đã có lịch nhắc tên “nhac khao sat”" in officer.text
    await officer.say("Nhắc khảo sát tháng")
    assert "Khi nào gửi?" in officer.text


async def test_pause_resume_and_delete_are_audited(make_chat, sessionmaker):
    officer = await officer_chat(make_chat, sessionmaker)
    async with sessionmaker() as session, session.begin():
        session.add_all([
            ReminderRule(name="Nhắc khảo sát", cron="0 9 1 * *", audience="no_survey",
                         message="Chào {ten}!", created_by="test"),
            ReminderRule(name="Nhắc tuần", cron="0 8 * * 1", message="Chào {ten}!",
                         created_by="test"),
        ])
    await officer.press("Lịch nhắc nhở")
    assert "Lịch nhắc nhở của phường (2)" in officer.text
    assert "8:00 thứ Hai hằng tuần" in officer.text
    await officer.press("Tạm dừng / chạy lại")
    await officer.press("Dừng: Nhắc tuần")
    assert "Đã tạm dừng “Nhắc tuần”" in officer.text
    assert "Nhắc tuần — ⏸ tạm dừng" in officer.text
    await officer.press("Tạm dừng / chạy lại")
    await officer.press("Chạy lại: Nhắc tuần")
    assert "Đã chạy lại “Nhắc tuần”. Lần gửi tới: 30/11/2026 08:00." in officer.text
    await officer.press("Xoá lịch nhắc")
    await officer.press("Nhắc khảo sát")
    assert "Xoá hẳn lịch nhắc “Nhắc khảo sát”?" in officer.text
    await officer.press("Không xoá")
    assert "giữ nguyên" in officer.text
    await officer.press("Xoá lịch nhắc")
    await officer.press("Nhắc khảo sát")
    await officer.press("🗑 Xoá")
    assert "Đã xoá lịch nhắc “Nhắc khảo sát”" in officer.text
    assert "Lịch nhắc nhở của phường (1)" in officer.text
    rules = await all_rules(sessionmaker)
    assert [(r.name, r.status) for r in rules] == [
        ("Nhắc khảo sát", "deleted"), ("Nhắc tuần", "active")
    ]
    changes = [(e.action, e.target) for e in await audit_log(sessionmaker)
               if e.action.startswith("reminder_")]
    assert changes == [
        ("reminder_paused", f"reminder:{rules[1].id}"),
        ("reminder_resumed", f"reminder:{rules[1].id}"),
        ("reminder_deleted", f"reminder:{rules[0].id}"),
    ]


async def test_an_officer_who_lost_the_role_mid_flow_cannot_save(make_chat, sessionmaker):
    officer = await officer_chat(make_chat, sessionmaker)
    await officer.say("/nhacnho them")
    await officer.say("Nhắc hằng ngày")
    await officer.press("Hằng ngày 19:00")
    await officer.press("Mọi người nhận nhắc nhở")
    await officer.press("Cả phường")
    await officer.say("Chào {ten}, chúc một ngày tốt lành!")
    async with sessionmaker() as session, session.begin():
        resident_id = await roles.resident_by_account(session, "test", "officer")
        from handlers import role_service

        await role_service.revoke(session, resident_id=resident_id, role="officer",
                                  group_code=None, actor="test", at=datetime.now(UTC))
    await officer.press("Lưu lịch nhắc")
    assert "chỉ dành cho cán bộ" in officer.text
    assert await all_rules(sessionmaker) == []
    assert (await audit_log(sessionmaker))[-1].action == "denied"


# On the command line


def thidua(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    environment["THIDUA_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    return subprocess.run(
        [sys.executable, "-m", "bot", "reminders", *args],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60,
    )


def test_the_command_line_manages_rules(tmp_path: Path) -> None:
    added = thidua(
        ["add", "--name", "Nhắc đăng ký", "--cron", "0 9 15 * *", "--audience", "unregistered",
         "--message", "Chào {ten}, hạn đăng ký là {han}.", "--groups", "01,05",
         "--deadline", "31/12/2026"],
        tmp_path,
    )
    assert added.returncode == 0, added.stderr
    assert "Nhắc đăng ký" in added.stdout
    assert "9:00 on day 15 of every month" in added.stdout
    listed = thidua(["list"], tmp_path)
    assert "Nhắc đăng ký" in listed.stdout
    assert "groups 01,05" in listed.stdout
    assert "never" in listed.stdout
    bad = thidua(["add", "--name", "Sai", "--cron", "9h sáng", "--message", "Chào {ten}!"],
                 tmp_path)
    assert bad.returncode == 2
    assert "e.g. 0 9 1 * *" in bad.stdout
    unknown = thidua(["add", "--name", "Sai lệnh", "--cron", "0 9 * * *",
                      "--message", "Chào {ho}!"], tmp_path)
    assert unknown.returncode == 2 and "{ten}, {to}, {han}" in unknown.stdout
    assert thidua(["pause", "Nhắc đăng ký"], tmp_path).returncode == 0
    assert "paused" in thidua(["list"], tmp_path).stdout
    assert thidua(["resume", "1"], tmp_path).returncode == 0
    assert thidua(["delete", "1"], tmp_path).returncode == 0
    assert "no reminder rules yet" in thidua(["list"], tmp_path).stdout
    assert thidua(["pause", "1"], tmp_path).returncode == 1
