"""Signing in to the dashboard with the one-time link from /web, sessions, signing out."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from storage.models.roles import AuditEntry
from storage.repos import dashboard, roles
from tests.dashboard.conftest import link_in, signed_in


async def audited(server, action: str) -> list[AuditEntry]:
    async with server.sessionmaker() as session:
        return list(await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ))


async def test_an_officer_signs_in_once_with_the_link_from_the_bot(server, browser,
                                                                   make_browser) -> None:
    officer = await server.staff("officer", "officer")
    await officer.say("/web")
    assert "dùng được một lần" in officer.text and "10 phút" in officer.text
    link = link_in(officer)
    assert link.startswith(server.base + "/admin/login/")

    status, html = await browser.sign_in(link)
    assert status == 200
    assert "Tổng quan năm 2026" in html and "Phường An Hải" in html
    assert "Đăng xuất" in html and "Cán bộ phường" in html
    [entry] = await audited(server, "dashboard_signin")
    assert entry.actor == f"resident:{await server.resident_id(officer)}"
    assert entry.details["role"] == "officer"

    # The same link, opened again (even in another browser), is refused.
    other = make_browser()
    status, html = await other.get(link)
    assert status == 410 and "Liên kết đã được dùng" in html
    status, html = await other.post(link, token=False)
    assert status == 410 and "Liên kết đã được dùng" in html
    status, html = await other.get("/admin")
    assert status == 401 and "Bạn cần đăng nhập" in html and "/web" in html


async def test_the_cookie_is_signed_httponly_and_same_site(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    await officer.say("/web")
    status, html = await browser.get(link_in(officer))
    assert status == 200
    async with browser.http.post(link_in(officer), headers={"Origin": server.base},
                                 allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/admin"
        cookie = response.cookies["thidua_admin"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/admin"
        assert "." in cookie.value  # itsdangerous: value and signature
    # A tampered cookie opens nothing.
    value = cookie.value
    status, _ = await browser.get("/admin")
    assert status == 200
    browser.http.cookie_jar.clear()
    forged = value[:-2] + ("xx" if not value.endswith("xx") else "yy")
    status, html = await browser.get("/admin", headers={"Cookie": f"thidua_admin={forged}"})
    assert status == 401


async def test_a_link_expires_after_ten_minutes(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    await officer.say("/web")
    link = link_in(officer)
    server.clock.now += timedelta(minutes=10, seconds=1)
    status, html = await browser.get(link)
    assert status == 410 and "Liên kết đã hết hạn" in html and "gửi /web" in html
    status, html = await browser.post(link, token=False)
    assert status == 410
    assert await audited(server, "dashboard_signin") == []


async def test_a_link_still_works_just_before_ten_minutes(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    await officer.say("/web")
    server.clock.now += timedelta(minutes=9, seconds=59)
    status, html = await browser.sign_in(link_in(officer))
    assert status == 200 and "Tổng quan" in html


async def test_an_unknown_token_is_refused_with_a_clear_page(server, browser) -> None:
    status, html = await browser.get("/admin/login/" + secrets.token_urlsafe(32))
    assert status == 404
    assert "Liên kết không hợp lệ" in html and '<html lang="vi">' in html
    status, html = await browser.post("/admin/login/not-a-token", token=False)
    assert status == 404


async def test_a_resident_cannot_get_or_use_a_link(server, browser) -> None:
    resident = await server.staff("resident", "resident")
    await resident.say("/web")
    assert "/admin/login/" not in resident.text
    denied = await audited(server, "denied")
    assert [e.target for e in denied] == ["/web"]

    # A link made for a resident by other means is refused when opened, and audited.
    token = secrets.token_urlsafe(32)
    async with server.sessionmaker() as session, session.begin():
        await dashboard.create_link(session, token=token,
                                    resident_id=await server.resident_id(resident),
                                    role="officer", now=server.clock.now,
                                    expires_at=server.clock.now + timedelta(minutes=10))
    status, html = await browser.sign_in(f"{server.base}/admin/login/{token}")
    assert status == 403 and "Không đăng nhập được" in html
    assert (await audited(server, "denied"))[-1].details["reason"] == "not_staff"
    status, _ = await browser.get("/admin")
    assert status == 401


async def test_the_session_ends_after_thirty_minutes_without_activity(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    await signed_in(server, browser, officer)
    server.clock.now += timedelta(minutes=29)
    status, _ = await browser.get("/admin/groups")
    assert status == 200
    # Activity moved the window: 29 more minutes are fine, 31 are not.
    server.clock.now += timedelta(minutes=29)
    status, _ = await browser.get("/admin")
    assert status == 200
    server.clock.now += timedelta(minutes=31)
    status, html = await browser.get("/admin")
    assert status == 401 and "Phiên làm việc đã hết hạn" in html
    server.clock.now += timedelta(seconds=1)
    status, html = await browser.get("/admin")
    assert status == 401


async def test_a_revoked_role_ends_the_session(server, browser) -> None:
    leader = await server.staff("leader", "leader", "05", joined="Tổ dân phố 5")
    await signed_in(server, browser, leader)
    async with server.sessionmaker() as session, session.begin():
        await roles.revoke(session, resident_id=await server.resident_id(leader),
                           role="leader", group_code="05")
    status, html = await browser.get("/admin")
    assert status == 403 and "Quyền của bạn đã thay đổi" in html
    status, _ = await browser.get("/admin")
    assert status == 401


async def test_signing_out_ends_the_session_and_is_audited(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    await signed_in(server, browser, officer)
    status, html = await browser.post("/admin/logout")
    assert status == 200 and "Bạn đã đăng xuất" in html
    status, _ = await browser.get("/admin")
    assert status == 401
    [entry] = await audited(server, "dashboard_signout")
    assert entry.actor == f"resident:{await server.resident_id(officer)}"


async def test_staff_find_the_dashboard_in_their_menu_and_by_its_english_name(server) -> None:
    leader = await server.staff("leader", "leader", "05", joined="Tổ dân phố 5")
    await leader.say("/menu")
    assert "🖥️ Trang quản trị web" in leader.labels()
    await leader.say("/dashboard")
    assert "/admin/login/" in leader.text
    await leader.say("trang quản trị")
    assert "/admin/login/" in leader.text
