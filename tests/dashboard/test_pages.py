"""What officers and leaders read on the dashboard, and what a leader cannot reach."""

from __future__ import annotations

from sqlalchemy import select

from storage.models.roles import AuditEntry
from tests.dashboard.conftest import (
    seed_households,
    seed_nominations,
    seed_responses,
    signed_in,
)


async def denied(server) -> list[AuditEntry]:
    async with server.sessionmaker() as session:
        return list(await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "denied").order_by(AuditEntry.id)
        ))


async def test_the_overview_shows_the_ward_against_its_targets(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    await seed_households(server, "05", 400)  # of 705: 56,7%
    await seed_households(server, "07", 3)
    await seed_responses(server, {"05": [5, 5, 4, 2], "07": [4, 1]})
    await seed_nominations(server, officer, [("Nguyễn Văn An", "05", "kinh-te")])
    html = await signed_in(server, browser, officer)
    assert "Hộ đăng ký tham gia" in html
    assert "403/" in html and "còn thiếu" in html
    assert "66,7%" in html and "6 phiếu trả lời" in html  # 4 of 6 satisfied
    assert "Chưa đạt mục tiêu trên 85%" in html
    assert "Đề cử chờ xử lý" in html
    assert "Kinh tế" in html and "0/5–10" in html
    assert "Tổ dân phố 5" in html and "56,7%" in html


async def test_every_page_opens_for_an_officer(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    ids = await seed_nominations(server, officer, [("Trần Thị Bình", "03", "van-hoa-xa-hoi")])
    await seed_responses(server, {"03": [5, 4]})
    await signed_in(server, browser, officer)
    for path, expected in [
        ("/admin/groups", "Xếp hạng tổ dân phố năm 2026"),
        ("/admin/groups/03", "Tổ dân phố 3"),
        ("/admin/nominations", "Trần Thị Bình"),
        (f"/admin/nominations/{ids[0]}", ">Duyệt<"),
        ("/admin/surveys", "Kết quả khảo sát"),
        ("/admin/broadcasts", "Thông báo đã gửi"),
        ("/admin/reminders", "Lịch nhắc nhở"),
        ("/admin/exports", "Tải dữ liệu"),
    ]:
        status, html = await browser.get(path)
        assert status == 200, (path, html)
        assert expected in html, path


async def test_a_leader_sees_only_their_groups(server, make_browser) -> None:
    officer = await server.staff("officer", "officer")
    leader = await server.staff("leader", "leader", "05", joined="Tổ dân phố 5")
    await seed_households(server, "05", 10)
    await seed_households(server, "07", 20)
    ids = await seed_nominations(server, officer, [
        ("Lê Văn Cường", "05", "kinh-te"),
        ("Phạm Thị Dung", "07", "kinh-te"),
    ])
    browser = make_browser()
    html = await signed_in(server, browser, leader)
    assert "Tổ trưởng Tổ dân phố 5" in html
    assert "10/705 hộ" in html
    assert "Tổ dân phố 7" not in html

    status, html = await browser.get("/admin/groups")
    assert "Tổ dân phố 5" in html and "Tổ dân phố 7" not in html
    status, html = await browser.get("/admin/nominations")
    assert "Lê Văn Cường" in html and "Phạm Thị Dung" not in html
    status, html = await browser.get(f"/admin/nominations/{ids[0]}")
    assert status == 200 and "Lê Văn Cường" in html
    assert ">Duyệt<" not in html and "cán bộ phường" in html

    # Editing the address does not reach another group's data.
    status, html = await browser.get("/admin/groups/07")
    assert status == 403 and "Tổ dân phố 7" not in html
    status, html = await browser.get(f"/admin/nominations/{ids[1]}")
    assert status == 404 and "Phạm Thị Dung" not in html
    status, html = await browser.get("/admin/nominations?group=07")
    assert status == 403 and "Phạm Thị Dung" not in html
    status, _ = await browser.get("/admin/reminders")
    assert status == 403
    status, _ = await browser.get("/admin/exports/nominations.xlsx")
    assert status == 403
    status, _ = await browser.get("/admin/exports/registrations.csv")
    assert status == 403
    targets = [e.target for e in await denied(server)]
    assert "/admin/groups/07" in targets and f"/admin/nominations/{ids[1]}" in targets

    # Review actions are refused, and the nomination does not move.
    status, html = await browser.post(f"/admin/nominations/{ids[0]}", {"action": "approve"})
    assert status == 403 and "Chỉ dành cho cán bộ phường" in html
    status, html = await browser.get(f"/admin/nominations/{ids[0]}")
    assert "đã gửi" in html and "đã duyệt" not in html


async def test_a_leader_of_two_groups_sees_both(server, browser) -> None:
    leader = await server.staff("leader", "leader", "05", joined="Tổ dân phố 5")
    from tests.fake_channel import give_role
    await give_role(server.sessionmaker, leader, "leader", "07")
    html = await signed_in(server, browser, leader)
    assert "Tổ dân phố 5" in html and "Tổ dân phố 7" in html
    status, _ = await browser.get("/admin/groups/07")
    assert status == 200
    status, _ = await browser.get("/admin/groups/03")
    assert status == 403


async def test_the_survey_page_reads_the_target_with_its_interval(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    await seed_responses(server, {"05": [5] * 19 + [2]})
    await signed_in(server, browser, officer)
    status, html = await browser.get("/admin/surveys")
    assert status == 200
    assert "95,0%" in html and "20 phiếu trả lời" in html
    assert "khoảng tin cậy 95%" in html
    # 19 of 20 is above 85% on the point estimate, but the interval reaches below it.
    assert "chưa chắc chắn" in html
    assert "Rất hài lòng" in html and "Họp tổ dân phố" in html
