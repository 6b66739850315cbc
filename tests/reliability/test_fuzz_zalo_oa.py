"""Fuzzing the Zalo Official Account webhook with bodies Zalo signs.

A signature only proves who sent a body, not that it makes sense: each generated body
(random JSON, real events cut short or with one field of the wrong type at any depth,
raw bytes) is signed as Zalo signs and posted. Whatever comes, the answer is below 500,
the background handling never fails or stops, a body the webhook refuses or ignores
leaves no event behind, and a real message afterwards is still answered.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from bot import keys
from bot.app import build_app
from bot.channels.zalo_oa import ZaloOAChannel
from bot.channels.zalo_oa.webhook import SIGNATURE_HEADER, WEBHOOK_PATH, timestamp_as_sent
from bot.settings import load_settings
from storage.models.zalo_oa import ZaloOAEvent
from tests.fakes.zalo_oa_api import FakeZaloOA
from tests.reliability.fuzzing import zalo_oa_bodies
from tests.test_parity import Server

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
REFUSED = {"echo", "ignored", "too old", "duplicate"}


class Tokens:
    def __init__(self, token: str) -> None:
        self.token = token

    async def access_token(self) -> str:
        return self.token

    async def refresh_after_rejection(self, rejected: str) -> str:
        return self.token


class Harness:
    def __init__(self, fake: FakeZaloOA, server: Server, channel: ZaloOAChannel,
                 http: aiohttp.ClientSession) -> None:
        self.fake, self.server, self.channel, self.http = fake, server, channel, http

    def fresh(self, body: Any) -> Any:
        """A recorded event's timestamp moved to now, so it is not refused as too old."""
        if isinstance(body, dict) and isinstance(body.get("timestamp"), str) \
                and body["timestamp"].isdigit():
            return {**body, "timestamp": str(int(time.time() * 1000))}
        return body

    async def post(self, body: Any) -> tuple[int, str]:
        """Sign the body as Zalo does (app id + raw body + timestamp + OA secret key)."""
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        stamp = timestamp_as_sent(body) if isinstance(body, dict) else ""
        mac = hashlib.sha256(self.fake.app_id.encode() + raw + stamp.encode()
                             + self.fake.secret_key.encode()).hexdigest()
        async with self.http.post(self.server.base + WEBHOOK_PATH, data=raw, headers={
                SIGNATURE_HEADER: f"mac={mac}", "Content-Type": "application/json"}) as response:
            return response.status, await response.text()

    async def events(self) -> int:
        async with self.server.app[keys.SESSIONMAKER]() as session:
            return int(await session.scalar(select(func.count()).select_from(ZaloOAEvent)) or 0)


def handler_errors() -> float:
    return REGISTRY.get_sample_value("thidua_handler_errors_total", {"channel": "zalo_oa"}) or 0.0


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with FakeZaloOA() as fake:
        fake.now = datetime.now(UTC)
        app = build_app(load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path}/oa-fuzz.db", webchat_enabled=False,
            zalo_oa_app_id=fake.app_id, zalo_oa_app_secret=fake.app_secret,
            zalo_oa_secret_key=fake.secret_key, zalo_oa_id=fake.oa_id,
            zalo_oa_api_url=fake.url, public_url="https://fuzz.example"), deliver=False)
        channel = app[keys.CHANNELS]["zalo_oa"]
        assert isinstance(channel, ZaloOAChannel)
        channel._tokens = Tokens(fake.token)
        async with Server(app) as server, aiohttp.ClientSession() as http:
            yield Harness(fake, server, channel, http)


@FUZZ
@given(body=zalo_oa_bodies())
async def test_the_oa_webhook_survives_any_signed_body(harness: Harness, body: Any) -> None:
    body = harness.fresh(body)
    before, errors = await harness.events(), handler_errors()
    status, text = await harness.post(body)
    await harness.channel.idle(10)
    assert status < 500, (status, text)
    assert handler_errors() == errors, "handling this event failed"
    if status >= 400 or text in REFUSED:
        assert await harness.events() == before, "a refused body left an event behind"


async def test_after_the_fuzzing_kind_of_junk_a_resident_is_still_answered(
        harness: Harness) -> None:
    for junk in (b"\xff\xfe", b"{", [], {"event_name": None}, {"event_name": "user_send_text"},
                 {"event_name": "user_send_text", "sender": {"id": {"x": 1}}, "message": 5}):
        status, _ = await harness.post(harness.fresh(junk))
        assert status < 500
    await harness.channel.idle(10)
    user = "5127309478999999999"
    status, text = await harness.post(harness.fake.text_event(user, "/batdau") | {
        "timestamp": str(int(time.time() * 1000))})
    assert (status, text) == (200, "ok")
    await harness.channel.idle(10)
    assert any("đồng ý" in t for t in harness.fake.texts(user))
