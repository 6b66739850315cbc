"""The dashboard in a real browser (Debian's Chromium, headless, through Playwright).

An officer joins in the web chat, gets a sign-in link from /web, opens it, reads the
overview, approves a nomination and downloads an export. Screenshots of the overview on
a phone (390x844) and a desktop go to artifacts/ for people to look at.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest

from storage.repos import nominations, roles
from tests.dashboard.conftest import (
    seed_households,
    seed_nominations,
    seed_responses,
)
from tests.fake_channel import give_role

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium, or `make browser`)"),
    # One backend is enough to drive a browser; the HTTP tests cover both.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
async def chromium() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def say(page, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def show_charts(page) -> None:
    """Scroll the lazily loaded charts into view and wait until they are drawn."""
    for chart in await page.locator("img.chart").all():
        await chart.scroll_into_view_if_needed()
        await page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                     arg=await chart.element_handle())
    await page.evaluate("window.scrollTo(0, 0)")


async def test_an_officer_signs_in_from_the_web_chat_and_works(server, chromium) -> None:
    from playwright.async_api import expect

    nominator = await server.staff("nominator", "resident", joined="Tổ dân phố 5")
    for group, count in [("05", 420), ("03", 300), ("12", 120), ("07", 40)]:
        await seed_households(server, group, count)
    await seed_responses(server, {"05": [5, 5, 4, 4, 3], "03": [5, 4, 4, 2], "07": [5, 1]})
    [nid, *_] = await seed_nominations(server, nominator, [
        ("Nguyễn Văn An", "05", "kinh-te"),
        ("Trần Thị Bình", "03", "van-hoa-xa-hoi"),
        ("Câu lạc bộ dưỡng sinh", "12", "do-thi-moi-truong"),
    ])

    context = await chromium.new_context(viewport={"width": 390, "height": 844},
                                         device_scale_factor=2, is_mobile=True,
                                         has_touch=True, locale="vi-VN",
                                         accept_downloads=True)
    page = await context.new_page()
    page.set_default_timeout(15_000)

    # Join in the web chat, become an officer, ask for the link.
    await page.goto(server.base + "/")
    await say(page, "/batdau")
    await page.get_by_role("button", name="Tôi đồng ý").last.click()
    await page.get_by_role("button", name="Tổ dân phố 1", exact=True).last.click()
    await expect(page.locator("#log")).to_contain_text("đã tham gia")
    client_id = await page.evaluate("localStorage.getItem('thidua.client_id')")
    officer = server.chat(client_id)
    officer.channel = "webchat"
    await give_role(server.sessionmaker, officer, "officer")
    await say(page, "/web")
    await expect(page.locator("#log")).to_contain_text("/admin/login/")
    text = await page.locator("#log").inner_text()
    link = re.findall(r"https?://\S+/admin/login/[A-Za-z0-9_-]+", text)[-1]
    assert link.startswith(server.base)

    # The link signs in at once and lands on the overview.
    await page.goto(link)
    await expect(page).to_have_url(server.base + "/admin")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tổng quan năm 2026")
    await expect(page.locator("main")).to_contain_text("Hộ đăng ký tham gia")
    await expect(page.locator("main")).to_contain_text("Mức độ hài lòng")
    await show_charts(page)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "dashboard-overview-phone.png", full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the overview scrolls sideways on a phone"

    # Approve a nomination.
    await page.get_by_role("link", name="Đề cử", exact=True).click()
    await page.get_by_role("link", name="Nguyễn Văn An").click()
    await page.get_by_role("button", name="Duyệt", exact=True).click()
    await expect(page.locator(".banner.ok")).to_contain_text("đã duyệt")
    async with server.sessionmaker() as session:
        assert (await nominations.get(session, nid)).status == "approved"
    await page.screenshot(path=ARTIFACTS / "dashboard-nomination-phone.png", full_page=True)

    # Download an export.
    await page.get_by_role("link", name="Tải dữ liệu").click()
    async with page.expect_download() as info:
        await page.locator('a[href="/admin/exports/surveys.xlsx"]').click()
    download = await info.value
    assert download.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(Path(await download.path()).read_bytes()))
    assert book.sheetnames

    # The same overview on a desktop.
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.goto(server.base + "/admin")
    await show_charts(page)
    await page.screenshot(path=ARTIFACTS / "dashboard-overview-desktop.png", full_page=True)

    # Signing out ends it.
    await page.get_by_role("button", name="Đăng xuất").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bạn đã đăng xuất")
    await page.goto(server.base + "/admin")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bạn cần đăng nhập")
    async with server.sessionmaker() as session:
        assert await roles.resident_by_account(session, "webchat", client_id) is not None
    await context.close()


async def test_a_leader_on_a_phone_sees_their_group_only(server, chromium) -> None:
    from playwright.async_api import expect

    leader = await server.staff("leader", "leader", "05", joined="Tổ dân phố 5")
    await seed_households(server, "05", 200)
    await seed_responses(server, {"05": [5, 4, 4], "07": [1]})
    await leader.say("/web")
    link = re.search(r"https?://\S+/admin/login/[A-Za-z0-9_-]+", leader.text).group(0)

    context = await chromium.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    page.set_default_timeout(15_000)
    await page.goto(link)
    await expect(page.locator(".role")).to_have_text("Tổ trưởng Tổ dân phố 5")
    await expect(page.get_by_role("link", name="Lịch nhắc")).to_have_count(0)
    await page.get_by_role("link", name="Khảo sát").click()
    await expect(page.locator("main")).to_contain_text("3 phiếu trả lời")
    await show_charts(page)
    await page.screenshot(path=ARTIFACTS / "dashboard-surveys-leader-phone.png", full_page=True)
    await context.close()
