"""Every scripted conversation on every channel: the test channel, the web chat over
HTTP, and Telegram (webhook) against the fake Bot API; the database ends up the same."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.app import build_app
from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from bot.normalize import fold
from bot.settings import load_settings
from storage.models import Resident
from storage.models.households import Household, HouseholdPledge
from storage.models.nominations import Nomination
from storage.models.surveys import SurveyResponse
from tests import transcript
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.test_transcripts import FakeDriver
from tests.transcript import Seen

SECRET = "parity-secret"


class Server:
    """Our app on a loopback port."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.runner = web.AppRunner(app)
        self.base = ""

    async def __aenter__(self) -> Server:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


class WebchatDriver:
    """Does what the page's script does."""

    photos = False

    def __init__(self, http: aiohttp.ClientSession, base: str, client_id: str) -> None:
        self.http, self.base, self.client_id = http, base, client_id
        self.replies: list[dict[str, Any]] = []

    async def _post(self, payload: dict[str, Any]) -> Seen:
        body = {"client_id": self.client_id, "message_id": uuid.uuid4().hex, **payload}
        async with self.http.post(self.base + "/webchat/api/messages", json=body) as response:
            assert response.status == 200, await response.text()
            self.replies = (await response.json())["replies"]
        labels = [b["label"] for r in self.replies for row in r["buttons"] for b in row]
        return Seen("\n".join(r["text"] for r in self.replies), labels)

    async def say(self, text: str) -> Seen:
        return await self._post({"text": text})

    async def press(self, label: str) -> Seen:
        wanted = fold(label)
        for reply in reversed(self.replies):
            for row in reply["buttons"]:
                for button in row:
                    if wanted in fold(button["label"]):
                        return await self._post({"button": button["data"]})
        raise AssertionError(f"no button {label!r}")

    async def contact(self, phone: str) -> Seen:
        return await self.say(phone)  # the web chat has no contact sharing: it is typed

    async def photo(self) -> Seen:
        raise AssertionError("the web chat does not take photos")


class TelegramDriver:
    """A Telegram user: updates posted to our webhook, answers read off the fake API."""

    def __init__(self, http: aiohttp.ClientSession, base: str, api: FakeTelegramAPI) -> None:
        self.http, self.base, self.api = http, base, api
        self.chat = 4242

    async def _post(self, update: dict[str, Any]) -> Seen:
        before = len(self.api.calls_to("sendMessage", self.chat))
        async with self.http.post(
            self.base + WEBHOOK_PATH, data=json.dumps(update), headers={SECRET_HEADER: SECRET}
        ) as response:
            assert response.status == 200
        sent = self.api.calls_to("sendMessage", self.chat)[before:]
        labels: list[str] = []
        for call in sent:
            markup = call.params.get("reply_markup") or {}
            rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
            labels += [b["text"] for row in rows for b in row]
        return Seen("\n".join(c.params["text"] for c in sent), labels)

    async def say(self, text: str) -> Seen:
        return await self._post(self.api.text_update(text, self.chat))

    async def press(self, label: str) -> Seen:
        wanted = fold(label)
        for message in reversed(self.api.sent[self.chat]):
            markup = message.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if wanted in fold(button["text"]):
                        update = self.api.callback_update(self.chat, data=button["callback_data"])
                        return await self._post(update)
            for row in markup.get("keyboard", []):
                for button in row:
                    if wanted in fold(button["text"]):
                        return await self.say(button["text"])  # a reply keyboard types it
        raise AssertionError(f"no button {label!r}")

    async def contact(self, phone: str) -> Seen:
        return await self._post(self.api.contact_update(self.chat, phone))

    async def photo(self) -> Seen:
        return await self._post(self.api.photo_update(self.chat))


async def outcome(sessionmaker) -> dict[str, Any]:
    """What the conversation left in the database, without ids and times."""
    async with sessionmaker() as session:
        residents = [(r.group_code, r.lang) for r in (await session.scalars(select(Resident)))]
        households = [
            (h.head_name, h.address, h.phone, h.members, h.group_code)
            for h in await session.scalars(select(Household))
        ]
        pledges = [(p.year, p.campaigns) for p in await session.scalars(select(HouseholdPledge))]
        nominations = [
            (n.kind, n.nominee_name, n.group_code, n.field_code, n.description, n.status)
            for n in await session.scalars(select(Nomination))
        ]
        responses = [
            (r.group_code, r.answers) for r in await session.scalars(select(SurveyResponse))
        ]
    return {
        "residents": residents,
        "households": households,
        "pledges": pledges,
        "nominations": nominations,
        "responses": responses,
    }


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


@pytest.mark.parametrize("name", transcript.names())
async def test_same_conversation_same_outcome_on_every_channel(
    name: str, chat, sessionmaker, clock, api: FakeTelegramAPI, tmp_path
) -> None:
    script = transcript.load(name)
    await transcript.play(FakeDriver(chat), script)
    expected = await outcome(sessionmaker)

    for channel in ("webchat", "telegram"):
        url = f"sqlite+aiosqlite:///{tmp_path}/{channel}.db"
        settings = load_settings(
            database_url=url,
            telegram_token=api.token,
            telegram_api_url=api.url,
            telegram_webhook_url="https://thidua.example/telegram/webhook",
            telegram_webhook_secret=SECRET,
        )
        async with (
            Server(build_app(settings, deliver=False, clock=clock)) as server,
            aiohttp.ClientSession() as http,
        ):
            if channel == "webchat":
                driver: Any = WebchatDriver(http, server.base, uuid.uuid4().hex + "x" * 8)
            else:
                driver = TelegramDriver(http, server.base, api)
            await transcript.play(driver, script)
            got = await outcome(server.app[keys.SESSIONMAKER])
        assert got == expected, f"{name} on {channel}"
