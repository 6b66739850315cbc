"""The dispatcher's read and write of a chat (storage.repos.chats), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import event, select

from storage.models import ChatState
from storage.repos import chats, residents, roles

AT = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


async def stored(sessionmaker, chat_id: str = "c1") -> ChatState | None:
    async with sessionmaker() as session:
        return await session.get(ChatState, ("test", chat_id))


async def turn(sessionmaker, change=None, chat_id: str = "c1", user_id: str = "u1"):
    """One update's read, an optional change, the write; returns what was read."""
    async with sessionmaker() as session, session.begin():
        loaded = await chats.load_turn(session, "test", chat_id, user_id)
        if change is not None:
            change(loaded.state)
        await chats.save_turn(session, loaded)
    return loaded


async def test_a_new_chat_is_stored_with_its_first_change(sessionmaker) -> None:
    loaded = await turn(sessionmaker, lambda s: setattr(s, "flow", "join"))
    assert loaded.resident is None and loaded.grants == []
    row = await stored(sessionmaker)
    assert row is not None and (row.flow, row.seq, row.data, row.offered) == ("join", 0, {}, [])


async def test_changes_are_kept_even_when_made_inside_the_stored_json(sessionmaker) -> None:
    await turn(sessionmaker, lambda s: setattr(s, "data", {"_path": [["A", 0]]}))
    await turn(sessionmaker, lambda s: s.data["_path"].append(["B", 1]))
    row = await stored(sessionmaker)
    assert row is not None and row.data == {"_path": [["A", 0], ["B", 1]]}


async def test_an_unchanged_chat_is_not_written(sessionmaker, engine) -> None:
    await turn(sessionmaker, lambda s: setattr(s, "lang", "en"))
    written: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
            written.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        loaded = await turn(sessionmaker)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert loaded.state.lang == "en"
    assert written == []


async def test_a_chat_stored_meanwhile_by_another_worker_gets_the_last_write(
    sessionmaker,
) -> None:
    async with sessionmaker() as session, session.begin():
        loaded = await chats.load_turn(session, "test", "c1", "u1")
    async with sessionmaker() as session, session.begin():
        session.add(ChatState(channel="test", chat_id="c1", seq=0, data={}, offered=[]))
    async with sessionmaker() as session, session.begin():
        loaded.state.step = "GROUP"
        await chats.save_turn(session, loaded)
    row = await stored(sessionmaker)
    assert row is not None and row.step == "GROUP"
    async with sessionmaker() as session:
        assert len((await session.execute(select(ChatState))).all()) == 1


async def test_the_resident_and_every_grant_come_with_the_chat(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        resident = await residents.join(
            session, channel="test", user_id="u1", chat_id="c1", group_code="05",
            lang="vi", consent_at=AT, consent_version="2026-11",
        )
        for group in ("05", "07"):
            await roles.grant(session, resident_id=resident.id, role="leader",
                              group_code=group, granted_by="test", at=AT)
    loaded = await turn(sessionmaker)
    assert loaded.resident is not None and loaded.resident.id == resident.id
    assert sorted(loaded.grants) == [("leader", "05"), ("leader", "07")]
    other = await turn(sessionmaker, chat_id="c2", user_id="u2")
    assert other.resident is None and other.grants == []


async def test_a_second_worker_reads_the_chat_only_after_the_first_committed(
    sessionmaker,
) -> None:
    await turn(sessionmaker, lambda s: setattr(s, "step", "CONFIRM"))
    first_holds = asyncio.Event()
    second_read: list[str | None] = []

    async def second() -> None:
        await first_holds.wait()
        async with sessionmaker() as session, session.begin():
            second_read.append((await chats.load_turn(session, "test", "c1", "u1")).state.step)

    other = asyncio.create_task(second())
    async with sessionmaker() as session, session.begin():
        loaded = await chats.load_turn(session, "test", "c1", "u1")
        first_holds.set()
        await asyncio.sleep(0.2)  # the second is waiting now (its outcome is what counts)
        loaded.state.step = None
        await chats.save_turn(session, loaded)
    await other
    assert second_read == [None]
