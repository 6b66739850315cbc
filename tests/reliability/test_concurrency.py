"""Concurrency: one resident sending many messages at once; two servers on one PostgreSQL.

Nothing is lost and nothing is doubled: every update is recorded once, a household
confirmed by fifty taps at once is stored once, and the same update reaching two
webhook workers together (a retry through a load balancer) is handled by one of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot import keys
from bot.app import build_app
from bot.settings import load_settings
from storage import make_engine, make_sessionmaker
from storage.models import ChannelIdentity, ProcessedUpdate, Resident
from storage.models.households import Household
from tests.conftest import POSTGRES_URL, reset_postgres
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.reliability.servers import SECRET, SECRET_HEADER, ServerProcess
from tests.reliability.servers import Resident as Person

AT_ONCE = 50
CONFIRM_STEP = 10


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
async def client(database_url: str, api: FakeTelegramAPI) -> AsyncIterator[TestClient]:
    """The app in Telegram webhook mode on each backend, flood control (if any) opened up."""
    settings = load_settings(
        database_url=database_url, telegram_token=api.token, telegram_api_url=api.url,
        telegram_webhook_url="https://concurrency.example/telegram/webhook",
        telegram_webhook_secret=SECRET, webchat_enabled=False)
    app = build_app(settings, deliver=False)
    dispatcher = app[keys.DISPATCHER]
    if hasattr(dispatcher, "flood"):  # this test is about the database, not about floods
        from bot.flood import FloodControl, FloodLimits

        dispatcher.flood = FloodControl(FloodLimits(burst=10_000, per_second=10_000))
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


async def post_all(url: str, updates: list[dict[str, Any]]) -> list[int]:
    """POST every update at the same moment; their HTTP statuses."""
    async with aiohttp.ClientSession() as session:
        async def one(update: dict[str, Any]) -> int:
            async with session.post(url, json=update, headers={SECRET_HEADER: SECRET}) as r:
                await r.read()
                return r.status

        return list(await asyncio.gather(*(one(u) for u in updates)))


async def count(sessionmaker, model: Any, *where: Any) -> int:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where))
                   or 0)


async def test_fifty_messages_at_once_from_one_resident_are_each_recorded_once(
        client: TestClient, api: FakeTelegramAPI) -> None:
    url = str(client.make_url("/telegram/webhook"))
    lan = Person(7001, api)
    async with aiohttp.ClientSession() as session:
        await lan.play(session, url, [], steps=3)  # joined
    burst = [api.text_update(f"Tin nhắn số {n}", chat_id=7001) for n in range(AT_ONCE)]
    again = burst[:10]  # Telegram may deliver some twice
    statuses = await post_all(url, burst + again)
    assert statuses == [200] * (AT_ONCE + len(again))
    sessionmaker = client.app[keys.SESSIONMAKER]
    ids = [str(u["update_id"]) for u in burst]
    assert await count(sessionmaker, ProcessedUpdate, ProcessedUpdate.update_id.in_(ids)) == \
        AT_ONCE
    answered = [c for c in api.calls_to("sendMessage", 7001)
                if "Bạn muốn làm gì" in c.params["text"] or "chưa hiểu" in c.params["text"]]
    assert len(answered) >= AT_ONCE  # each new message got its answer, the repeats none
    assert await count(sessionmaker, Resident) == 1


async def test_fifty_taps_on_confirm_store_one_household(
        client: TestClient, api: FakeTelegramAPI) -> None:
    url = str(client.make_url("/telegram/webhook"))
    lan = Person(7002, api)
    async with aiohttp.ClientSession() as session:
        await lan.play(session, url, [], steps=CONFIRM_STEP)
    [summary] = [m for m in api.sent[7002][-1:]]
    confirm = next(b["callback_data"] for row in summary["reply_markup"]["inline_keyboard"]
                   for b in row if "Xác nhận" in b["text"])
    taps = [api.callback_update(7002, data=confirm, message=summary) for _ in range(AT_ONCE)]
    assert await post_all(url, taps) == [200] * AT_ONCE
    sessionmaker = client.app[keys.SESSIONMAKER]
    assert await count(sessionmaker, Household) == 1
    thanks = [c for c in api.calls_to("sendMessage", 7002)
              if "Cảm ơn bạn! Hộ" in c.params["text"]]
    assert len(thanks) == 1
    ids = [str(t["update_id"]) for t in taps]
    assert await count(sessionmaker, ProcessedUpdate, ProcessedUpdate.update_id.in_(ids)) == \
        AT_ONCE


@pytest.mark.postgres
@pytest.mark.slow
async def test_two_servers_on_one_postgres_handle_overlapping_updates_once(
        tmp_path: Path, api: FakeTelegramAPI) -> None:
    assert POSTGRES_URL
    await reset_postgres(POSTGRES_URL)
    first = ServerProcess(tmp_path, POSTGRES_URL, api, name="first")
    second = ServerProcess(tmp_path, POSTGRES_URL, api, name="second",
                           THIDUA_DELIVERY_IN_SERVE="false")
    await first.start()  # migrates; the second finds the schema ready
    await second.start()
    people = [Person(8000 + n, api) for n in range(12)]
    try:
        async with aiohttp.ClientSession() as session:
            for step in range(11):
                # Each person's step goes to one server and, at the same moment, the very
                # same update to the other (a retry racing the original).
                updates = [p.next_update() for p in people]
                sends = []
                for n, (person, update) in enumerate(zip(people, updates, strict=True)):
                    assert update is not None, (person.chat, step)
                    a, b = (first, second) if (n + step) % 2 else (second, first)
                    sends += [post_one(session, a.webhook, update),
                              post_one(session, b.webhook, update)]
                assert await asyncio.gather(*sends) == [200] * len(sends)
                for person in people:
                    person.position += 1
    finally:
        await first.stop()
        await second.stop()
    engine = make_engine(POSTGRES_URL)
    sessionmaker = make_sessionmaker(engine)
    try:
        assert await count(sessionmaker, ProcessedUpdate) == 12 * 11
        assert await count(sessionmaker, ChannelIdentity) == 12
        assert await count(sessionmaker, Household) == 12
    finally:
        await engine.dispose()
    for person in people:
        thanks = [c for c in api.calls_to("sendMessage", person.chat)
                  if "Cảm ơn bạn! Hộ" in c.params["text"]]
        assert len(thanks) == 1, (person.chat, len(thanks))
    assert "Traceback" not in first.logs() + second.logs()


async def post_one(session: aiohttp.ClientSession, url: str, update: dict[str, Any]) -> int:
    """POST one update; its HTTP status."""
    async with session.post(url, json=update, headers={SECRET_HEADER: SECRET}) as response:
        await response.read()
        return response.status


@pytest.mark.postgres
@pytest.mark.slow
async def test_one_resident_tapping_confirm_on_two_servers_at_once(
        tmp_path: Path, api: FakeTelegramAPI) -> None:
    assert POSTGRES_URL
    await reset_postgres(POSTGRES_URL)
    first = ServerProcess(tmp_path, POSTGRES_URL, api, name="first")
    second = ServerProcess(tmp_path, POSTGRES_URL, api, name="second",
                           THIDUA_DELIVERY_IN_SERVE="false")
    await first.start()
    await second.start()
    lan = Person(8100, api)
    try:
        async with aiohttp.ClientSession() as session:
            await lan.play(session, first.webhook, [], steps=CONFIRM_STEP)
            summary = api.sent[8100][-1]
            confirm = next(b["callback_data"] for row in summary["reply_markup"]["inline_keyboard"]
                           for b in row if "Xác nhận" in b["text"])
            taps = [api.callback_update(8100, data=confirm, message=summary) for _ in range(20)]
            statuses = await asyncio.gather(*(
                post_one(session, (first, second)[n % 2].webhook, tap)
                for n, tap in enumerate(taps)))
    finally:
        await first.stop()
        await second.stop()
    assert statuses == [200] * 20
    engine = make_engine(POSTGRES_URL)
    try:
        assert await count(make_sessionmaker(engine), Household) == 1
    finally:
        await engine.dispose()
    thanks = [c for c in api.calls_to("sendMessage", 8100) if "Cảm ơn bạn! Hộ" in c.params["text"]]
    assert len(thanks) == 1
    assert "Traceback" not in first.logs() + second.logs(), (first.logs() + second.logs())[-3000:]
