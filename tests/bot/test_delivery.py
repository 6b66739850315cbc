"""The delivery worker against a fake Bot API that enforces Telegram's limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.app import build_app
from bot.delivery import DeliveryWorker
from bot.events import Reply
from bot.outbox import reply_to_payload
from bot.settings import load_settings
from storage.models import ChannelIdentity, OutboxMessage
from storage.repos import outbox, residents
from tests.fakes.telegram_api import FakeTelegramAPI


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
async def app(database_url: str, api: FakeTelegramAPI) -> AsyncIterator[web.Application]:
    settings = load_settings(
        database_url=database_url,
        telegram_token=api.token,
        telegram_api_url=api.url,
        webchat_enabled=True,
        telegram_poll_timeout=1,
    )
    application = build_app(settings, deliver=False)
    runner = web.AppRunner(application)
    await runner.setup()
    yield application
    await runner.cleanup()


async def enqueue(app: web.Application, chat_id: int, text: str, key: str) -> None:
    async with app[keys.SESSIONMAKER]() as session, session.begin():
        await outbox.enqueue(
            session,
            key=key,
            kind="broadcast",
            channel="telegram",
            chat_id=str(chat_id),
            payload=reply_to_payload(Reply(text=text)),
        )


async def statuses(app: web.Application) -> dict[str, int]:
    async with app[keys.SESSIONMAKER]() as session:
        return await outbox.count_by_status(session)


async def deliver_all(app: web.Application, worker: DeliveryWorker, timeout: float = 20) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    deadline = time.monotonic() + timeout
    try:
        while True:
            counts = await statuses(app)
            if not counts.get("pending") and not counts.get("sending"):
                return
            assert time.monotonic() < deadline, f"outbox not drained: {counts}"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


def worker_for(app: web.Application, **kwargs) -> DeliveryWorker:
    channels = {"telegram": app[keys.CHANNELS]["telegram"]}
    return DeliveryWorker(app[keys.SESSIONMAKER], channels, idle_wait=0.05, **kwargs)


async def test_every_recipient_gets_one_message_within_the_limits(app, api):
    limits = api.enforce_limits(per_second=30, per_chat_gap=1.0)
    for chat in range(1, 61):
        await enqueue(app, chat, f"Thông báo số 1 cho {chat}", key=f"b1:{chat}")
    for n in range(1, 4):
        await enqueue(app, 500, f"Tin {n}", key=f"seq:{n}")
    await deliver_all(app, worker_for(app))
    assert await statuses(app) == {"sent": 63}
    for chat in range(1, 61):
        assert [c.params["text"] for c in api.calls_to("sendMessage", chat)] == [
            f"Thông báo số 1 cho {chat}"
        ]
    assert [c.params["text"] for c in api.calls_to("sendMessage", 500)] == [
        "Tin 1",
        "Tin 2",
        "Tin 3",
    ]
    assert limits.refused == 0, dict(limits.refused_by_chat)
    assert limits.busiest_second() <= 30


async def test_a_429_is_retried_after_the_platforms_wait(app, api):
    api.rate_limit("sendMessage", times=1, retry_after=1)
    await enqueue(app, 7, "Nhắc lịch họp tổ", key="r:7")
    started = time.monotonic()
    await deliver_all(app, worker_for(app))
    assert time.monotonic() - started >= 1.0
    assert [c.params["text"] for c in api.calls_to("sendMessage", 7)] == ["Nhắc lịch họp tổ"]
    async with app[keys.SESSIONMAKER]() as session:
        row = (await session.execute(select(OutboxMessage))).scalar_one()
    assert (row.status, row.attempts) == ("sent", 1)  # waiting out a 429 is not a failed try


async def test_a_blocked_chat_is_marked_unreachable(app, api):
    async with app[keys.SESSIONMAKER]() as session, session.begin():
        await residents.join(
            session,
            channel="telegram",
            user_id="9",
            chat_id="9",
            group_code="01",
            lang="vi",
            consent_at=datetime.now(UTC),
            consent_version="2026-11",
        )
    api.block(9)
    await enqueue(app, 9, "Thông báo", key="x:9")
    await enqueue(app, 10, "Thông báo", key="x:10")
    await deliver_all(app, worker_for(app))
    assert await statuses(app) == {"blocked": 1, "sent": 1}
    async with app[keys.SESSIONMAKER]() as session:
        identity = (await session.execute(select(ChannelIdentity))).scalar_one()
    assert identity.unreachable_at is not None


async def test_network_errors_back_off_then_give_up(app, api):
    api.fail_next("sendMessage", times=10, error_code=502, description="Bad Gateway")
    await enqueue(app, 11, "Thử lại", key="n:11")
    await deliver_all(app, worker_for(app, max_attempts=2), timeout=30)
    async with app[keys.SESSIONMAKER]() as session:
        row = (await session.execute(select(OutboxMessage))).scalar_one()
    assert row.status == "failed"
    assert row.attempts == 2


async def test_messages_left_mid_send_by_a_crash_are_sent_after_the_lease(app, api):
    await enqueue(app, 12, "Sau sự cố", key="c:12")
    past = datetime.now(UTC) - timedelta(minutes=5)
    async with app[keys.SESSIONMAKER]() as session, session.begin():
        [row] = await outbox.claim_batch(
            session, ["telegram"], now=datetime.now(UTC), lease_until=past, limit=10
        )
    assert await statuses(app) == {"sending": 1}
    await deliver_all(app, worker_for(app))
    assert [c.params["text"] for c in api.calls_to("sendMessage", 12)] == ["Sau sự cố"]


async def test_enqueue_is_idempotent_by_key(app, api):
    await enqueue(app, 13, "Một lần", key="same")
    await enqueue(app, 13, "Một lần", key="same")
    await deliver_all(app, worker_for(app))
    assert len(api.calls_to("sendMessage", 13)) == 1


async def test_web_chat_messages_go_to_the_browser_inbox(app):
    async with app[keys.SESSIONMAKER]() as session, session.begin():
        await outbox.enqueue(
            session,
            key="w:1",
            kind="notification",
            channel="webchat",
            chat_id="browser-1",
            payload=reply_to_payload(Reply(text="Đề cử của bạn đã được duyệt")),
        )
    worker = DeliveryWorker(
        app[keys.SESSIONMAKER], {"webchat": app[keys.CHANNELS]["webchat"]}, idle_wait=0.05
    )
    await deliver_all(app, worker)
    from storage.repos import webchat

    async with app[keys.SESSIONMAKER]() as session:
        [message] = await webchat.since(session, "browser-1", 0)
    assert message.payload["text"] == "Đề cử của bạn đã được duyệt"


async def test_reminders_reaching_the_queue_in_quiet_hours_wait_until_seven(
    sessionmaker, dispatcher
):
    from tests.fake_channel import FakeChannel

    channel = FakeChannel(dispatcher)
    late_evening = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 22:30 in Hải Phòng
    async with sessionmaker() as session, session.begin():
        for kind in ("reminder", "broadcast"):
            await outbox.enqueue(
                session,
                key=f"q:{kind}",
                kind=kind,
                channel="test",
                chat_id="c1",
                payload=reply_to_payload(Reply(text=kind)),
                not_before=late_evening,
            )
    worker = DeliveryWorker(sessionmaker, {"test": channel}, clock=lambda: late_evening)
    await worker.run_once()
    assert [reply.text for _, reply in channel.sent] == ["broadcast"]
    async with sessionmaker() as session:
        held = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
        ).scalar_one()
    assert held.status == "pending"
    assert held.not_before == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # 07:00 local


async def test_two_workers_on_one_database_send_each_message_once(database_url, sessionmaker):
    from collections import Counter

    from bot.events import Capabilities, DeliveryResult
    from storage import make_engine, make_sessionmaker

    class CountingChannel:
        name = "test"
        capabilities = Capabilities(
            buttons=True, contact_request=False, documents=False, max_text=4096
        )

        def __init__(self) -> None:
            self.sent: Counter[str] = Counter()

        def setup(self, app) -> None:  # pragma: no cover - not served
            pass

        async def send(self, chat_id: str, reply: Reply) -> DeliveryResult:
            await asyncio.sleep(0.001)
            self.sent[reply.text] += 1
            return DeliveryResult("sent", message_id="1")

    async with sessionmaker() as session, session.begin():
        for n in range(200):
            await outbox.enqueue(
                session,
                key=f"two:{n}",
                kind="broadcast",
                channel="test",
                chat_id=f"c{n}",
                payload=reply_to_payload(Reply(text=f"tin {n}")),
            )
    channel = CountingChannel()
    engines = [make_engine(database_url) for _ in range(2)]
    workers = [
        DeliveryWorker(make_sessionmaker(e), {"test": channel}, batch=20, idle_wait=0.01)
        for e in engines
    ]
    try:
        for _ in range(50):
            handled = await asyncio.gather(*(w.run_once() for w in workers))
            if not any(handled):
                break
    finally:
        for e in engines:
            await e.dispose()
    assert len(channel.sent) == 200
    assert set(channel.sent.values()) == {1}
