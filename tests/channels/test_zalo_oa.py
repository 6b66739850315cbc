"""The Zalo OA channel over real HTTP: signed webhooks (every variant, forged, replayed,
old, echoes), the 200 before the handling, events kept across a restart, buttons that
come back as their label, the follow greeting, and the Open API client's envelope."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot import keys
from bot.app import build_app
from bot.channels.zalo_oa import FORM_IMAGE_PATH, ZaloOAChannel
from bot.channels.zalo_oa.api import OAApi, OAApiError
from bot.settings import load_settings
from storage.models.zalo_oa import ZaloOAEvent, ZaloOAFollower
from tests.fakes.zalo_oa_api import FakeZaloOA
from tests.test_parity import Server

USER = "5127309478123456789"


class StaticTokens:
    """A token source that always has the fake's token; counts refreshes."""

    def __init__(self, fake: FakeZaloOA, token: str | None = None) -> None:
        self.fake = fake
        self.token = token or fake.token
        self.refreshed = 0

    async def access_token(self) -> str:
        return self.token

    async def refresh_after_rejection(self, rejected: str) -> str:
        self.refreshed += 1
        self.token = self.fake.token
        return self.token


def oa_settings(database_url: str, fake: FakeZaloOA, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "database_url": database_url, "webchat_enabled": False,
        "zalo_oa_app_id": fake.app_id, "zalo_oa_app_secret": fake.app_secret,
        "zalo_oa_secret_key": fake.secret_key, "zalo_oa_id": fake.oa_id,
        "zalo_oa_api_url": fake.url, "public_url": "https://thidua.example",
    }
    values.update(extra)
    return load_settings(**values)


@contextlib.asynccontextmanager
async def oa_server(
    database_url: str, fake: FakeZaloOA, **extra: Any
) -> AsyncIterator[tuple[Server, ZaloOAChannel]]:
    """Our app on loopback with the OA channel on a static token source."""
    app = build_app(oa_settings(database_url, fake, **extra), deliver=False, clock=fake.clock)
    channel = app[keys.CHANNELS]["zalo_oa"]
    assert isinstance(channel, ZaloOAChannel)
    channel._tokens = StaticTokens(fake)
    async with Server(app) as server:
        yield server, channel


async def say(fake: FakeZaloOA, server: Server, channel: ZaloOAChannel, event: dict[str, Any]
              ) -> list[str]:
    """Post one event, wait for it to be handled; the texts sent back to its user."""
    user = event.get("sender", event.get("follower", {}))["id"]
    before = len(fake.texts(user))
    status, _ = await fake.post_event(server.base, event)
    assert status == 200
    await channel.idle()
    return fake.texts(user)[before:]


async def count(server: Server, model: Any) -> int:
    async with server.app[keys.SESSIONMAKER]() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("first", ["app_id", "oa_id"])
@pytest.mark.parametrize("key", ["secret_key", "app_secret"])
async def test_every_documented_signature_variant_is_accepted(
    sqlite_url: str, first: str, key: str
) -> None:
    async with FakeZaloOA() as fake, oa_server(sqlite_url, fake) as (server, channel):
        fake.sign_with = (first, key)
        texts = await say(fake, server, channel, fake.text_event(USER, "/batdau"))
        assert any("Chào mừng" in text or "đồng ý" in text for text in texts), texts
        named = "oa_secret_key" if key == "secret_key" else "app_secret"
        assert channel.webhook.check.matched == f"{first}+{named}"


async def test_forged_or_unsigned_events_get_401_and_nothing_is_stored(
    database_url: str,
) -> None:
    async with FakeZaloOA() as fake, oa_server(database_url, fake) as (server, channel):
        event = fake.text_event(USER, "/batdau")
        assert (await fake.post_event(server.base, event, signature="mac=" + "0" * 64))[0] == 401
        assert (await fake.post_event(server.base, event, signature=""))[0] == 401
        fake.secret_key = "a-guessed-key"
        assert (await fake.post_event(server.base, event))[0] == 401
        await channel.idle()
        assert await count(server, ZaloOAEvent) == 0
        assert await count(server, ZaloOAFollower) == 0
        assert fake.sent_to(USER) == []


