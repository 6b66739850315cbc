"""Outbox messages to Zalo OA residents, over real HTTP to the fake OA API.

A broadcast reaches residents who last wrote 1 hour, 3 days and 10 days ago: sent free,
held or sent billed (per setting), held or sent as the template (per setting); a held one
goes out after the resident's next message (webhook → release → worker); the author's
report counts sent, held and unreachable; -32 makes the worker wait, nothing lost or
doubled; Zalo saying -230 closes the window; no token → retried later, logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot import keys
from bot.app import build_app
from bot.channels.zalo_oa import ZaloOAChannel
from bot.channels.zalo_oa.api import OAApiError
from bot.channels.zalo_oa.delivery import OutboxSender
from bot.channels.zalo_oa.tokens import TokenUnavailable
from bot.delivery import DeliveryWorker
from bot.events import DeliveryResult, Reply
from bot.settings import load_settings
from handlers import broadcast_service, role_service
from handlers.broadcast_service import Audience
from handlers.broadcast_status import report_finished_broadcasts
from storage.models import ChannelIdentity, OutboxMessage
from storage.repos import residents, zalo_oa_followers
from tests.fakes.zalo_oa_api import FakeZaloOA
from tests.test_parity import Server

GROUP = "05"
AUTHOR, HOUR, DAYS3, DAYS10 = "9001", "9002", "9003", "9004"
TEXT = "Sáng Chủ nhật 7h tổng vệ sinh đường phố, mời bà con tham gia."


class Tokens:
    """The fake's token, or none at all (`broken`: as if the OA were never connected)."""

    def __init__(self, fake: FakeZaloOA) -> None:
        self.fake = fake
        self.broken = False
        self.asked = 0

    async def access_token(self) -> str:
        self.asked += 1
        if self.broken:
            raise TokenUnavailable("the Zalo OA is not connected")
        return self.fake.token

    async def refresh_after_rejection(self, rejected: str) -> str:
        return self.fake.token


@contextlib.asynccontextmanager
async def oa_app(
    database_url: str, fake: FakeZaloOA, **extra: Any
) -> AsyncIterator[tuple[Server, ZaloOAChannel, Tokens]]:
    """Our app on loopback with the OA channel, sharing the fake's clock."""
    settings = load_settings(
        database_url=database_url, webchat_enabled=False, public_url="https://thidua.example",
        zalo_oa_app_id=fake.app_id, zalo_oa_app_secret=fake.app_secret,
        zalo_oa_secret_key=fake.secret_key, zalo_oa_id=fake.oa_id, zalo_oa_api_url=fake.url,
        **extra,
    )
    app = build_app(settings, deliver=False, clock=fake.clock)
    channel = app[keys.CHANNELS]["zalo_oa"]
    assert isinstance(channel, ZaloOAChannel)
    tokens = Tokens(fake)
    channel._tokens = tokens
    async with Server(app) as server:
        yield server, channel, tokens


@contextlib.asynccontextmanager
async def started(database_url: str, **extra: Any) -> AsyncIterator[Any]:
    # Rows are queued due by the wall clock, so the fake's time starts there.
    async with FakeZaloOA(now=datetime.now(UTC)) as fake, oa_app(
        database_url, fake, **extra
    ) as (server, channel, tokens):
        yield fake, server, channel, tokens


def worker(server: Server, channel: ZaloOAChannel, fake: FakeZaloOA) -> DeliveryWorker:
    return DeliveryWorker(server.app[keys.SESSIONMAKER], {"zalo_oa": channel},
                          clock=fake.clock, idle_wait=0.01)


async def drain(delivery: DeliveryWorker) -> None:
    """Send everything due now."""
    while await delivery.run_once():
        pass


async def resident(
    server: Server, fake: FakeZaloOA, user: str, wrote: timedelta | None, group: str = GROUP
) -> int:
    """A resident (of group 5) on the OA who last wrote `wrote` ago (None: never)."""
    async with server.app[keys.SESSIONMAKER]() as session, session.begin():
        joined = await residents.join(
            session, channel="zalo_oa", user_id=user, chat_id=user, group_code=group,
            lang="vi", consent_at=fake.now - timedelta(days=30), consent_version="2026-11",
        )
        if wrote is not None:
            await zalo_oa_followers.touch(session, user, fake.now - wrote)
    if wrote is not None:
        fake.interact(user, fake.now - wrote)
    return joined.id


