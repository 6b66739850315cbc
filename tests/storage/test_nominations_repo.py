"""The nominations repository, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.models.nominations import Nomination, NominationEvent
from storage.repos import nominations, residents

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


async def make_resident(session, user_id: str = "1") -> int:
    resident = await residents.join(
        session,
        channel="telegram",
        user_id=user_id,
        chat_id=user_id,
        group_code="05",
        lang="vi",
        consent_at=NOW,
        consent_version="2026-11",
    )
    return resident.id


async def make_nomination(session, resident_id: int, name: str = "Nguyễn Thị Hoa",
                          now: datetime = NOW) -> Nomination:
    return await nominations.create(
        session,
        nominator_resident_id=resident_id,
        kind="individual",
        nominee_name=name,
        group_code="05",
        field_code="kinh-te",
        description="Bác Hoa quét dọn ngõ 12 mỗi sáng thứ bảy.",
        photo_channel=None,
        photo_ref=None,
        year=2026,
        now=now,
    )


async def test_create_gives_a_code_from_the_id_and_a_first_event(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        resident_id = await make_resident(session)
        first = await make_nomination(session, resident_id)
        second = await make_nomination(session, resident_id, "Lê Văn Nam")
    assert first.code == f"ND-2026-{first.id:04d}"
    assert second.code == f"ND-2026-{second.id:04d}" != first.code
    async with sessionmaker() as session:
        found = await nominations.by_code(session, first.code.lower())
        events = await nominations.history(session, first.id)
    assert found is not None and found.nominee_name == "Nguyễn Thị Hoa"
    assert found.created_at == NOW and found.status == "submitted"
    assert [(e.status, e.actor_resident_id, e.at) for e in events] == [
        ("submitted", resident_id, NOW)
    ]


async def test_codes_are_unique(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        resident_id = await make_resident(session)
        first = await make_nomination(session, resident_id)
    with pytest.raises(IntegrityError):
        async with sessionmaker() as session, session.begin():
            other = await make_nomination(session, resident_id)
            other.code = first.code
            await session.flush()


async def test_for_resident_lists_own_newest_first(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        me, neighbour = await make_resident(session, "1"), await make_resident(session, "2")
        older = await make_nomination(session, me, "A Một")
        newer = await make_nomination(session, me, "B Hai", now=NOW + timedelta(days=1))
        await make_nomination(session, neighbour, "C Ba")
    async with sessionmaker() as session:
        mine = await nominations.for_resident(session, me)
    assert [n.id for n in mine] == [newer.id, older.id]


async def test_forget_resident_deletes_unreviewed_and_detaches_the_rest(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        me, officer = await make_resident(session, "1"), await make_resident(session, "2")
        fresh = await make_nomination(session, me, "A Một")
        reviewed = await make_nomination(session, me, "B Hai")
        await nominations.set_status(session, reviewed, "approved", reason=None,
                                     actor_resident_id=officer, now=NOW)
        kept = await make_nomination(session, officer, "C Ba")
    async with sessionmaker() as session, session.begin():
        assert await nominations.forget_resident(session, me) == (1, 1)
    async with sessionmaker() as session:
        assert await nominations.get(session, fresh.id) is None
        detached = await nominations.get(session, reviewed.id)
        assert detached is not None and detached.nominator_resident_id is None
        assert detached.status == "approved"
        assert await nominations.for_resident(session, me) == []
        assert [n.id for n in await nominations.for_resident(session, officer)] == [kept.id]
        orphans = await session.execute(
            select(func.count()).select_from(NominationEvent)
            .where(NominationEvent.nomination_id == fresh.id)
        )
        assert orphans.scalar_one() == 0
        history = await nominations.history(session, reviewed.id)
    assert [e.status for e in history] == ["submitted", "approved"]
    assert history[0].actor_resident_id is None  # the forgotten nominator's own event
    assert history[1].actor_resident_id == officer


async def test_deleting_a_resident_keeps_their_nominations_without_them(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        me = await make_resident(session)
        nomination = await make_nomination(session, me)
    async with sessionmaker() as session, session.begin():
        await residents.delete_resident(session, me)
    async with sessionmaker() as session:
        left = await nominations.get(session, nomination.id)
        assert await nominations.nominator_lang(session, left) is None
    assert left is not None and left.nominator_resident_id is None