async def test_a_replayed_event_is_handled_once(database_url: str) -> None:
    async with FakeZaloOA() as fake, oa_server(database_url, fake) as (server, channel):
        event = fake.text_event(USER, "/batdau")
        assert await fake.post_event(server.base, event) == (200, "ok")
        assert await fake.post_event(server.base, event) == (200, "duplicate")
        await channel.idle()
        assert await count(server, ZaloOAEvent) == 1
        assert len([c for c in fake.sent_to(USER) if c.text]) == 1


async def test_an_old_capture_is_ignored(sqlite_url: str) -> None:
    async with FakeZaloOA() as fake, oa_server(sqlite_url, fake) as (server, channel):
        event = fake.text_event(USER, "/batdau")
        fake.now += timedelta(days=2)  # our clock moved on: the capture is two days old
        assert await fake.post_event(server.base, event) == (200, "too old")
        await channel.idle()
        assert await count(server, ZaloOAEvent) == 0


async def test_echoes_of_our_own_messages_are_dropped(sqlite_url: str) -> None:
    async with FakeZaloOA() as fake, oa_server(sqlite_url, fake) as (server, channel):
        fake.echoes = True
        await say(fake, server, channel, fake.text_event(USER, "/batdau"))
        await fake.wait_echoes()
        await channel.idle()
        async with server.app[keys.SESSIONMAKER]() as session:
            names = list(await session.scalars(select(ZaloOAEvent.event_name)))
        assert names == ["user_send_text"]
        own = fake.webhook_event("user_send_text", fake.oa_id, interact=False,
                                 message={"msg_id": fake.msg_id(), "text": "hi"})
        assert await fake.post_event(server.base, own) == (200, "echo")


async def test_the_200_comes_before_the_handling(sqlite_url: str) -> None:
    async with FakeZaloOA() as fake, oa_server(sqlite_url, fake) as (server, channel):
        gate = asyncio.Event()
        handle = channel.handle_event

        async def slow(event: dict[str, Any], key: str) -> None:
            await gate.wait()
            await handle(event, key)

        channel.processor.handle = slow
        status, _ = await fake.post_event(server.base, fake.text_event(USER, "/batdau"))
        assert status == 200
        assert fake.sent_to(USER) == []  # answered while the handling still waits
        gate.set()
        await channel.idle()
        assert fake.texts(USER)


async def test_recorded_events_are_handled_after_a_restart(database_url: str) -> None:
    async with FakeZaloOA() as fake:
        async with oa_server(database_url, fake) as (server, channel):
            await channel.processor.stop()  # a crash right after the 200
            status, _ = await fake.post_event(server.base, fake.text_event(USER, "/batdau"))
            assert status == 200
            assert fake.sent_to(USER) == []
        async with oa_server(database_url, fake) as (server, channel):
            await channel.idle()
            assert fake.texts(USER), "the event recorded before the crash was answered"
            async with server.app[keys.SESSIONMAKER]() as session:
                pending = await session.scalar(select(func.count()).select_from(ZaloOAEvent)
                                               .where(ZaloOAEvent.processed_at.is_(None)))
            assert pending == 0


async def test_buttons_come_back_as_their_label_and_a_follower_is_greeted(
    database_url: str,
) -> None:
    async with FakeZaloOA() as fake, oa_server(database_url, fake) as (server, channel):
        greeting = await say(fake, server, channel, fake.webhook_event("follow", USER))
        assert greeting, "a new follower is greeted"
        [asked] = [c for c in fake.sent_to(USER) if c.buttons]
        agree = next(b for b in asked.buttons if "đồng ý" in b["title"].lower())
        assert agree["type"] == "oa.query.show" and agree["payload"] == agree["title"]
        groups = await say(fake, server, channel, fake.text_event(USER, agree["payload"]))
        assert any("Tổ dân phố" in text or "tổ" in text for text in groups), groups
        picked = await say(fake, server, channel, fake.text_event(USER, "Tổ dân phố 5"))
        assert any("đã tham gia" in text for text in picked), picked
        async with server.app[keys.SESSIONMAKER]() as session:
            follower = await session.get(ZaloOAFollower, USER)
        assert follower is not None and follower.following
        assert follower.last_interaction_at == fake.now


async def test_unfollow_only_changes_the_follower(sqlite_url: str) -> None:
    async with FakeZaloOA() as fake, oa_server(sqlite_url, fake) as (server, channel):
        await say(fake, server, channel, fake.webhook_event("follow", USER))
        sent = len(fake.calls)
        fake.now += timedelta(hours=1)
        await fake.post_event(server.base, fake.webhook_event("unfollow", USER))
        await channel.idle()
        assert len(fake.calls) == sent
        async with server.app[keys.SESSIONMAKER]() as session:
            follower = await session.get(ZaloOAFollower, USER)
        assert follower is not None and not follower.following
        assert follower.last_interaction_at == fake.now - timedelta(hours=1)


