"""Downloads from the dashboard are real files, audited; leaders get survey figures only."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import select

from storage.models.roles import AuditEntry
from tests.dashboard.conftest import (
    seed_households,
    seed_nominations,
    seed_responses,
    signed_in,
)

PNG = b"\x89PNG\r\n\x1a\n"


async def download(browser, path: str) -> tuple[int, dict, bytes]:
    async with browser.http.get(browser.server.base + path) as response:
        return response.status, dict(response.headers), await response.read()


async def exports_audited(server) -> list[AuditEntry]:
    async with server.sessionmaker() as session:
        return list(await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)
        ))


async def test_an_officer_downloads_real_files(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    await seed_households(server, "05", 3)
    await seed_responses(server, {"05": [5, 4, 2], "07": [5]})
    await seed_nominations(server, officer, [("Nguyễn Văn An", "05", "kinh-te")])
    await signed_in(server, browser, officer)
    status, html = await browser.get("/admin/exports")
    assert 'href="/admin/exports/nominations.xlsx"' in html

    status, headers, body = await download(browser, "/admin/exports/surveys.xlsx")
    assert status == 200
    assert "attachment" in headers["Content-Disposition"] and ".xlsx" in headers[
        "Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    assert len(book.sheetnames) >= 2
    cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True)
             for c in row if c is not None]
    assert any("Tổ dân phố 5" in c or c == "05" for c in cells)
    assert not any("officer" in c or "Nguyễn Văn An" in c for c in cells)

    status, headers, body = await download(browser, "/admin/exports/nominations.xlsx")
    assert status == 200
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True)
             for c in row if c is not None]
    assert "Nguyễn Văn An" in cells

    status, headers, body = await download(browser, "/admin/exports/registrations.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert body.startswith(b"\xef\xbb\xbf") and "Tổ dân phố 5,705,3," in body.decode("utf-8-sig")

    status, headers, body = await download(browser, "/admin/exports/surveys.png")
    assert status == 200 and body.startswith(PNG)

    assert [e.target for e in await exports_audited(server)] == [
        "surveys", "nominations", "registrations", "surveys"]


async def test_the_pages_show_the_charts(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    await seed_responses(server, {"05": [5, 4]})
    await signed_in(server, browser, officer)
    for page, chart in [("/admin/surveys", "surveys"), ("/admin/groups", "registrations"),
                        ("/admin", "nominations")]:
        status, html = await browser.get(page)
        assert f'src="/admin/charts/{chart}.png"' in html
        status, headers, body = await download(browser, f"/admin/charts/{chart}.png")
        assert status == 200 and headers["Content-Type"] == "image/png"
        assert body.startswith(PNG)
        assert "inline" in headers["Content-Disposition"]


async def test_a_leader_downloads_only_their_groups_survey_figures(server, browser) -> None:
    leader = await server.staff("leader", "leader", "05", joined="Tổ dân phố 5")
    await seed_responses(server, {"05": [5, 4], "07": [1, 1, 1]})
    await signed_in(server, browser, leader)
    status, html = await browser.get("/admin/exports")
    assert "surveys.xlsx" in html and "registrations" not in html and "nominations." not in html
    status, headers, body = await download(browser, "/admin/exports/surveys.xlsx")
    assert status == 200
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True)
             for c in row if c is not None]
    assert not any("Tổ dân phố 7" in c for c in cells)
    [entry] = await exports_audited(server)
    assert entry.details["groups"] == ["05"]
    for path in ("/admin/exports/registrations.xlsx", "/admin/exports/nominations.csv",
                 "/admin/charts/registrations.png"):
        status, _, _ = await download(browser, path)
        assert status == 403, path
