"""The delivery worker with the Zalo channel, against the fake Zalo Bot API's limits and errors."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from bot import keys, texts
from bot.app import build_app
from bot.delivery import DeliveryWorker, Limits
from bot.events import Button, Reply
from bot.outbox import reply_to_payload
from bot.settings import load_settings
from storage import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models import ChannelIdentity, OutboxMessage
from storage.repos import outbox, residents
from tests.fakes.zalo_api import FakeZaloAPI

# Zalo publishes no rate; the worker's setting for it (proposed for DEFAULT_LIMITS).
ZALO_LIMITS = {"zalo": Limits(5.0, 1.0)}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def api() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI() as fake:
        yield fake


@pytest.fixture
async def app(database_url: str, api: FakeZaloAPI) -> AsyncIterator[web.Application]:
    settings = load_settings(
        database_url=database_url,
        zalo_token=api.token,
        zalo_api_url=api.url,
        zalo_webhook_url="https://thidua.example/zalo/webhook",
        zalo_webhook_secret="delivery-secret",
        webchat_enabled=False,
    )
    application = build_app(settings, deliver=False)
    runner = web.AppRunner(application)
    await runner.setup()
    yield application
    await runner.cleanup()


async def enqueue(app: web.Application, chat_id: str, reply: Reply | str, key: str) -> None:
    message = reply if isinstance(reply, Reply) else Reply(text=reply)
    async with app[keys.SESSIONMAKER]() as session, session.begin():
        await outbox.enqueue(
            session,
            key=key,
            kind="broadcast",
            channel="zalo",
            chat_id=chat_id,
            payload=reply_to_payload(message),
        )


async def statuses(app: web.Application) -> dict[str, int]:
    async with app[keys.SESSIONMAKER]() as session:
        return await outbox.count_by_status(session)


async def deliver_all(app: web.Application, worker: DeliveryWorker, timeout: float = 30) -> None:
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
    channels = {"zalo": app[keys.CHANNELS]["zalo"]}
    return DeliveryWorker(
        app[keys.SESSIONMAKER], channels, limits=ZALO_LIMITS, idle_wait=0.05, **kwargs
    )


async def only_row(app: web.Application) -> OutboxMessage:
    async with app[keys.SESSIONMAKER]() as session:
        return (await session.execute(select(OutboxMessage))).scalar_one()


async def test_every_recipient_gets_one_message_within_the_limits(app, api):
    limits = api.enforce_limits(per_second=5, per_chat_gap=1.0)
    chats = [f"c{n:03d}a9f3e1" for n in range(12)]
    for chat in chats:
        await enqueue(app, chat, f"Họp tổ dân phố tối nay, {chat}", key=f"b:{chat}")
    for n in range(1, 3):
        await enqueue(app, "c999a9f3e1", f"Tin {n}", key=f"seq:{n}")
    await deliver_all(app, worker_for(app))
    assert await statuses(app) == {"sent": 14}
    for chat in chats:
        assert api.texts(chat) == [f"Họp tổ dân phố tối nay, {chat}"]
    assert api.texts("c999a9f3e1") == ["Tin 1", "Tin 2"]
    assert limits.refused == 0, dict(limits.refused_by_chat)
    assert limits.busiest_second() <= 5


async def test_a_rate_limited_message_is_sent_later(app, api):
    api.rate_limit("sendMessage", times=1)  # Zalo gives no retry time: the worker backs off
    await enqueue(app, "d1e2f3", "Nhắc lịch họp tổ", key="r:1")
    await deliver_all(app, worker_for(app))
    assert api.texts("d1e2f3") == ["Nhắc lịch họp tổ"]
    [refused, accepted] = api.calls_to("sendMessage", ok_only=False)
    assert (refused.status, accepted.status) == (429, 200)
    row = await only_row(app)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_a_retry_time_given_by_zalo_is_honoured(app, api):
    api.rate_limit("sendMessage", times=1, retry_after=1)
    await enqueue(app, "d1e2f4", "Thông báo", key="r:2")
    started = time.monotonic()
    await deliver_all(app, worker_for(app))
    assert time.monotonic() - started >= 1.0
    assert (await only_row(app)).status == "sent"


async def test_an_unreachable_user_is_blocked_and_the_chat_marked(app, api):
    async with app[keys.SESSIONMAKER]() as session, session.begin():
        await residents.join(
            session, channel="zalo", user_id="e5f6a7", chat_id="e5f6a7", group_code="01",
            lang="vi", consent_at=datetime.now(UTC), consent_version="2026-11",
        )
    api.unreachable("e5f6a7")
    await enqueue(app, "e5f6a7", "Thông báo", key="x:1")
    await enqueue(app, "e5f6a8", "Thông báo", key="x:2")
    await deliver_all(app, worker_for(app))
    assert await statuses(app) == {"blocked": 1, "sent": 1}
    async with app[keys.SESSIONMAKER]() as session:
        identity = (await session.execute(select(ChannelIdentity))).scalar_one()
    assert identity.unreachable_at is not None


async def test_an_invalid_token_fails_with_one_clear_log_line(app, api, caplog):
    api.reject_token()
    for n in range(3):
        await enqueue(app, f"f{n}a1b2", "Thông báo", key=f"t:{n}")
    with caplog.at_level(logging.INFO):
        await deliver_all(app, worker_for(app))
    assert await statuses(app) == {"failed": 3}
    named = [r for r in caplog.records if "THIDUA_ZALO_TOKEN" in r.getMessage()
             and r.name.startswith("bot.channels.zalo")]
    assert len(named) == 1 and named[0].levelno == logging.ERROR
    assert api.token not in caplog.text


async def test_network_errors_back_off_then_give_up(app, api):
    api.fail_next("sendMessage", times=10, error_code=502, description="Bad Gateway")
    await enqueue(app, "a0b1c2", "Thử lại", key="n:1")
    await deliver_all(app, worker_for(app, max_attempts=2))
    row = await only_row(app)
    assert (row.status, row.attempts) == ("failed", 2)


async def test_long_text_is_split_into_messages_zalo_accepts(app, api):
    sentence = "Phường An Hải phát động phong trào Ngôi nhà xanh trong toàn bộ 23 tổ dân phố. "
    text = (sentence * 30).strip() + "\n\n" + (sentence * 30).strip()
    await enqueue(app, "b7c8d9", text, key="long:1")
    await deliver_all(app, worker_for(app))
    pieces = api.texts("b7c8d9")
    assert len(pieces) == 3
    assert all(len(piece) <= 2000 and piece.endswith(".") for piece in pieces)
    assert " ".join(pieces).split() == text.split()
    assert (await only_row(app)).status == "sent"


async def test_buttons_of_a_queued_message_read_as_words_to_type(app, api):
    stop = Button(texts.t("reminders.stop_button", "vi"), "cmd:tatnhac")
    await enqueue(app, "c3d4e5", Reply(text="Nhắc: nộp phiếu khảo sát", buttons=((stop,),)),
                  key="rem:1")
    await deliver_all(app, worker_for(app))
    assert api.texts("c3d4e5") == [
        "Nhắc: nộp phiếu khảo sát\n\nBạn có thể gõ: /tatnhac (Tắt nhắc nhở)"]


# --- `thidua deliver` -------------------------------------------------------------------


def worker_env(tmp_path, api: FakeZaloAPI) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env.update({
        "THIDUA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/worker.db",
        "THIDUA_ZALO_TOKEN": api.token,
        "THIDUA_ZALO_API_URL": api.url,
        "THIDUA_WEBCHAT_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
    })
    return env


async def test_thidua_deliver_sends_the_outbox_on_zalo(tmp_path, api):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/worker.db")
    await upgrade(engine)
    async with make_sessionmaker(engine)() as session, session.begin():
        await outbox.enqueue(session, key="w:1", kind="broadcast", channel="zalo",
                             chat_id="a1b2c3", payload=reply_to_payload(Reply("Họp tổ 19:30")))
    await engine.dispose()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "deliver", cwd=tmp_path, env=worker_env(tmp_path, api),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await api.wait_for("sendMessage", chat_id="a1b2c3", timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=15)
    assert process.returncode == 0, output.decode()
    assert api.texts("a1b2c3") == ["Họp tổ 19:30"]
    assert api.calls_to("getUpdates", ok_only=False) == []  # it sends, it does not receive


async def test_thidua_deliver_refuses_to_start_with_a_rejected_token(tmp_path, api):
    api.reject_token()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "deliver", cwd=tmp_path, env=worker_env(tmp_path, api),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output = (await asyncio.wait_for(process.communicate(), timeout=30))[0].decode()
    assert process.returncode == 1
    assert "cannot start sending: Zalo rejected THIDUA_ZALO_TOKEN" in output
    assert api.token not in output
