"""/xuat in chat: choose what and which format, get the file; a link where files cannot go."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import timedelta

import aiohttp
import openpyxl
import pytest
from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.app import build_app
from bot.dispatcher import Dispatcher
from bot.events import Capabilities
from bot.registry import Registry
from bot.settings import load_settings
from bot.ward import WardConfig
from handlers import ROUTERS
from handlers import exports as export_handlers
from storage.models.roles import AuditEntry
from storage.models.surveys import Survey
from tests.exports.files import csv_rows, export, png_size, rows
from tests.exports.seed import OPENED, seed_households, seed_survey, small_ward
from tests.fake_channel import FakeChannel, give_role

# Until handlers.ROUTERS lists the exports router, the tests add it themselves.
ALL_ROUTERS = ROUTERS if export_handlers.router in ROUTERS else [*ROUTERS,
                                                                  export_handlers.router]


@pytest.fixture(scope="module")
def ward() -> WardConfig:
    return small_ward()


@pytest.fixture
def dispatcher(sessionmaker, ward, clock) -> Dispatcher:
    return Dispatcher(sessionmaker, Registry(ALL_ROUTERS), ward, clock=clock)


@dataclass
class NoFilesChannel(FakeChannel):
    """A chat on a channel that cannot send documents (like Zalo)."""

    @property
    def capabilities(self) -> Capabilities:
        return replace(super().capabilities, documents=False)


async def staff(make_chat, sessionmaker, role: str, group: str = "05") -> FakeChannel:
    chat = make_chat(f"{role}-{group}")
    await chat.join(f"Tổ dân phố {int(group)}")
    if role != "resident":
        await give_role(sessionmaker, chat, role, group if role == "leader" else None)
    return chat


async def audit_entries(sessionmaker, action: str) -> list[AuditEntry]:
    async with sessionmaker() as session:
        found = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        return list(found)


async def test_an_officer_chooses_survey_results_as_excel(make_chat, sessionmaker, ward):
    await seed_survey(sessionmaker, ward)
    officer = await staff(make_chat, sessionmaker, "officer")
    await officer.say("/menu")
    await officer.press("Xuất dữ liệu")
    assert "Bạn muốn xuất dữ liệu gì?" in officer.text
    assert officer.labels() == ["📝 Kết quả khảo sát", "🏠 Hộ đăng ký tham gia",
                                "🏅 Đề cử Người tốt, việc tốt"]
    await officer.press("Kết quả khảo sát")
    assert "Kết quả khảo sát. Bạn chọn định dạng tệp:" in officer.text
    assert officer.labels()[:3] == ["📊 Excel (XLSX)", "📄 CSV", "📈 Biểu đồ (PNG)"]
    await officer.press("Excel")
    [reply] = officer.last
    assert reply.text == "✅ Tệp của bạn đây."
    document = reply.attachment
    assert document is not None and document.filename.endswith(".xlsx")
    assert document.caption.startswith("Kết quả khảo sát “Khảo sát mức độ hài lòng")
    book = openpyxl.load_workbook(io.BytesIO(document.content))
    assert book.sheetnames == ["Tóm tắt", "Phiếu trả lời", "Từng câu hỏi", "Hài lòng theo tổ"]
    assert len(rows(book, "Phiếu trả lời")) == 331
    [entry] = await audit_entries(sessionmaker, "export")
    assert entry.actor.startswith("resident:") and entry.target == "surveys"
    assert (entry.details["format"], entry.details["rows"]) == ("xlsx", 330)


async def test_an_officer_picks_last_years_registrations_by_typing_the_year(
        make_chat, sessionmaker, ward):
    await seed_households(sessionmaker)
    officer = await staff(make_chat, sessionmaker, "officer")
    await officer.say("xuất dữ liệu")
    await officer.press("Hộ đăng ký")
    await officer.press("CSV")
    assert "Xuất số liệu năm nào?" in officer.text
    assert officer.labels()[:2] == ["Năm nay (2026)", "Năm 2025"]
    await officer.say("năm ngoái")
    assert "Bạn gõ một năm, ví dụ: 2025" in officer.text
    await officer.say("2025")
    table = csv_rows(officer.last[0].attachment)
    assert ["Tổ dân phố 7", "10", "1", "10,0%", "50,0%", "Chưa đạt", "4"] in table


async def test_typed_kind_and_format_export_straight_away(make_chat, sessionmaker, ward):
    await seed_households(sessionmaker)
    officer = await staff(make_chat, sessionmaker, "officer")
    await officer.say("/export dangky png 2026")
    assert png_size(officer.last[0].attachment.content)[0] == 1080
    await officer.say("/xuat decu csv")
    assert officer.last[0].attachment.filename.startswith("de-cu-2026")
    await officer.say("/xuat bangluong")
    assert "Mình chưa nhận ra “bangluong”" in officer.text


async def test_with_several_surveys_the_officer_picks_one(make_chat, sessionmaker, ward):
    await seed_survey(sessionmaker, ward)
    async with sessionmaker() as session, session.begin():
        session.add(Survey(code="hai-long-2025", title="Khảo sát năm 2025", status="closed",
                           opens_at=OPENED - timedelta(days=365)))
    officer = await staff(make_chat, sessionmaker, "officer")
    await officer.say("/xuat khaosat")
    await officer.press("CSV")
    assert "Xuất khảo sát nào?" in officer.text
    assert officer.labels()[1] == "Khảo sát năm 2025 (01/10/2025)"
    await officer.press("Khảo sát năm 2025")
    assert csv_rows(officer.last[0].attachment)[1:] == []


async def test_a_leader_gets_their_groups_survey_figures_only(make_chat, sessionmaker, ward):
    await seed_survey(sessionmaker, ward)
    leader = await staff(make_chat, sessionmaker, "leader", "07")
    await leader.say("/xuat")
    assert "Kết quả khảo sát của Tổ dân phố 7. Bạn chọn định dạng tệp:" in leader.text
    await leader.press("Excel")
    book = openpyxl.load_workbook(io.BytesIO(leader.last[0].attachment.content))
    assert book.sheetnames == ["Tóm tắt", "Hài lòng theo tổ", "Từng câu hỏi"]
    assert [row[0] for row in rows(book, "Hài lòng theo tổ")[1:]] == [
        "Tổ dân phố 7", "Cộng các tổ đã chọn"]
    await leader.say("/xuat dangky")
    assert "chỉ cán bộ phường được xuất" in leader.text
    assert leader.last[0].attachment is None
    [denied] = await audit_entries(sessionmaker, "denied")
    assert (denied.target, denied.details["role"]) == ("export:registrations", "leader")


async def test_residents_are_refused_and_audited(make_chat, sessionmaker, ward):
    resident = await staff(make_chat, sessionmaker, "resident")
    await resident.say("/xuat khaosat csv")
    assert "chỉ dành cho cán bộ" in resident.text
    assert all(reply.attachment is None for reply in resident.last)
    [denied] = await audit_entries(sessionmaker, "denied")
    assert denied.target == "/xuat"
    assert await audit_entries(sessionmaker, "export") == []


async def test_without_documents_a_link_serves_the_same_file_for_15_minutes(
        database_url, clock, ward, monkeypatch):
    monkeypatch.setenv("THIDUA_PUBLIC_URL", "https://thidua.example")
    settings = load_settings(database_url=database_url, public_url="https://thidua.example")
    app = build_app(settings, ward=ward, clock=clock, deliver=False)
    app[keys.DISPATCHER].registry = Registry(ALL_ROUTERS)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        sessionmaker = app[keys.SESSIONMAKER]
        await seed_survey(sessionmaker, ward)
        officer = NoFilesChannel(app[keys.DISPATCHER], user_id="zalo-officer")
        await officer.join()
        await give_role(sessionmaker, officer, "officer")
        await officer.say("/xuat khaosat csv")
        [reply] = officer.last
        assert reply.attachment is None
        lines = reply.text.splitlines()
        assert lines[0].startswith("✅ Kết quả khảo sát “Khảo sát mức độ hài lòng")
        assert lines[1].startswith("📥 Tải tệp tại: https://thidua.example/dl/")
        assert lines[2] == "Liên kết hết hạn sau 15 phút."
        path = lines[1].split("https://thidua.example", 1)[1]
        expected = await export(sessionmaker, ward, "surveys", "csv")
        async with aiohttp.ClientSession() as http:
            async with http.get(base + path) as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/csv")
                assert await response.read() == expected.content
            clock.now += timedelta(minutes=16)
            async with http.get(base + path) as response:
                assert response.status == 410
    finally:
        await runner.cleanup()
