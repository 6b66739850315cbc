"""Repository contracts, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from storage.models import ChatState
from storage.repos import chats, residents, updates, webchat


async def test_record_once_is_true_only_the_first_time(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        assert await updates.record_once(session, "telegram", "1001") is True
        assert await updates.record_once(session, "telegram", "1001") is False
        assert await updates.record_once(session, "zalo", "1001") is True


async def test_concurrent_duplicates_are_recorded_once(sessionmaker) -> None:
    async def attempt() -> bool:
        async with sessionmaker() as session, session.begin():
            return await updates.record_once(session, "webchat", "same-update")

    results = await asyncio.gather(*(attempt() for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]


async def test_chat_state_survives_a_new_session(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        state = await chats.load(session, "telegram", "42")
        state.flow, state.step, state.seq = "onboarding", "GROUP", 3
        state.data = {"consent_at": "2026-11-24T03:00:00+00:00", "_path": ["CONSENT"]}
        state.offered = [["Tổ dân phố 1", "s3:01"]]
    async with sessionmaker() as session:
        state = await session.get(ChatState, ("telegram", "42"))
    assert (state.flow, state.step, state.seq) == ("onboarding", "GROUP", 3)
    assert state.data["_path"] == ["CONSENT"]
    assert state.offered == [["Tổ dân phố 1", "s3:01"]]


async def test_join_links_identity_and_keeps_aware_times(sessionmaker) -> None:
    consent = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    async with sessionmaker() as session, session.begin():
        await residents.join(
            session,
            channel="telegram",
            user_id="7",
            chat_id="7",
            group_code="05",
            lang="vi",
            consent_at=consent,
            consent_version="2026-11",
        )
    async with sessionmaker() as session:
        found = await residents.by_identity(session, "telegram", "7")
        assert found is not None and found.group_code == "05"
        assert found.consent_at == consent and found.consent_at.tzinfo is not None
        assert await residents.by_identity(session, "zalo", "7") is None


async def test_one_channel_account_belongs_to_one_resident(sessionmaker) -> None:
    kwargs = dict(
        channel="telegram",
        user_id="9",
        chat_id="9",
        group_code="01",
        lang="vi",
        consent_at=datetime.now(UTC),
        consent_version="2026-11",
    )
    async with sessionmaker() as session, session.begin():
        await residents.join(session, **kwargs)
    with pytest.raises(IntegrityError):
        async with sessionmaker() as session, session.begin():
            await residents.join(session, **kwargs)


async def test_deleting_a_resident_removes_their_accounts(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        resident = await residents.join(
            session,
            channel="webchat",
            user_id="w",
            chat_id="w",
            group_code="02",
            lang="vi",
            consent_at=datetime.now(UTC),
            consent_version="2026-11",
        )
    async with sessionmaker() as session, session.begin():
        await residents.delete_resident(session, resident.id)
    async with sessionmaker() as session:
        assert await residents.by_identity(session, "webchat", "w") is None
        assert await residents.identities(session, resident.id) == []


async def test_webchat_inbox_in_order(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        first = await webchat.push(session, "browser", {"text": "một"})
        await webchat.push(session, "browser", {"text": "hai"})
        await webchat.push(session, "other", {"text": "không phải của bạn"})
    async with sessionmaker() as session:
        rows = await webchat.since(session, "browser", 0)
        assert [r.payload["text"] for r in rows] == ["một", "hai"]
        assert [r.payload["text"] for r in await webchat.since(session, "browser", first)] == [
            "hai"
        ]
