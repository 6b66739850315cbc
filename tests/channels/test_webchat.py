"""The web chat over real HTTP on loopback: page, identity, messages, retries, restarts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot import keys
from bot.app import build_app
from bot.events import Reply
from bot.settings import load_settings
from storage.models import ProcessedUpdate, Resident


class WebchatServer:
    """Our whole app on a loopback port, and a browser-like client."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> None:
        settings = load_settings(database_url=self.database_url, telegram_token=None)
        self.app = build_app(settings)
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


class Browser:
    """Does what the page's JavaScript does."""

    def __init__(self, http: aiohttp.ClientSession, server: WebchatServer) -> None:
        self.http, self.server = http, server
        self.client_id: str | None = None
        self.replies: list[dict] = []

    async def open(self) -> str:
        async with self.http.get(self.server.base + "/") as response:
            assert response.status == 200
            return await response.text()

    async def identity(self) -> str:
        async with self.http.post(self.server.base + "/webchat/api/session") as response:
            self.client_id = (await response.json())["client_id"]
        return self.client_id

    async def post(self, payload: dict, message_id: str | None = None) -> aiohttp.ClientResponse:
        body = {"client_id": self.client_id, "message_id": message_id or uuid.uuid4().hex}
        body.update(payload)
        response = await self.http.post(self.server.base + "/webchat/api/messages", json=body)
        if response.status == 200:
            self.replies = (await response.json())["replies"]
        return response

    async def say(self, text: str) -> list[dict]:
        response = await self.post({"text": text})
        assert response.status == 200, await response.text()
        return self.replies

    async def press(self, label: str) -> list[dict]:
        data = next(
            b["data"]
            for r in self.replies
            for row in r["buttons"]
            for b in row
            if label in b["label"]
        )
        response = await self.post({"button": data})
        assert response.status == 200
        return self.replies

    @property
    def text(self) -> str:
        return "\n".join(r["text"] for r in self.replies)


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[WebchatServer]:
    server = WebchatServer(database_url)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def browser(server: WebchatServer) -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession() as http:
        browser = Browser(http, server)
        await browser.identity()
        yield browser


async def test_page_is_a_phone_sized_vietnamese_chat(browser: Browser) -> None:
    page = await browser.open()
    assert '<html lang="vi">' in page
    assert 'name="viewport"' in page
    assert "Phường An Hải" in page
    assert "Nhập tin nhắn…" in page


async def test_onboarding_over_http(browser: Browser, server: WebchatServer) -> None:
    await browser.say("/batdau")
    assert "Bạn có đồng ý không?" in browser.text
    await browser.press("Tôi đồng ý")
    await browser.press("Tổ dân phố 4")
    assert "Bạn đã tham gia cùng Tổ dân phố 4" in browser.text
    async with server.app[keys.SESSIONMAKER]() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
    assert resident.group_code == "04"


async def test_retried_message_is_handled_once(browser: Browser, server: WebchatServer) -> None:
    first = await browser.post({"text": "/batdau"}, message_id="retry-me-123")
    assert first.status == 200 and browser.replies
    second = await browser.post({"text": "/batdau"}, message_id="retry-me-123")
    assert second.status == 200
    assert browser.replies == []
    async with server.app[keys.SESSIONMAKER]() as session:
        seen = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    assert seen == 1


@pytest.mark.parametrize(
    "body",
    [
        {"client_id": "short", "message_id": "abcdefgh12", "text": "hi"},
        {"client_id": "x" * 40, "message_id": "no", "text": "hi"},
        {"client_id": "x" * 40, "message_id": "abcdefgh12", "text": "   "},
        {"client_id": "x" * 40, "message_id": "abcdefgh12", "text": "a" * 4001},
        {"client_id": "x" * 40, "message_id": "abcdefgh12"},
        ["not", "an", "object"],
    ],
)
async def test_bad_requests_are_refused_and_store_nothing(
    server: WebchatServer, body: object
) -> None:
    async with aiohttp.ClientSession() as http:
        url = server.base + "/webchat/api/messages"
        async with http.post(url, json=body) as response:
            assert response.status == 400
            assert "error" in await response.json()
        async with http.post(url, data=b"{not json") as response:
            assert response.status == 400
    async with server.app[keys.SESSIONMAKER]() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0


async def test_resume_after_server_restart(database_url: str) -> None:
    first = WebchatServer(database_url)
    await first.start()
    async with aiohttp.ClientSession() as http:
        browser = Browser(http, first)
        await browser.identity()
        await browser.say("/batdau")
        await browser.press("Tôi đồng ý")
        assert "tổ dân phố nào" in browser.text
        await first.stop()

        second = WebchatServer(database_url)
        await second.start()
        browser.server = second
        try:
            await browser.say("tổ 8")
            assert "Bạn đã tham gia cùng Tổ dân phố 8" in browser.text
        finally:
            await second.stop()


async def test_messages_sent_later_reach_the_browser(browser: Browser, server: WebchatServer):
    channel = server.app[keys.CHANNELS]["webchat"]
    result = await channel.send(browser.client_id, Reply(text="Thông báo của tổ dân phố"))
    assert result.status == "sent"
    url = f"{server.base}/webchat/api/inbox?client_id={browser.client_id}&after=0"
    async with browser.http.get(url) as response:
        messages = (await response.json())["messages"]
    assert [m["text"] for m in messages] == ["Thông báo của tổ dân phố"]
    after = messages[-1]["id"]
    async with browser.http.get(url.replace("after=0", f"after={after}")) as response:
        assert (await response.json())["messages"] == []


async def test_health_and_metrics(server: WebchatServer, browser: Browser) -> None:
    await browser.say("/batdau")
    async with browser.http.get(server.base + "/healthz") as response:
        assert response.status == 200
        assert (await response.json())["database"] == "ok"
    async with browser.http.get(server.base + "/metrics") as response:
        body = await response.text()
    assert 'thidua_updates_total{channel="webchat",kind="command"}' in body
