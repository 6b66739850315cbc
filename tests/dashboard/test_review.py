"""Officers review nominations from the dashboard; forged requests change nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot import keys
from handlers import reminder_service
from storage.models import OutboxMessage
from storage.models.reminders import PAUSED
from storage.models.roles import AuditEntry
from storage.repos import nominations, reminders
from tests.dashboard.conftest import link_in, seed_nominations, signed_in


async def status_of(server, nomination_id: int) -> str:
    async with server.sessionmaker() as session:
        found = await nominations.get(session, nomination_id)
        return found.status


async def notices(server, chat) -> list[str]:
    async with server.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat.user_id)
            .order_by(OutboxMessage.id)
        )
        return [row.payload["text"] for row in rows]


async def audit_actions(server) -> list[str]:
    async with server.sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_approving_changes_the_status_and_tells_the_nominator(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    nominator = await server.staff("nominator", "resident", joined="Tổ dân phố 5")
    [nid] = await seed_nominations(server, nominator, [("Nguyễn Văn An", "05", "kinh-te")])
    await signed_in(server, browser, officer)
    status, html = await browser.get(f"/admin/nominations/{nid}")
    assert status == 200 and "Nguyễn Văn An" in html

    status, html = await browser.post(f"/admin/nominations/{nid}", {"action": "approve"})
    assert status == 200
    assert "đã chuyển sang “đã duyệt”" in html
    assert await status_of(server, nid) == "approved"
    [notice] = await notices(server, nominator)
    assert "Nguyễn Văn An" in notice and "đã duyệt" in notice
    assert "nomination_status" in await audit_actions(server)
    async with server.sessionmaker() as session:
        [event] = [e for e in await nominations.history(session, nid) if e.status == "approved"]
    assert event.actor_resident_id == await server.resident_id(officer)


async def test_honouring_waits_for_the_nominees_agreement(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    [nid] = await seed_nominations(server, officer, [("Trần Thị Bình", "03", "kinh-te")])
    await signed_in(server, browser, officer)
    await browser.get(f"/admin/nominations/{nid}")
    await browser.post(f"/admin/nominations/{nid}", {"action": "approve"})

    status, html = await browser.post(f"/admin/nominations/{nid}", {"action": "honour"})
    assert status == 409 and "Chưa ghi nhận người được đề cử đồng ý" in html
    assert await status_of(server, nid) == "approved"

    status, html = await browser.post(f"/admin/nominations/{nid}", {"action": "agree"})
    assert status == 200 and "đã ghi nhận người được đề cử đồng ý" in html
    status, html = await browser.post(f"/admin/nominations/{nid}", {"action": "honour"})
    assert status == 200 and "đã biểu dương/khen thưởng" in html
    assert await status_of(server, nid) == "honoured"
    assert "Đề cử này đã xử lý xong" in html


async def test_rejecting_needs_a_reason_that_reaches_the_nominator(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    nominator = await server.staff("nominator", "resident", joined="Tổ dân phố 5")
    [nid] = await seed_nominations(server, nominator, [("Lê Văn Cường", "05", "kinh-te")])
    await signed_in(server, browser, officer)
    await browser.get(f"/admin/nominations/{nid}")

    status, html = await browser.post(f"/admin/nominations/{nid}",
                                      {"action": "reject", "reason": "ok"})
    assert status == 400 and "từ 5 đến 500 ký tự" in html
    assert await status_of(server, nid) == "submitted"

    reason = "Việc tốt chưa được xác minh ở địa phương."
    status, html = await browser.post(f"/admin/nominations/{nid}",
                                      {"action": "reject", "reason": reason})
    assert status == 200 and reason in html
    assert await status_of(server, nid) == "rejected"
    [notice] = await notices(server, nominator)
    assert reason in notice


async def test_a_post_without_the_token_or_from_another_site_changes_nothing(
    server, browser
) -> None:
    officer = await server.staff("officer", "officer")
    [nid] = await seed_nominations(server, officer, [("Phạm Thị Dung", "05", "kinh-te")])
    await signed_in(server, browser, officer)
    await browser.get(f"/admin/nominations/{nid}")

    status, html = await browser.post(f"/admin/nominations/{nid}", {"action": "approve"},
                                      token=False)
    assert status == 403 and "Yêu cầu bị từ chối" in html
    status, html = await browser.post(f"/admin/nominations/{nid}",
                                      {"action": "approve", "csrf": "guessed"}, token=False)
    assert status == 403
    status, html = await browser.post(f"/admin/nominations/{nid}", {"action": "approve"},
                                      origin="https://evil.example")
    assert status == 403
    status, html = await browser.post(f"/admin/nominations/{nid}", {"action": "approve"},
                                      origin="null")
    assert status == 403
    assert await status_of(server, nid) == "submitted"
    assert await notices(server, officer) == []
    assert "nomination_status" not in await audit_actions(server)

    # Sign-out is a form too: a foreign page cannot sign the officer out.
    status, _ = await browser.post("/admin/logout", origin="https://evil.example")
    assert status == 403
    status, _ = await browser.get("/admin")
    assert status == 200
    # And a sign-in link cannot be posted from another site.
    await officer.say("/web")
    status, _ = await browser.post(link_in(officer), token=False, origin="https://evil.example")
    assert status == 403


async def test_an_officer_pauses_and_resumes_a_reminder(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    async with server.sessionmaker() as session, session.begin():
        await reminder_service.seed_ward_rules(session, server.app[keys.WARD], server.clock.now)
        rules = await reminders.live(session)
    assert rules
    await signed_in(server, browser, officer)
    status, html = await browser.get("/admin/reminders")
    rule = rules[0]
    assert rule.name in html
    status, html = await browser.post(f"/admin/reminders/{rule.id}", {"action": "pause"})
    assert status == 200 and "Đã tạm dừng lịch nhắc" in html
    async with server.sessionmaker() as session:
        assert (await reminders.get(session, rule.id)).status == PAUSED
    status, html = await browser.post(f"/admin/reminders/{rule.id}", {"action": "resume"})
    assert "Đã bật lại lịch nhắc" in html
    actions = await audit_actions(server)
    assert "reminder_paused" in actions and "reminder_resumed" in actions
