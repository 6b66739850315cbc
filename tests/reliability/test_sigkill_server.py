"""SIGKILL `thidua serve` while residents join and register households over the webhook.

Thirty residents talk to the server at once. Part-way through it is killed with
SIGKILL (no shutdown hook runs) and started again on the same SQLite file; the updates
that were in flight are sent again, as Telegram retries them. Every update the server
had answered 200 must be in the database, with what it did: a resident for each join,
a household for each confirmed registration, each exactly once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from storage import make_engine, make_sessionmaker
from storage.models import ChannelIdentity, ProcessedUpdate
from storage.models.households import Household
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.reliability.servers import Answered, Resident, ServerProcess

RESIDENTS = 30
STEPS = 11  # join (3) and register a household (8)
JOINED_AT, CONFIRMED_AT = 2, 10  # the steps after which the rows exist


async def database_view(url: str) -> tuple[set[str], set[str], dict[str, int]]:
    """Processed update ids, chats with a resident, households per registering chat."""
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session:
        updates = set((await session.execute(
            select(ProcessedUpdate.update_id).where(ProcessedUpdate.channel == "telegram")
        )).scalars())
        joined = set((await session.execute(
            select(ChannelIdentity.chat_id).where(ChannelIdentity.channel == "telegram")
        )).scalars())
        per_chat = dict((await session.execute(
            select(ChannelIdentity.chat_id, func.count(Household.id))
            .join(Household, Household.registered_by_resident_id == ChannelIdentity.resident_id)
            .group_by(ChannelIdentity.chat_id)
        )).all())
    await engine.dispose()
    return updates, joined, per_chat


def check(answered: list[Answered], updates: set[str], joined: set[str],
          households: dict[str, int]) -> None:
    missing = [a for a in answered if str(a.update_id) not in updates]
    assert not missing, f"answered 200 but not in processed_updates: {missing[:5]}"
    for chat in {a.chat for a in answered if a.step >= JOINED_AT}:
        assert str(chat) in joined, f"chat {chat} was told it joined, but no resident"
    for chat in {a.chat for a in answered if a.step >= CONFIRMED_AT}:
        assert households.get(str(chat)) == 1, f"chat {chat}: {households.get(str(chat))}"
    assert all(count == 1 for count in households.values()), households


@pytest.mark.slow
async def test_every_answered_update_survives_a_sigkill(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/thidua.db"
    async with FakeTelegramAPI() as api, aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=20)) as session:
        server = ServerProcess(tmp_path, url, api)
        await server.start()
        residents = [Resident(5_000_000 + n, api) for n in range(RESIDENTS)]
        answered: list[Answered] = []
        load = [asyncio.create_task(r.play(session, server.webhook, answered))
                for r in residents]
        while len(answered) < RESIDENTS * STEPS * 0.4:
            await asyncio.sleep(0.01)
        await server.kill()
        await asyncio.gather(*load)
        at_kill = len(answered)
        cut_off = sum(r.in_flight is not None for r in residents)
        assert cut_off > 0, "the kill landed mid-load"
        check(answered, *await database_view(url))  # before anything else touches the file

        await server.start()
        await asyncio.gather(*(r.play(session, server.webhook, answered) for r in residents))
        await server.stop()
    assert len(answered) > at_kill
    updates, joined, households = await database_view(url)
    check(answered, updates, joined, households)
    # A retried update that had been committed before the kill gets no second answer, so
    # only its resident may be left waiting; everyone else finished.
    finished = sum(r.position == STEPS for r in residents)
    assert finished >= RESIDENTS - cut_off, (finished, cut_off)
    assert "Traceback" not in server.logs(), server.logs()[-3000:]
