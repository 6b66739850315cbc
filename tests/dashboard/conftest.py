"""The whole app with the dashboard on a loopback port, officers and leaders who sign in
through the link the bot sends them, and a little seed data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web

from bot import keys
from bot.app import build_app
from bot.settings import load_settings
from storage.repos import households, roles, surveys
from storage.repos import nominations as nomination_repo
from storage.repos.households import HouseholdDetails
from tests.fake_channel import FakeChannel, give_role

LINK = re.compile(r"(https?://\S+/admin/login/([A-Za-z0-9_-]+))")
DEED = "Bác đã giúp dọn sạch con ngõ và trồng cây xanh cho cả tổ suốt ba tháng qua."


@dataclass
class Server:
    """The app on loopback, its clock and its database."""

    app: web.Application
    base: str
    clock: object
    runner: web.AppRunner

    @property
    def sessionmaker(self):  # type: ignore[no-untyped-def]
        return self.app[keys.SESSIONMAKER]

    def chat(self, user: str) -> FakeChannel:
        """A chat with the bot on the test channel (same core as the server)."""
        return FakeChannel(self.app[keys.DISPATCHER], user_id=user)

    async def staff(self, user: str, role: str, group: str | None = None,
                    joined: str = "Tổ dân phố 1") -> FakeChannel:
        """A resident who joined and holds a role."""
        chat = self.chat(user)
        await chat.join(joined)
        if role != "resident":
            await give_role(self.sessionmaker, chat, role, group)
        return chat

    async def resident_id(self, chat: FakeChannel) -> int:
        async with self.sessionmaker() as session:
            found = await roles.resident_by_account(session, chat.channel, chat.user_id)
        assert found is not None
        return found


@pytest.fixture
async def server(database_url: str, clock, ward, monkeypatch) -> AsyncIterator[Server]:
    """The app as `thidua serve` builds it, plus the dashboard and /web."""
    settings = load_settings(database_url=database_url, telegram_token=None)
    app = build_app(settings, ward=ward, clock=clock, deliver=False)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    # /web reads the public address from the settings, as in production.
    app[keys.DISPATCHER].settings = settings.model_copy(update={"public_url": base})
    try:
        yield Server(app, base, clock, runner)
    finally:
        await runner.cleanup()


def link_in(chat: FakeChannel) -> str:
    """The sign-in link in the bot's last answer."""
    found = LINK.search(chat.text)
    assert found, chat.text
    return found.group(1)


class Browser:
    """An HTTP client that keeps cookies and reads forms like a browser."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf: str | None = None

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **kwargs) -> tuple[int, str]:
        url = path if path.startswith("http") else self.server.base + path
        async with self.http.get(url, **kwargs) as response:
            text = await response.text()
            self._remember_token(text)
            return response.status, text

    async def post(self, path: str, data: dict | None = None, *, origin: str | None = "own",
                   token: bool = True) -> tuple[int, str]:
        url = path if path.startswith("http") else self.server.base + path
        form = dict(data or {})
        if token and self.csrf:
            form["csrf"] = self.csrf
        headers = {}
        if origin == "own":
            headers["Origin"] = self.server.base
        elif origin is not None:
            headers["Origin"] = origin
        async with self.http.post(url, data=form, headers=headers) as response:
            text = await response.text()
            self._remember_token(text)
            return response.status, text

    def _remember_token(self, html: str) -> None:
        found = re.search(r'name="csrf" value="([^"]+)"', html)
        if found:
            self.csrf = found.group(1)

    async def sign_in(self, link: str) -> tuple[int, str]:
        """Open the link and post it back, as the page's script does."""
        status, html = await self.get(link)
        if status != 200:
            return status, html
        assert 'id="signin"' in html
        return await self.post(link, token=False)


@pytest.fixture
async def browser(server: Server) -> AsyncIterator[Browser]:
    client = Browser(server)
    yield client
    await client.close()


@pytest.fixture
async def make_browser(server: Server) -> AsyncIterator:
    made: list[Browser] = []

    def make() -> Browser:
        made.append(Browser(server))
        return made[-1]

    yield make
    for client in made:
        await client.close()


async def signed_in(server: Server, browser: Browser, chat: FakeChannel) -> str:
    """Ask the bot for a link in chat and sign in with it; returns the overview's HTML."""
    await chat.say("/web")
    status, html = await browser.sign_in(link_in(chat))
    assert status == 200, html
    return html


async def seed_nominations(server: Server, nominator: FakeChannel,
                           rows: list[tuple[str, str, str]]) -> list[int]:
    """Nominations (name, group, field), a day apart; returns their ids."""
    ids = []
    resident = await server.resident_id(nominator)
    async with server.sessionmaker() as session, session.begin():
        for days, (name, group, field_code) in enumerate(rows):
            nomination = await nomination_repo.create(
                session, nominator_resident_id=resident, kind="individual",
                nominee_name=name, group_code=group, field_code=field_code,
                description=DEED, photo_channel=None, photo_ref=None, year=2026,
                now=server.clock.now - timedelta(days=10 - days),  # type: ignore[attr-defined]
            )
            ids.append(nomination.id)
    return ids


async def seed_households(server: Server, group: str, count: int) -> None:
    """`count` households of a group registered for this year."""
    async with server.sessionmaker() as session, session.begin():
        for n in range(count):
            details = HouseholdDetails(group, f"Chủ hộ {group}-{n}", f"Số {n + 1} ngõ {group}",
                                       f"+8490{int(group):02d}{n:05d}", 4)
            await households.register(
                session, details, household_id=None, resident_id=None,
                consent_at=server.clock.now, consent_by="leader", year=2026,  # type: ignore[attr-defined]
                campaigns=["ngoi-nha-xanh"], at=server.clock.now,  # type: ignore[attr-defined]
            )


async def seed_responses(server: Server, answers_by_group: dict[str, list[int]]) -> None:
    """Anonymous survey responses: one per given scale level, in each group."""
    now = server.clock.now  # type: ignore[attr-defined]
    async with server.sessionmaker() as session, session.begin():
        survey = await surveys.open_survey(session, now)
        assert survey is not None
        for group, levels in answers_by_group.items():
            for level in levels:
                await surveys.save_response(
                    session, survey_id=survey.id, resident_id=None,  # type: ignore[arg-type]
                    group_code=group,
                    answers={"q1": level, "q2": level, "q3": level, "q4": level, "q5": 1,
                             "q6": [0, 2], "q7": True},
                    started_at=now, now=now,
                )
