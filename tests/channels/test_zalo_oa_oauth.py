"""Connecting the ward's Zalo OA (OAuth v4 + PKCE) over real HTTP against a loopback fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.zalo_oa import connect, oauth
from bot.channels.zalo_oa.callback import add_callback_route
from bot.settings import Settings, load_settings
from storage.models.roles import AuditEntry
from storage.repos import zalo_oa_tokens as repo
from tests.conftest import Clock
from tests.fakes.zalo_oauth import FakeZaloOAuth


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloOAuth]:
    """Zalo's OAuth server on loopback."""
    async with FakeZaloOAuth() as server:
        yield server


@pytest.fixture
def settings(fake: FakeZaloOAuth) -> Settings:
    """Settings pointing at the fake."""
    return load_settings(
        zalo_oa_oauth_url=fake.url, zalo_oa_app_id=fake.app_id, zalo_oa_app_secret=fake.secret
    )


@pytest.fixture
async def server(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> AsyncIterator[TestServer]:
    """Our web server with only the callback route, on 127.0.0.1."""
    app = web.Application()
    add_callback_route(app, sessionmaker, settings, clock=clock)
    async with TestServer(app, host="127.0.0.1") as test_server:
        yield test_server


def test_pkce_challenge_is_rfc7636s() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    fresh = oauth.new_verifier()
    assert 43 <= len(fresh) <= 128
    assert set(fresh) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_permission_link_names_app_redirect_challenge_and_state() -> None:
    link = oauth.permission_link(
        "https://oauth.zaloapp.com/",
        app_id="42",
        redirect_uri="https://ward.example/zalo-oa/callback",
        verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        state="s1",
    )
    assert link == (
        "https://oauth.zaloapp.com/v4/oa/permission?app_id=42"
        "&redirect_uri=https%3A%2F%2Fward.example%2Fzalo-oa%2Fcallback"
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&state=s1"
    )


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, b'{"error": -14014, "error_name": "Invalid refresh token"}', oauth.OAuthRefused),
        (400, b'{"error": "-14005", "error_description": "code expired"}', oauth.OAuthRefused),
        (502, b"<html>Bad gateway</html>", oauth.OAuthUnavailable),
        (503, b'{"error": -1, "error_name": "busy"}', oauth.OAuthUnavailable),
        (200, b"<html>maintenance</html>", oauth.OAuthUnavailable),
    ],
)
def test_token_endpoint_errors_are_sorted(status: int, body: bytes, kind: type) -> None:
    with pytest.raises(kind):
        oauth.parse_answer(status, body)


def test_expires_in_comes_as_a_string() -> None:
    pair = oauth.parse_answer(
        200, b'{"access_token": "a", "refresh_token": "r", "expires_in": "90000"}'
    )
    assert (pair.expires_in, pair.refresh_expires_in) == (90000, None)


async def _open(link: str) -> tuple[int, str, str]:
    """Open `link` like the officer's browser: follow Zalo's redirect to our callback."""
    async with aiohttp.ClientSession() as browser, browser.get(link) as response:
        location = response.history[0].headers["Location"] if response.history else link
        return response.status, await response.text(), location


async def test_officer_connects_through_the_callback(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    fake: FakeZaloOAuth,
    server: TestServer,
    clock: Clock,
) -> None:
    redirect_uri = str(server.make_url("/zalo-oa/callback"))
    started = await connect.start(sessionmaker, settings, redirect_uri=redirect_uri, clock=clock)

    status, page, callback_url = await _open(started.link)

    assert status == 200
    assert f"Đã kết nối Zalo OA {fake.oa_id}" in page
    assert callback_url.startswith(redirect_uri)
    async with sessionmaker() as session:
        row = await repo.get(session)
        request = await repo.get_auth_request(session, started.state)
        entries = (await session.execute(select(AuditEntry))).scalars().all()
    assert row is not None and row.oa_id == fake.oa_id and row.status == "ok"
    assert row.access_token in fake.issued_access_tokens
    assert row.access_expires_at == clock.now + timedelta(seconds=90000)
    assert request is not None and request.status == "connected"
    assert [(e.action, e.target) for e in entries] == [("zalo_oa.connect", f"oa:{fake.oa_id}")]

    # The same redirect again (a reload, or someone replaying it) changes nothing.
    status, page, _ = await _open(callback_url)
    assert status == 400
    assert "không còn dùng được" in page
    assert fake.exchanges == 1
    async with sessionmaker() as session:
        again = await repo.get(session)
    assert again is not None and again.version == 1


async def test_unknown_or_expired_state_stores_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    fake: FakeZaloOAuth,
    server: TestServer,
    clock: Clock,
) -> None:
    redirect_uri = str(server.make_url("/zalo-oa/callback"))
    started = await connect.start(sessionmaker, settings, redirect_uri=redirect_uri, clock=clock)
    landing = fake.approve_link(started.link)

    forged = landing.replace(f"state={started.state}", "state=made-up")
    status, page, _ = await _open(forged)
    assert (status, "không còn dùng được" in page) == (400, True)

    clock.now += timedelta(minutes=11)
    status, page, _ = await _open(landing)
    assert (status, "không còn dùng được" in page) == (400, True)
    assert "Traceback" not in page

    assert fake.exchanges == 0
    async with sessionmaker() as session:
        assert await repo.get(session) is None


async def test_access_not_granted_or_code_refused(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    fake: FakeZaloOAuth,
    server: TestServer,
    clock: Clock,
) -> None:
    redirect_uri = str(server.make_url("/zalo-oa/callback"))
    fake.deny = True
    denied = await connect.start(sessionmaker, settings, redirect_uri=redirect_uri, clock=clock)
    status, page, _ = await _open(denied.link)
    assert status == 400
    assert "chưa được cấp" in page

    fake.deny = False
    started = await connect.start(sessionmaker, settings, redirect_uri=redirect_uri, clock=clock)
    # A code minted for another link's challenge: the verifier does not match.
    code = fake.approve(challenge="not-ours", redirect_uri=redirect_uri)
    status, page, _ = await _open(f"{redirect_uri}?code={code}&state={started.state}&oa_id=1")
    assert status == 400
    assert "Zalo không nhận mã xác nhận" in page

    async with sessionmaker() as session:
        assert await repo.get(session) is None
        first = await repo.get_auth_request(session, denied.state)
        second = await repo.get_auth_request(session, started.state)
    assert first is not None and first.status == "failed"
    assert second is not None and second.status == "failed"


async def test_zalo_down_during_the_exchange_lets_the_officer_reload(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    fake: FakeZaloOAuth,
    server: TestServer,
    clock: Clock,
) -> None:
    redirect_uri = str(server.make_url("/zalo-oa/callback"))
    started = await connect.start(sessionmaker, settings, redirect_uri=redirect_uri, clock=clock)
    landing = fake.approve_link(started.link)

    fake.fail_status = 502
    status, page, _ = await _open(landing)
    assert status == 503
    assert "tải lại trang" in page

    fake.fail_status = None
    status, page, _ = await _open(landing)
    assert status == 200
    assert "Đã kết nối" in page