async def broadcast(server: Server, fake: FakeZaloOA, author: int, text: str = TEXT) -> int:
    ward = server.app[keys.WARD]
    async with server.app[keys.SESSIONMAKER]() as session, session.begin():
        sent = await broadcast_service.send(
            session, ward, actor="test", author_resident_id=author, role="officer",
            groups=[GROUP], audience=Audience("all", fake.now.year), text=text, now=fake.now,
        )
    assert sent is not None
    fake.now = max(fake.now, datetime.now(UTC)) + timedelta(seconds=1)  # rows are due now
    return sent.id


async def statuses(server: Server) -> dict[str, str]:
    """Each chat's broadcast row status."""
    async with server.app[keys.SESSIONMAKER]() as session:
        rows = (await session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "broadcast"))).scalars()
        return {row.chat_id: row.status for row in rows}


def broadcast_texts(fake: FakeZaloOA, user: str) -> list[str]:
    return [text for text in fake.texts(user) if TEXT in text]


def template_calls(fake: FakeZaloOA, user: str) -> list[dict[str, Any]]:
    return [c.body for c in fake.calls
            if c.path.endswith("/message/template") and c.user_id == user and not c.error]


async def setup_four(server: Server, fake: FakeZaloOA) -> int:
    author = await resident(server, fake, AUTHOR, timedelta(minutes=10))
    await resident(server, fake, HOUR, timedelta(hours=1))
    await resident(server, fake, DAYS3, timedelta(days=3))
    await resident(server, fake, DAYS10, timedelta(days=10))
    return author


async def test_held_messages_go_out_after_the_residents_next_message(database_url):
    async with started(database_url) as (fake, server, channel, _):
        author = await setup_four(server, fake)
        await broadcast(server, fake, author)
        delivery = worker(server, channel, fake)
        await drain(delivery)

        assert await statuses(server) == {
            AUTHOR: "sent", HOUR: "sent", DAYS3: "held", DAYS10: "held"}
        sent = [c for c in fake.sent_to(HOUR) + fake.sent_to(AUTHOR)]
        assert all(c.billed is False for c in sent)
        assert broadcast_texts(fake, DAYS3) == broadcast_texts(fake, DAYS10) == []
        # Held rows were never offered to Zalo: the window said no.
        assert not [c for c in fake.calls if c.user_id in (DAYS3, DAYS10)]

        assert await report_finished_broadcasts(server.app[keys.SESSIONMAKER], fake.now) == 1
        await drain(delivery)
        [report] = [t for t in fake.texts(AUTHOR) if t.startswith("📊")]
        assert "✅ Đã gửi: 2" in report
        assert "⏸️ Chờ người dân nhắn lại Zalo OA: 2" in report
        assert "🚫 Không liên lạc được (đã chặn chatbot): 0" in report
        async with server.app[keys.SESSIONMAKER]() as session, session.begin():
            await role_service.grant(session, resident_id=author, role="officer",
                                     group_code=None, actor="test", at=fake.now)
        await fake.post_event(server.base, fake.text_event(AUTHOR, "/tinhtrang"))
        await channel.idle()
        status_text = fake.texts(AUTHOR)[-1]
        assert "✅ Đã gửi: 2\n⏳ Đang chờ: 0" in status_text
        assert "⏸️ Chờ người dân nhắn lại Zalo OA: 2 (tự gửi khi họ nhắn)" in status_text

        fake.now += timedelta(minutes=5)
        status, _ = await fake.post_event(server.base, fake.text_event(DAYS3, "chào phường"))
        assert status == 200
        await channel.idle()
        await drain(delivery)
        assert len(broadcast_texts(fake, DAYS3)) == 1
        assert [c.billed for c in fake.sent_to(DAYS3)] == [False] * len(fake.sent_to(DAYS3))
        assert await statuses(server) == {
            AUTHOR: "sent", HOUR: "sent", DAYS3: "sent", DAYS10: "held"}
        await drain(delivery)  # nothing more, nothing twice
        assert len(broadcast_texts(fake, DAYS3)) == 1
        assert len(broadcast_texts(fake, HOUR)) == 1


