"""The OA's access token: refreshed before expiry, once across processes, failures reported."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.zalo_oa.oauth import TokenPair
from bot.channels.zalo_oa.tokens import TokenManager, TokenUnavailable, new_pair
from bot.settings import Settings, load_settings
from storage import make_engine, make_sessionmaker
from storage.models import ChannelIdentity, OutboxMessage
from storage.repos import residents, roles
from storage.repos import zalo_oa_tokens as repo
from tests.conftest import Clock
from tests.fakes.zalo_oauth import FakeZaloOAuth

LIFE = timedelta(seconds=90000)


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


def manager(
    maker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> TokenManager:
    """A TokenManager with short waits for tests."""
    tokens = TokenManager(maker, settings, clock=clock)
    tokens.retry_delays = (0.01, 0.01)
    tokens.poll_seconds = 0.05
    return tokens


async def connected(
    sessionmaker: async_sessionmaker[AsyncSession], fake: FakeZaloOAuth, clock: Clock
) -> str:
    """Store a pair the fake issued now, as `thidua zalo-oa connect` would; its access token."""
    issued = fake.grant()
    pair = TokenPair(issued["access_token"], issued["refresh_token"], int(issued["expires_in"]))
    async with sessionmaker() as session, session.begin():
        await repo.store_pair(session, oa_id=fake.oa_id, pair=new_pair(pair, clock.now),
                              now=clock.now)
    return issued["access_token"]


async def stored(sessionmaker: async_sessionmaker[AsyncSession]) -> repo.ZaloOAToken:
    async with sessionmaker() as session:
        row = await repo.get(session)
    assert row is not None
    return row


async def test_never_connected_is_one_clear_error(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> None:
    with pytest.raises(TokenUnavailable, match="thidua zalo-oa connect"):
        await manager(sessionmaker, settings, clock).access_token()


async def test_refreshes_within_the_last_hour_and_only_then(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    fake: FakeZaloOAuth,
    clock: Clock,
) -> None:
    first = await connected(sessionmaker, fake, clock)
    tokens = manager(sessionmaker, settings, clock)

    clock.now += LIFE - timedelta(hours=1, seconds=1)
    assert await tokens.access_token() == first
    assert fake.refreshes == 0

    clock.now += timedelta(seconds=2)
    second = await tokens.access_token()
    assert second != first and second in fake.issued_access_tokens
    assert await tokens.access_token() == second
    assert fake.refreshes == 1
    row = await stored(sessionmaker)
    assert (row.access_token, row.version, row.status) == (second, 2, "ok")
    assert row.access_expires_at == clock.now + LIFE
    await tokens.close()


async def test_two_processes_and_fifty_callers_make_one_refresh(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    fake: FakeZaloOAuth,
    clock: Clock,
) -> None:
    old = await connected(sessionmaker, fake, clock)
    other_engine = make_engine(database_url)
    one = manager(sessionmaker, settings, clock)
    two = manager(make_sessionmaker(other_engine), settings, clock)
    clock.now += LIFE - timedelta(minutes=5)
    fake.delay = 0.3  # both processes are surely waiting while the refresh is on the wire

    got = await asyncio.gather(
        *(one.access_token() for _ in range(50)), *(two.access_token() for _ in range(5))
    )

    assert fake.refreshes == 1
    [new] = set(got)
    assert new != old and new in fake.issued_access_tokens
    assert (await stored(sessionmaker)).version == 2
    await one.close()
    await two.close()
    await other_engine.dispose()


async def test_a_rejected_token_is_refreshed_once_for_everybody(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    fake: FakeZaloOAuth,
    clock: Clock,
) -> None:
    old = await connected(sessionmaker, fake, clock)
    other_engine = make_engine(database_url)
    one = manager(sessionmaker, settings, clock)
    two = manager(make_sessionmaker(other_engine), settings, clock)
    assert await two.access_token() == old

    new = await one.refresh_after_rejection(old)
    assert new != old
    # The other process was told -216 for the old token too: it takes the stored one.
    assert await two.refresh_after_rejection(old) == new
    assert fake.refreshes == 1
    await other_engine.dispose()


async def add_staff(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
    """An officer on Telegram and the OA, an admin on Zalo in English, a plain resident."""
    async with sessionmaker() as session, session.begin():
        people = [("telegram", "t-officer", "vi", "officer"), ("zalo", "z-admin", "en", "admin"),
                  ("telegram", "t-resident", "vi", None)]
        for channel, user, lang, role in people:
            resident = await residents.join(
                session, channel=channel, user_id=user, chat_id=user, group_code="01",
                lang=lang, consent_at=clock.now, consent_version="1",
            )
            if role:
                await roles.grant(session, resident_id=resident.id, role=role, group_code=None,
                                  granted_by="test", at=clock.now)
            if role == "officer":
                session.add(ChannelIdentity(channel="zalo_oa", user_id="oa-officer",
                                            chat_id="oa-officer", resident_id=resident.id))


async def test_a_reused_refresh_token_stops_the_oa_and_tells_the_officers_once(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    fake: FakeZaloOAuth,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await connected(sessionmaker, fake, clock)
    await add_staff(sessionmaker, clock)
    fake.spend_refresh_token((await stored(sessionmaker)).refresh_token)
    other_engine = make_engine(database_url)
    one = manager(sessionmaker, settings, clock)
    two = manager(make_sessionmaker(other_engine), settings, clock)
    clock.now += LIFE

    with caplog.at_level(logging.ERROR, logger="bot.channels.zalo_oa.tokens"):
        outcomes = await asyncio.gather(
            one.access_token(), two.access_token(), one.access_token(),
            return_exceptions=True,
        )
    assert all(isinstance(outcome, TokenUnavailable) for outcome in outcomes)
    assert fake.calls == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "thidua zalo-oa connect" in errors[0].getMessage()

    row = await stored(sessionmaker)
    assert row.status == "failed" and "-14014" in (row.last_error or "")
    async with sessionmaker() as session:
        queued = (await session.execute(select(OutboxMessage))).scalars().all()
    assert sorted((m.channel, m.chat_id) for m in queued) == [
        ("telegram", "t-officer"), ("zalo", "z-admin")
    ]
    texts = {m.chat_id: m.payload["text"] for m in queued}
    assert "Kết nối Zalo OA của phường đã dừng" in texts["t-officer"]
    assert "thidua zalo-oa connect" in texts["t-officer"]
    assert "connection has stopped" in texts["z-admin"]

    # Later calls fail at once, without asking Zalo or telling anyone again.
    for tokens in (one, two, manager(sessionmaker, settings, clock)):
        with pytest.raises(TokenUnavailable, match="thidua zalo-oa connect"):
            await tokens.access_token()
    assert fake.calls == 1
    async with sessionmaker() as session:
        assert len((await session.execute(select(OutboxMessage))).scalars().all()) == 2
    await other_engine.dispose()


async def test_zalo_down_never_marks_the_grant_failed(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    fake: FakeZaloOAuth,
    clock: Clock,
) -> None:
    old = await connected(sessionmaker, fake, clock)
    tokens = manager(sessionmaker, settings, clock)
    fake.fail_status = 503

    # Still valid: the refresh is postponed and the current token used meanwhile.
    clock.now += LIFE - timedelta(minutes=30)
    assert await tokens.access_token() == old
    assert await tokens.access_token() == old
    assert fake.calls == 1

    # Expired: a few tries, then a clear error, and nothing marked failed.
    clock.now += timedelta(minutes=30)
    with pytest.raises(TokenUnavailable, match="unreachable"):
        await tokens.access_token()
    assert fake.calls == 1 + 3
    row = await stored(sessionmaker)
    assert (row.status, row.version, row.refreshing_until) == ("ok", 1, None)

    # A hanging Zalo is a timeout, the same kind of problem.
    fake.fail_status = None
    fake.hang = True
    tokens.http_timeout = 0.2
    tokens.retry_delays = ()
    await tokens.close()
    with pytest.raises(TokenUnavailable):
        await tokens.access_token()
    assert (await stored(sessionmaker)).status == "ok"

    fake.hang = False
    new = await tokens.access_token()
    assert new != old and fake.refreshes == 1


async def test_a_refresher_that_died_holding_the_lease_is_taken_over(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    fake: FakeZaloOAuth,
    clock: Clock,
) -> None:
    old = await connected(sessionmaker, fake, clock)
    clock.now += LIFE - timedelta(minutes=5)
    async with sessionmaker() as session, session.begin():
        assert await repo.take_refresh_lease(
            session, oa_id=fake.oa_id, version=1, now=clock.now,
            until=clock.now + timedelta(seconds=60),
        )
    tokens = manager(sessionmaker, settings, clock)

    waiting = asyncio.create_task(tokens.access_token())
    await asyncio.sleep(0.3)
    assert not waiting.done() and fake.refreshes == 0  # the lease is still someone else's

    clock.now += timedelta(seconds=61)
    new = await asyncio.wait_for(waiting, 30)
    assert new != old and fake.refreshes == 1
    assert (await stored(sessionmaker)).version == 2
