"""Fuzzing the doors open to the internet: Telegram's and Zalo's webhooks and the web chat.

Hypothesis generates bodies: random JSON, real recorded payloads cut short, real
payloads with one field (at any depth) of the wrong type, huge or odd Unicode strings,
raw bytes. Whatever comes, the server answers below 500, no handler fails, a body it
refuses leaves nothing behind (no processed update, no resident), and it keeps serving.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from bot import keys
from bot.app import build_app
from bot.settings import load_settings
from storage.models import ProcessedUpdate, Resident
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.reliability.fuzzing import telegram_bodies, webchat_bodies, zalo_bodies

TOKEN, SECRET, ZALO_SECRET = "123:ABC", "fuzz-secret", "zalo-fuzz-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM_HOOK, ZALO_HOOK, WEBCHAT = "/telegram/webhook", "/zalo/webhook", "/webchat/api/messages"
HAS_ZALO = importlib.util.find_spec("bot.channels.zalo") is not None
FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    """The whole app: Telegram and (when present) Zalo in webhook mode, and the web chat."""
    async with FakeTelegramAPI(TOKEN) as telegram:
        extra: dict[str, Any] = {}
        zalo = None
        if HAS_ZALO:
            from tests.fakes.zalo_api import FakeZaloAPI

            zalo = FakeZaloAPI()
            await zalo.__aenter__()
            extra = {"zalo_token": zalo.token, "zalo_api_url": zalo.url,
                     "zalo_webhook_url": "https://fuzz.example/zalo/webhook",
                     "zalo_webhook_secret": ZALO_SECRET}
        settings_ = load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path}/fuzz.db", telegram_token=TOKEN,
            telegram_api_url=telegram.url, telegram_webhook_secret=SECRET,
            telegram_webhook_url="https://fuzz.example/telegram/webhook",
            public_url="https://fuzz.example", **extra)
        try:
            app = build_app(settings_, deliver=False)
            async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
                yield test_client
        finally:
            if zalo is not None:
                await zalo.__aexit__(None, None, None)


async def stored(client: TestClient) -> tuple[int, int]:
    """Processed updates and residents in the database."""
    async with client.app[keys.SESSIONMAKER]() as session:
        updates = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
        people = await session.scalar(select(func.count()).select_from(Resident))
    return int(updates or 0), int(people or 0)


def handler_errors() -> float:
    """Updates whose handling raised, over every channel."""
    return sum(REGISTRY.get_sample_value("thidua_handler_errors_total", {"channel": c}) or 0.0
               for c in ("telegram", "zalo", "webchat"))


async def post(client: TestClient, path: str, body: Any, headers: dict[str, str]) -> tuple[
        int, str]:
    """POST raw bytes as they are, anything else as JSON."""
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    async with client.post(path, data=data, headers={
            "Content-Type": "application/json", **headers}) as response:
        return response.status, await response.text()


async def check(client: TestClient, path: str, body: Any, headers: dict[str, str],
                refused: set[str]) -> None:
    """The invariants for one body."""
    before, errors = await stored(client), handler_errors()
    status, text = await post(client, path, body, headers)
    assert status < 500, (status, text)
    assert handler_errors() == errors, "a handler failed on this body"
    if status >= 400 or text in refused:
        assert await stored(client) == before, "a refused body left something behind"


# Found by this test (fixed in bot/channels/telegram parse_update): PTB parses
# `"chat": null` without complaint, and the adapter then failed with a 500, which
# Telegram retries for hours.
CHATLESS = {"update_id": 1, "message": {"message_id": 1, "date": 1764000000, "chat": None,
                                       "from": {"id": 1, "is_bot": False, "first_name": "A"},
                                       "text": "hi"}}


async def test_a_message_without_a_chat_is_refused(client: TestClient) -> None:
    before = await stored(client)
    status, _ = await post(client, TELEGRAM_HOOK, CHATLESS, {SECRET_HEADER: SECRET})
    assert status == 400
    assert await stored(client) == before


@FUZZ
@given(body=telegram_bodies())
async def test_telegram_webhook_survives_any_body(client: TestClient, body: Any) -> None:
    await check(client, TELEGRAM_HOOK, body, {SECRET_HEADER: SECRET}, set())


@FUZZ
@given(body=webchat_bodies())
async def test_web_chat_survives_any_body(client: TestClient, body: Any) -> None:
    await check(client, WEBCHAT, body, {}, set())


@pytest.mark.skipif(not HAS_ZALO, reason="the Zalo channel is not there yet")
@FUZZ
@given(body=zalo_bodies())
async def test_zalo_webhook_survives_any_body(client: TestClient, body: Any) -> None:
    from bot.channels.zalo import SECRET_HEADER as ZALO_HEADER

    await check(client, ZALO_HOOK, body, {ZALO_HEADER: ZALO_SECRET}, {"ignored"})


async def test_forged_webhook_calls_are_refused_and_store_nothing(client: TestClient) -> None:
    real = json.loads((Path(__file__).parent.parent / "payloads/telegram/private_text.json")
                      .read_text(encoding="utf-8"))
    before = await stored(client)
    for headers in ({}, {SECRET_HEADER: "guess"}, {SECRET_HEADER: SECRET + "x"}):
        assert (await post(client, TELEGRAM_HOOK, real, headers))[0] == 401
    if HAS_ZALO:
        from bot.channels.zalo import SECRET_HEADER as ZALO_HEADER

        for headers in ({}, {ZALO_HEADER: "not-the-secret"}):
            assert (await post(client, ZALO_HOOK, {"ok": True}, headers))[0] == 401
    assert await stored(client) == before
    status, _ = await post(client, TELEGRAM_HOOK, real, {SECRET_HEADER: SECRET})
    assert status == 200
    assert (await stored(client))[0] == before[0] + 1  # and a real one is still handled