async def test_the_form_picture_is_served(sqlite_url: str) -> None:
    import aiohttp

    async with FakeZaloOA() as fake, oa_server(sqlite_url, fake) as (server, _):
        async with aiohttp.ClientSession() as http, http.get(server.base + FORM_IMAGE_PATH) as r:
            assert r.status == 200 and r.content_type == "image/png"
            assert (await r.read()).startswith(b"\x89PNG")


async def test_api_checks_the_envelope_and_refreshes_a_rejected_token_once() -> None:
    async with FakeZaloOA() as fake:
        tokens = StaticTokens(fake, token="stale-token")
        api = OAApi(fake.url, tokens)
        fake.interact(USER)
        try:
            sent = await api.send_cs(USER, {"text": "Xin chào"})
            assert sent["message_id"] and tokens.refreshed == 1
            assert [c.token for c in fake.calls] == ["stale-token", fake.token]
            fake.rate_limit()
            with pytest.raises(OAApiError) as limited:
                await api.send_cs(USER, {"text": "again"})
            assert limited.value.rate_limited and limited.value.code == -32
            fake.now += timedelta(days=8)
            with pytest.raises(OAApiError) as closed:
                await api.send_cs(USER, {"text": "late"})
            assert closed.value.outside_window
            fake.valid_tokens.clear()
            with pytest.raises(OAApiError) as rejected:
                await api.send_cs(USER, {"text": "no token"})
            assert rejected.value.token_rejected and tokens.refreshed == 2
            fake.valid_tokens.add(fake.token)
            detail = await api.user_detail(USER)
            assert detail["user_id"] == USER
            assert fake.calls[-1].path == "/v3.0/oa/user/detail"
            attachment = await api.upload_image("chart.png", b"\x89PNG...", "image/png")
            assert attachment and fake.calls[-1].files["file"][0] == "chart.png"
        finally:
            await api.close()


async def test_the_console_check_of_the_webhook_address_gets_200_and_stores_nothing(
    sqlite_url: str,
) -> None:
    async with FakeZaloOA() as fake, oa_server(sqlite_url, fake) as (server, channel):
        async with aiohttp.ClientSession() as http:
            async with http.post(server.base + "/zalo-oa/webhook", data=b"") as response:
                assert response.status == 200
            async with http.post(server.base + "/zalo-oa/webhook", json={}) as response:
                assert response.status == 200
            unsigned = fake.text_event(USER, "/batdau")
            async with http.post(server.base + "/zalo-oa/webhook", json=unsigned) as response:
                assert response.status == 401
        await channel.idle()
        assert await count(server, ZaloOAEvent) == 0


async def test_the_running_server_takes_zalos_oauth_callback(sqlite_url: str) -> None:
    async with FakeZaloOA() as fake, oa_server(sqlite_url, fake) as (server, channel):
        async with aiohttp.ClientSession() as http:
            url = server.base + "/zalo-oa/callback?code=abc&state=never-issued&oa_id=1"
            async with http.get(url) as response:
                page = await response.text()
                assert response.status == 400
                assert "Traceback" not in page
                assert "kết nối" in page.lower()


async def test_processed_events_are_deleted_once_too_old_to_be_redelivered(
    database_url: str,
) -> None:
    async with FakeZaloOA() as fake, oa_server(database_url, fake) as (server, channel):
        await say(fake, server, channel, fake.text_event(USER, "/batdau"))
        assert await count(server, ZaloOAEvent) == 1
        fake.now += timedelta(hours=20)
        await say(fake, server, channel, fake.text_event(USER, "/trogiup"))
        channel.processor._pruned_at = None
        assert await channel.processor.prune_if_due() == 0  # both younger than a day
        fake.now += timedelta(hours=5)
        channel.processor._pruned_at = None
        assert await channel.processor.prune_if_due() == 1
        assert await count(server, ZaloOAEvent) == 1
        # Redelivering the deleted one now is refused as too old, not handled again.
        status, text = await fake.post_event(server.base, fake.text_event(USER, "x") | {
            "timestamp": str(int((fake.now - timedelta(hours=25)).timestamp() * 1000))})
        assert (status, text) == (200, "too old")
