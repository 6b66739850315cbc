"""Who each channel can reach right now: the repo to the number, /tiendo for officers
and leaders (their groups only), and /xoadulieu forgetting what the Zalo OA kept."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from storage.models import ChannelIdentity, OutboxMessage
from storage.models.zalo_oa import ZaloOAEvent, ZaloOAFollower
from storage.repos import outbox, reach, residents, zalo_oa_followers
from tests.fake_channel import FakeChannel, give_role

# (user, group, channel, hours since they last wrote to the OA, following, unreachable)
ACCOUNTS = [
    ("oa-hour", "05", "zalo_oa", 1, True, False),  # OA, free
    ("oa-3days", "05", "zalo_oa", 72, True, False),  # OA, billed window
    ("oa-10days", "05", "zalo_oa", 240, True, False),  # not on the OA ...
    ("tg-10days", "05", "telegram", None, None, False),  # ... but on Telegram (same person)
    ("oa-left", "05", "zalo_oa", 1, False, False),  # unfollowed
    ("tg-blocked", "05", "telegram", None, None, True),
    ("oa-blocked", "07", "zalo_oa", 1, True, True),
    ("oa-never", "07", "zalo_oa", None, True, False),  # followed, never wrote
    ("tg-07", "07", "telegram", None, None, False),
    ("zalo-07", "07", "zalo", None, None, False),
]
SAME_PERSON = {"tg-10days": "oa-10days"}


async def seed_reach(sessionmaker, now: datetime) -> dict[str, int]:
    """The accounts above as residents (one per account but SAME_PERSON); their ids."""
    ids: dict[str, int] = {}
    async with sessionmaker() as session, session.begin():
        for user, group, channel, hours, following, blocked in ACCOUNTS:
            if user in SAME_PERSON:
                session.add(ChannelIdentity(channel=channel, user_id=user, chat_id=user,
                                            resident_id=ids[SAME_PERSON[user]]))
                await session.flush()
                ids[user] = ids[SAME_PERSON[user]]
            else:
                joined = await residents.join(
                    session, channel=channel, user_id=user, chat_id=user, group_code=group,
                    lang="vi", consent_at=now - timedelta(days=30), consent_version="2026-11")
                ids[user] = joined.id
            if channel == "zalo_oa":
                at = None if hours is None else now - timedelta(hours=hours)
                await zalo_oa_followers.touch(session, user, at)
                if following is False:
                    await zalo_oa_followers.touch(session, user, None, following=False)
            if blocked:
                await residents.mark_unreachable(session, channel, user, now)
    return ids


async def test_reach_counts_each_channel_and_any_channel(sessionmaker, clock):
    await seed_reach(sessionmaker, clock.now)
    async with sessionmaker() as session:
        ward = await reach.reach(session, clock.now)
        five = await reach.reach(session, clock.now, ["05"])
        seven = await reach.reach(session, clock.now, ["07"])
    assert ward.residents == 9
    assert [(c.channel, c.reachable, c.free) for c in ward.channels] == [
        ("zalo_oa", 2, 1), ("zalo", 1, None), ("telegram", 2, None)]
    assert ward.any_channel == 5
    assert five.residents == 5
    assert [(c.channel, c.reachable, c.free) for c in five.channels] == [
        ("zalo_oa", 2, 1), ("telegram", 1, None)]
    assert five.any_channel == 3
    assert seven.residents == 4
    assert [(c.channel, c.reachable, c.free) for c in seven.channels] == [
        ("zalo_oa", 0, 0), ("zalo", 1, None), ("telegram", 1, None)]
    assert seven.any_channel == 2

    clock.now += timedelta(days=2)  # the hour-old one is now 2 days old; 3 days now 5
    async with sessionmaker() as session:
        later = await reach.reach(session, clock.now, ["05"])
    assert [(c.channel, c.reachable, c.free) for c in later.channels][0] == ("zalo_oa", 2, 0)


async def staff(make_chat, sessionmaker, role: str, group: str) -> FakeChannel:
    chat = make_chat(f"{role}-{group}")
    await chat.join(f"Tổ dân phố {int(group)}")
    await give_role(sessionmaker, chat, role, group if role == "leader" else None)
    return chat


async def test_officers_see_the_reach_of_the_ward_in_tiendo(make_chat, sessionmaker, clock):
    await seed_reach(sessionmaker, clock.now)
    officer = await staff(make_chat, sessionmaker, "officer", "01")  # on the test channel
    await officer.say("/tiendo")
    text = officer.text
    lines = text[text.index("📶"):text.index("🏆")].strip().splitlines()
    assert lines == [
        "📶 Liên lạc được ngay lúc này (10 người dân đã tham gia):",
        "• Zalo OA: 2 người (20,0%), 1 người trong 48 giờ nhắn miễn phí",
        "• Zalo: 1 người (10,0%)",
        "• Telegram: 2 người (20,0%)",
        "• test: 1 người (10,0%)",
        "• Qua ít nhất một kênh: 6 người (60,0%)",
        "Zalo OA chỉ nhắn được cho người đang quan tâm OA và đã nhắn cho OA trong 7 ngày qua.",
    ]


async def test_leaders_see_the_reach_of_their_groups_only(make_chat, sessionmaker, clock):
    await seed_reach(sessionmaker, clock.now)
    leader = await staff(make_chat, sessionmaker, "leader", "07")
    await leader.say("/tiendo")
    lines = leader.text[leader.text.index("📶"):].strip().splitlines()
    assert lines == [
        "📶 Liên lạc được ngay lúc này (5 người dân đã tham gia):",
        "• Zalo OA: 0 người (0,0%), 0 người trong 48 giờ nhắn miễn phí",
        "• Zalo: 1 người (20,0%)",
        "• Telegram: 1 người (20,0%)",
        "• test: 1 người (20,0%)",
        "• Qua ít nhất một kênh: 3 người (60,0%)",
        "Zalo OA chỉ nhắn được cho người đang quan tâm OA và đã nhắn cho OA trong 7 ngày qua.",
    ]


async def count(sessionmaker, model, *where) -> int:
    async with sessionmaker() as session:
        stmt = select(func.count()).select_from(model)
        for condition in where:
            stmt = stmt.where(condition)
        return int(await session.scalar(stmt) or 0)


async def test_forgetting_a_resident_removes_what_the_oa_kept(make_chat, sessionmaker, clock):
    """/toi names the OA's record; /xoadulieu removes it, the held messages and events."""
    chat = make_chat("oa-person")
    await chat.join("Tổ dân phố 5")
    async with sessionmaker() as session, session.begin():
        owner = await residents.by_identity(session, "test", "oa-person")
        assert owner is not None
        session.add(ChannelIdentity(channel="zalo_oa", user_id="oa-9", chat_id="oa-9",
                                    resident_id=owner.id))
        await zalo_oa_followers.touch(session, "oa-9", clock.now - timedelta(days=3))
        await zalo_oa_followers.touch(session, "oa-other", clock.now)
        for n, processed in ((1, True), (2, True), (3, False)):
            session.add(ZaloOAEvent(
                event_key=f"k{n}", event_name="user_send_text", user_id="oa-9",
                payload={"message": {"text": "xin chào"}}, received_at=clock.now,
                processed_at=clock.now if processed else None))
        session.add(ZaloOAEvent(event_key="k9", event_name="user_send_text",
                                user_id="oa-other", payload={}, received_at=clock.now,
                                processed_at=clock.now))
        await outbox.enqueue(session, key="b:1", kind="broadcast", channel="zalo_oa",
                             chat_id="oa-9", payload={"text": "x", "buttons": []})
    async with sessionmaker() as session, session.begin():
        [row] = (await session.scalars(select(OutboxMessage))).all()
        row.status = "held"

    await chat.say("/toi")
    assert "Tài khoản chat: Test, Zalo OA" in chat.text
    assert "• Zalo OA: bạn nhắn cho OA lần cuối ngày 21/11/2026" in chat.text
    assert chat.text.index("Zalo OA: bạn nhắn") < chat.text.index("Bạn có thể xem chi tiết")

    await chat.say("/xoadulieu")
    await chat.press("Xoá vĩnh viễn")
    assert "Đã xoá dữ liệu" in chat.text
    assert await count(sessionmaker, ZaloOAFollower, ZaloOAFollower.user_id == "oa-9") == 0
    assert await count(sessionmaker, ZaloOAFollower) == 1  # someone else's stays
    assert await count(sessionmaker, OutboxMessage, OutboxMessage.chat_id == "oa-9") == 0
    # The processed events go; one still being handled is left to its processor.
    assert await count(sessionmaker, ZaloOAEvent, ZaloOAEvent.user_id == "oa-9") == 1
    assert await count(sessionmaker, ZaloOAEvent, ZaloOAEvent.user_id == "oa-other") == 1
