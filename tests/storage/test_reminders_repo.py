"""The reminders repository on every backend: names, fires claimed once, bulk queueing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.models.reminders import ReminderRule
from storage.repos import outbox, reminders

AT = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


async def add(session, name: str, **fields) -> ReminderRule | None:
    values = {"cron": "0 9 1 * *", "audience": "reminders", "groups": None,
              "message": "Chào {ten}!", "deadline": None, "created_by": "test", "at": AT,
              **fields}
    return await reminders.add(session, name=name, **values)


async def test_names_are_unique_and_found_without_diacritics(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        first = await add(session, "Nhắc khảo sát", groups=["01", "05"])
        assert first is not None and first.groups == ["01", "05"]
        assert await add(session, "Nhắc khảo sát") is None
        assert (await reminders.by_name(session, "NHAC KHAO SAT")).id == first.id
        paused = await add(session, "Nhắc tuần")
        gone = await add(session, "Nhắc cũ")
        await reminders.set_status(session, paused, "paused")
        await reminders.set_status(session, gone, "deleted")
    async with sessionmaker() as session:
        assert [r.name for r in await reminders.live(session)] == ["Nhắc khảo sát", "Nhắc tuần"]
        assert [r.name for r in await reminders.active(session)] == ["Nhắc khảo sát"]
        assert (await reminders.by_name(session, "nhac cu")).status == "deleted"


async def test_a_fire_is_claimed_once(sessionmaker) -> None:
    fire_time = AT + timedelta(days=7)
    async with sessionmaker() as session, session.begin():
        rule = await add(session, "Nhắc")
        fire_id = await reminders.record_fire(session, rule.id, fire_time, AT)
        assert fire_id is not None
        assert await reminders.record_fire(session, rule.id, fire_time, AT) is None
        assert await reminders.record_fire(session, rule.id, fire_time + timedelta(days=1), AT)
        await reminders.finish_fire(session, fire_id, rule.id, fire_time, 42)
    async with sessionmaker() as session:
        fires = await reminders.fires(session, rule.id)
        latest = await reminders.last_fires(session)
        again = await reminders.get(session, rule.id)
    assert [(f.fire_time, f.recipients) for f in fires] == [
        (fire_time, 42), (fire_time + timedelta(days=1), 0)
    ]
    assert latest[rule.id].fire_time == fire_time + timedelta(days=1)
    assert again.last_fired_at == fire_time


async def test_bulk_queueing_is_idempotent_by_key(sessionmaker) -> None:
    messages = [
        {"key": f"reminder:1:t:test:{n}", "kind": "reminder", "channel": "test",
         "chat_id": str(n), "payload": {"text": "Chào bạn!", "buttons": []}, "not_before": AT}
        for n in range(250)
    ]
    async with sessionmaker() as session, session.begin():
        assert await reminders.enqueue(session, messages, at=AT) == 250
    async with sessionmaker() as session, session.begin():
        assert await reminders.enqueue(session, messages[200:] + [
            {**messages[0], "key": "reminder:1:t:test:new"}
        ], at=AT) == 1
    async with sessionmaker() as session:
        assert await outbox.count_by_status(session, kind="reminder") == {"pending": 251}
        [waiting] = await outbox.pending_for_chat(session, "test", "7")
    assert waiting.not_before == AT and waiting.payload["text"] == "Chào bạn!"