async def test_paid_messages_and_the_template_reach_further(database_url):
    async with started(database_url, zalo_oa_paid_messages=True,
                       zalo_oa_template_id="246810") as (fake, server, channel, _):
        author = await setup_four(server, fake)
        await broadcast(server, fake, author)
        await drain(worker(server, channel, fake))

        assert await statuses(server) == {
            AUTHOR: "sent", HOUR: "sent", DAYS3: "sent", DAYS10: "sent"}
        assert [c.billed for c in fake.sent_to(HOUR)] == [False]
        assert [c.billed for c in fake.sent_to(DAYS3)] == [True]
        assert fake.sent_to(DAYS10) == []
        [body] = template_calls(fake, DAYS10)
        assert body["template_id"] == "246810"
        value = body["template_data"]["noi_dung"]
        assert value.startswith("📣 Thông báo của UBND Phường An Hải: Sáng Chủ nhật")
        assert len(value) <= 100


async def test_without_paid_messages_the_template_covers_three_days_too(sqlite_url):
    async with started(sqlite_url, zalo_oa_template_id="246810") as (fake, server, channel, _):
        author = await setup_four(server, fake)
        await broadcast(server, fake, author)
        await drain(worker(server, channel, fake))
        assert await statuses(server) == {
            AUTHOR: "sent", HOUR: "sent", DAYS3: "sent", DAYS10: "sent"}
        assert fake.sent_to(DAYS3) == [] and len(template_calls(fake, DAYS3)) == 1


async def test_the_per_minute_limit_slows_the_worker_and_loses_nothing(database_url):
    async with started(database_url) as (fake, server, channel, _):
        author = await resident(server, fake, AUTHOR, timedelta(minutes=10))
        users = [f"80{n}" for n in range(6)]
        for user in users:
            await resident(server, fake, user, timedelta(hours=2))
        channel.outbox.per_minute_wait = 0.5  # Zalo's minute, shortened for the test
        await broadcast(server, fake, author)
        fake.rate_limit(times=1)
        delivery = worker(server, channel, fake)
        await drain(delivery)

        refused = [c for c in fake.calls if c.error == -32]
        assert len(refused) == 1
        waiting = refused[0].user_id
        async with server.app[keys.SESSIONMAKER]() as session:
            row = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.chat_id == waiting))).scalar_one()
        assert row.status == "pending" and row.attempts == 0  # not a failed try
        assert row.not_before > fake.now

        fake.now += timedelta(seconds=1)
        await drain(delivery)
        assert set((await statuses(server)).values()) == {"sent"}
        for user in [AUTHOR, *users]:
            assert len(broadcast_texts(fake, user)) == 1, user


async def test_zalo_saying_the_window_closed_holds_and_remembers(database_url):
    async with started(database_url) as (fake, server, channel, _):
        author = await resident(server, fake, AUTHOR, timedelta(minutes=10))
        await resident(server, fake, HOUR, timedelta(hours=1))
        fake.last_interaction.pop(HOUR)  # Zalo knows better: no interaction in 7 days
        await broadcast(server, fake, author)
        delivery = worker(server, channel, fake)
        await drain(delivery)
        assert (await statuses(server))[HOUR] == "held"
        assert [c.error for c in fake.calls if c.user_id == HOUR] == [-230]
        async with server.app[keys.SESSIONMAKER]() as session:
            last = await zalo_oa_followers.last_interaction(session, HOUR)
        assert last is not None and fake.now - last > timedelta(days=7)

        await broadcast(server, fake, author)  # the next one is held without asking Zalo
        await drain(delivery)
        assert [c.error for c in fake.calls if c.user_id == HOUR] == [-230]


async def test_a_follower_who_left_is_unreachable_and_counted(database_url):
    async with started(database_url) as (fake, server, channel, _):
        # The author is in another group: the only recipient is the one who left.
        author = await resident(server, fake, AUTHOR, timedelta(minutes=10), group="07")
        await resident(server, fake, HOUR, timedelta(hours=1))
        await broadcast(server, fake, author)
        fake.fail_next(-213, "User has not followed OA")
        delivery = worker(server, channel, fake)
        await drain(delivery)
        assert await statuses(server) == {HOUR: "blocked"}
        async with server.app[keys.SESSIONMAKER]() as session:
            identity = (await session.execute(select(ChannelIdentity).where(
                ChannelIdentity.user_id == HOUR))).scalar_one()
        assert identity.unreachable_at is not None
        await report_finished_broadcasts(server.app[keys.SESSIONMAKER], fake.now)
        await drain(delivery)
        [report] = fake.texts(AUTHOR)
        assert "✅ Đã gửi: 0" in report
        assert "🚫 Không liên lạc được (đã chặn chatbot): 1" in report
        assert "⏸️" not in report


async def test_without_a_token_messages_wait_and_it_is_logged_once(sqlite_url, caplog):
    async with started(sqlite_url) as (fake, server, channel, tokens):
        author = await resident(server, fake, AUTHOR, timedelta(minutes=10))
        for user in ("7001", "7002", "7003"):
            await resident(server, fake, user, timedelta(hours=1))
        channel.outbox.token_wait = 0.2
        tokens.broken = True
        await broadcast(server, fake, author)
        delivery = worker(server, channel, fake)
        with caplog.at_level(logging.INFO):
            await drain(delivery)
        assert set((await statuses(server)).values()) == {"pending"}
        errors = [r for r in caplog.records if r.levelno == logging.ERROR
                  and "thidua zalo-oa connect" in r.getMessage()]
        assert len(errors) == 1
        async with server.app[keys.SESSIONMAKER]() as session:
            attempts = set((await session.execute(select(OutboxMessage.attempts))).scalars())
        assert attempts == {0}

        tokens.broken = False
        fake.now += timedelta(seconds=1)
        await asyncio.sleep(0)
        await drain(delivery)
        assert set((await statuses(server)).values()) == {"sent"}


async def test_held_messages_keep_their_order_when_released(sqlite_url):
    async with started(sqlite_url) as (fake, server, channel, _):
        author = await resident(server, fake, AUTHOR, timedelta(minutes=10), group="07")
        await resident(server, fake, DAYS3, timedelta(days=3))
        await broadcast(server, fake, author, "Tin thứ nhất: họp tổ tối thứ Bảy.")
        await broadcast(server, fake, author, "Tin thứ hai: tổng vệ sinh sáng Chủ nhật.")
        delivery = worker(server, channel, fake)
        await drain(delivery)
        assert fake.sent_to(DAYS3) == []
        fake.now += timedelta(minutes=1)
        await fake.post_event(server.base, fake.text_event(DAYS3, "/menu"))
        await channel.idle()
        await drain(delivery)
        received = [t for t in fake.texts(DAYS3) if t.startswith("📣")]
        assert [t.split(":")[1].strip() for t in received] == ["Tin thứ nhất", "Tin thứ hai"]


class Pieces:
    """An OA client that refuses the second call once with -32."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.calls = 0

    async def send_cs(self, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 2:
            raise OAApiError(-32, "Reached the limit of calls per minute")
        self.sent.append(message["text"])
        return {"message_id": str(self.calls)}

    async def send_template(self, user_id: str, template_id: str,
                            template_data: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("no template here")


async def test_a_long_message_refused_halfway_is_not_sent_twice(sessionmaker, clock):
    async with sessionmaker() as session, session.begin():
        await zalo_oa_followers.touch(session, "u1", clock.now - timedelta(hours=1))
    api = Pieces()
    sender = OutboxSender(sessionmaker, load_settings(), api=api, clock=clock)
    sentence = "Phường An Hải phát động phong trào Ngôi nhà xanh trong 23 tổ dân phố. "
    reply = Reply(text=(sentence * 40).strip())
    first = await sender.send("u1", reply)
    assert (first.status, first.retry_after) == ("retry_after", 60.0)
    assert await sender.send("u1", reply) == DeliveryResult("sent", message_id="3")
    assert len(api.sent) == 2 and "".join(api.sent).replace("\n", " ").count("Ngôi nhà") == 40


async def test_the_broadcast_preview_says_how_many_will_wait_for_their_next_message(
        database_url):
    async with started(database_url) as (fake, server, channel, _):
        author = await setup_four(server, fake)
        async with server.app[keys.SESSIONMAKER]() as session, session.begin():
            await role_service.grant(session, resident_id=author, role="officer",
                                     group_code=None, actor="test", at=fake.now)

        async def say(text: str) -> str:
            await fake.post_event(server.base, fake.text_event(AUTHOR, text))
            await channel.idle()
            return fake.texts(AUTHOR)[-1]

        for step in ("/thongbao", "🏘️ Một tổ dân phố", f"Tổ dân phố {int(GROUP)}",
                     "👥 Mọi người"):
            await say(step)
        preview = await say("Họp tổ dân phố lúc 19h tối thứ Bảy tại nhà văn hoá.")
        assert "Người nhận: 4 người" in preview, preview
        assert "Trong đó 2 tài khoản Zalo OA đã lâu chưa nhắn cho phường" in preview, preview
