"""Reminders fired by the scheduler: fire times, quiet hours, opt-out, audiences,
placeholders, and one message per recipient however many instances fire."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select

from bot.normalize import LOCAL_TZ
from bot.scheduler import ReminderScheduler, due_fire_time, fire_rule, seed_ward_rules
from bot.settings import DEFAULT_WARD_CONFIG
from bot.ward import WardConfigError, load_ward_config
from handlers import reminder_rules as rules
from storage import make_engine, make_sessionmaker
from storage.models import OutboxMessage
from storage.models.reminders import ReminderFire, ReminderRule
from storage.models.roles import AuditEntry
from storage.repos import households, residents, roles, surveys


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


async def add_rule(sessionmaker, **fields) -> int:
    values = {"name": "Nhắc thử", "cron": "0 9 1 * *", "message": "Chào {ten}!",
              "created_by": "test", **fields}
    async with sessionmaker() as session, session.begin():
        rule = ReminderRule(**values)
        session.add(rule)
    return rule.id


async def queued(sessionmaker) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def texts_by_chat(sessionmaker) -> dict[str, str]:
    return {row.chat_id: row.payload["text"] for row in await queued(sessionmaker)}


async def resident_id(sessionmaker, chat) -> int:
    async with sessionmaker() as session:
        found = await roles.resident_by_account(session, chat.channel, chat.user_id)
    assert found is not None
    return found


async def joined(make_chat, *people: tuple[str, str]):
    chats = []
    for user, group in people:
        chat = make_chat(user)
        await chat.join(group)
        chats.append(chat)
    return chats


# When rules fire


def test_fire_times_of_a_monthly_and_a_weekly_rule() -> None:
    after = local(2026, 11, 24, 10)
    assert [rules.when(t) for t in rules.next_fires("0 9 1 * *", after)] == [
        "01/12/2026 09:00", "01/01/2027 09:00", "01/02/2027 09:00"
    ]
    assert [rules.when(t) for t in rules.next_fires("0 8 * * 1", after)] == [
        "30/11/2026 08:00", "07/12/2026 08:00", "14/12/2026 08:00"
    ]
    # 0 and 7 are Sunday, as in crontab (APScheduler 3 alone would read 0 as Monday).
    assert rules.next_fires("0 7 * * 0", after, 1) == rules.next_fires("0 7 * * 7", after, 1)
    assert rules.when(rules.next_fires("0 7 * * 0", after, 1)[0]) == "29/11/2026 07:00"
    assert rules.describe("0 9 1 * *", "vi") == "9:00 ngày 1 hằng tháng"
    assert rules.describe("0 8 * * 1", "vi") == "8:00 thứ Hai hằng tuần"
    assert rules.describe("0 19 * * *", "vi") == "19:00 hằng ngày"
    assert rules.describe("*/15 9-17 * * 1-5", "vi") == "theo lịch cron “*/15 9-17 * * 1-5”"


def test_a_job_works_out_the_fire_time_it_was_scheduled_for() -> None:
    monthly = rules.trigger("0 9 1 * *")
    late = local(2026, 12, 1, 9, 0) + timedelta(seconds=3)
    assert due_fire_time(monthly, late, timedelta(minutes=10)) == local(2026, 12, 1, 9)
    assert due_fire_time(monthly, local(2026, 12, 1, 10), timedelta(minutes=10)) is None


@pytest.mark.parametrize(
    ("fired", "delivered"),
    [
        (local(2026, 11, 24, 22, 30), local(2026, 11, 25, 7)),
        (local(2026, 11, 25, 6, 0), local(2026, 11, 25, 7)),
        (local(2026, 11, 24, 20, 59), local(2026, 11, 24, 20, 59)),
    ],
)
async def test_quiet_hours_hold_reminders_until_seven(
    make_chat, sessionmaker, ward, clock, fired, delivered
):
    await joined(make_chat, ("a", "Tổ dân phố 5"))
    rule_id = await add_rule(sessionmaker, cron="30 22 * * *")
    clock.now = fired.astimezone(UTC)
    assert await fire_rule(sessionmaker, rule_id, fired, ward, clock=clock) == 1
    [row] = await queued(sessionmaker)
    assert row.not_before == delivered.astimezone(UTC)
    assert row.kind == "reminder"
    assert row.key == f"reminder:{rule_id}:{fired.astimezone(UTC).isoformat()}:test:a"


# Who gets them, and what they read


async def test_residents_who_stopped_reminders_get_none_until_they_restart(
    make_chat, sessionmaker, ward, clock
):
    stays, stops = await joined(make_chat, ("stays", "Tổ dân phố 5"), ("stops", "Tổ dân phố 5"))
    await stops.say("/tatnhac")
    rule_id = await add_rule(sessionmaker, audience="unregistered")
    first = local(2026, 12, 1, 9)
    await fire_rule(sessionmaker, rule_id, first, ward, clock=clock)
    assert set(await texts_by_chat(sessionmaker)) == {"stays"}
    await stops.say("/batnhac")
    await fire_rule(sessionmaker, rule_id, first + timedelta(days=31), ward, clock=clock)
    assert [row.chat_id for row in await queued(sessionmaker)] == ["stays", "stays", "stops"]


async def test_audiences_groups_and_blocked_chats(make_chat, sessionmaker, ward, clock):
    registered, answered, other_group, blocked = await joined(
        make_chat,
        ("registered", "Tổ dân phố 5"),
        ("answered", "Tổ dân phố 5"),
        ("other", "Tổ dân phố 7"),
        ("blocked", "Tổ dân phố 5"),
    )
    await register_household(sessionmaker, registered, "Trần Thị Bình", clock)
    answerer = await resident_id(sessionmaker, answered)
    async with sessionmaker() as session, session.begin():
        survey = await surveys.ensure_ward_survey(session, ward.survey, clock.now)
        await surveys.save_response(
            session, survey_id=survey.id, resident_id=answerer,
            group_code="05", answers={"q1": 5}, started_at=clock.now, now=clock.now,
        )
        await residents.mark_unreachable(session, "test", "blocked", clock.now)
    fire_time = local(2026, 12, 1, 9)

    async def reached(**rule) -> set[str]:
        rule_id = await add_rule(sessionmaker, name=f"Nhắc {len(reached.seen)}", **rule)
        reached.seen.append(rule_id)
        await fire_rule(sessionmaker, rule_id, fire_time, ward, clock=clock)
        return {row.chat_id for row in await queued(sessionmaker)
                if row.key.startswith(f"reminder:{rule_id}:")}

    reached.seen = []
    assert await reached() == {"registered", "answered", "other"}
    assert await reached(audience="unregistered") == {"answered", "other"}
    assert await reached(audience="no_survey") == {"registered", "other"}
    assert await reached(audience="campaign:phan-loai-rac") == {"registered"}
    assert await reached(audience="campaign:ngoi-nha-xanh") == set()
    assert await reached(groups=["07"]) == {"other"}
    assert await reached(audience="no_survey", groups=["05"]) == {"registered"}


async def test_placeholders_are_filled_for_each_resident(make_chat, sessionmaker, ward, clock):
    head, anyone = await joined(make_chat, ("head", "Tổ dân phố 5"), ("anyone", "Tổ dân phố 12"))
    await register_household(sessionmaker, head, "Nguyễn Văn An", clock)
    rule_id = await add_rule(
        sessionmaker, message="Chào {ten}! {to} nhắc bạn hoàn thành trước {han}.",
        deadline=local(2026, 12, 31).date(),
    )
    await fire_rule(sessionmaker, rule_id, local(2026, 12, 1, 9), ward, clock=clock)
    assert await texts_by_chat(sessionmaker) == {
        "head": "Chào Nguyễn Văn An! Tổ dân phố 5 nhắc bạn hoàn thành trước 31/12/2026.",
        "anyone": "Chào bạn! Tổ dân phố 12 nhắc bạn hoàn thành trước 31/12/2026.",
    }


async def test_paused_and_deleted_rules_do_not_fire(make_chat, sessionmaker, ward, clock):
    await joined(make_chat, ("a", "Tổ dân phố 5"))
    paused = await add_rule(sessionmaker, name="Tạm dừng", status="paused")
    deleted = await add_rule(sessionmaker, name="Đã xoá", status="deleted")
    for rule_id in (paused, deleted, 999):
        assert await fire_rule(sessionmaker, rule_id, local(2026, 12, 1, 9), ward) is None
    assert await queued(sessionmaker) == []


# Once per fire, however many instances


async def test_the_same_fire_twice_queues_once(make_chat, sessionmaker, ward, clock):
    await joined(make_chat, ("a", "Tổ dân phố 5"), ("b", "Tổ dân phố 6"))
    rule_id = await add_rule(sessionmaker)
    fire_time = local(2026, 12, 1, 9)
    assert await fire_rule(sessionmaker, rule_id, fire_time, ward, clock=clock) == 2
    assert await fire_rule(sessionmaker, rule_id, fire_time, ward, clock=clock) is None
    assert len(await queued(sessionmaker)) == 2
    async with sessionmaker() as session:
        [fire] = (await session.scalars(select(ReminderFire))).all()
        rule = await session.get(ReminderRule, rule_id)
    assert (fire.recipients, fire.fire_time) == (2, fire_time.astimezone(UTC))
    assert rule.last_fired_at == fire_time.astimezone(UTC)


async def test_two_instances_on_one_database_fire_once(
    make_chat, sessionmaker, database_url, ward, clock
):
    people = [(f"p{n}", f"Tổ dân phố {n % 23 + 1}") for n in range(12)]
    await joined(make_chat, *people)
    rule_id = await add_rule(sessionmaker)
    other = make_engine(database_url)
    try:
        results = await asyncio.gather(
            *(
                fire_rule(maker, rule_id, local(2026, 12, 1, 9), ward, clock=clock)
                for maker in (sessionmaker, make_sessionmaker(other))
            )
        )
    finally:
        await other.dispose()
    assert sorted(results, key=str) == [12, None]
    rows = await queued(sessionmaker)
    assert sorted(row.chat_id for row in rows) == sorted(user for user, _ in people)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ReminderFire)) == 1


# The APScheduler wiring


def every_second(rule: ReminderRule) -> CronTrigger:
    return CronTrigger(second="*", timezone=LOCAL_TZ)


async def wait_for(condition, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "the scheduler did not fire in time"
        await asyncio.sleep(0.05)


async def fire_rows(sessionmaker) -> list[ReminderFire]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(ReminderFire).order_by(ReminderFire.fire_time)))


async def test_the_scheduler_fires_a_rule_that_falls_due(make_chat, sessionmaker, ward):
    await joined(make_chat, ("a", "Tổ dân phố 5"))
    quiet_ward = ward.model_copy(update={"reminders": ()})
    scheduler = ReminderScheduler(sessionmaker, quiet_ward, trigger_for=every_second,
                                  sync_every=0.2)
    await scheduler.start()
    try:
        assert scheduler.scheduled == []
        rule_id = await add_rule(sessionmaker, created_at=datetime.now(UTC))

        async def fired() -> bool:
            return bool(await fire_rows(sessionmaker))

        await wait_for(fired)
        assert scheduler.scheduled == [rule_id]
        async with sessionmaker() as session, session.begin():
            (await session.get(ReminderRule, rule_id)).status = "paused"
        await scheduler.sync()
        assert scheduler.scheduled == []
    finally:
        await scheduler.shutdown()
    [first, *_] = await fire_rows(sessionmaker)
    assert first.recipients == 1
    assert first.fire_time.microsecond == 0
    assert (await queued(sessionmaker))[0].key.startswith(
        f"reminder:{rule_id}:{first.fire_time.isoformat()}:test:a"
    )


async def test_two_schedulers_on_one_database_send_once_per_fire(
    make_chat, sessionmaker, database_url, ward
):
    await joined(make_chat, ("a", "Tổ dân phố 5"), ("b", "Tổ dân phố 9"))
    rule_id = await add_rule(sessionmaker, created_at=datetime.now(UTC))
    quiet_ward = ward.model_copy(update={"reminders": ()})
    other = make_engine(database_url)
    schedulers = [
        ReminderScheduler(maker, quiet_ward, trigger_for=every_second)
        for maker in (sessionmaker, make_sessionmaker(other))
    ]
    try:
        for scheduler in schedulers:
            await scheduler.start()

        async def fired_twice() -> bool:
            return len(await fire_rows(sessionmaker)) >= 2

        await wait_for(fired_twice)
    finally:
        for scheduler in schedulers:
            await scheduler.shutdown()
        await other.dispose()
    fires = await fire_rows(sessionmaker)
    rows = await queued(sessionmaker)
    assert len({fire.fire_time for fire in fires}) == len(fires)
    assert len(rows) == 2 * len(fires) == sum(fire.recipients for fire in fires)
    assert len({row.key for row in rows}) == len(rows)
    assert all(row.key.startswith(f"reminder:{rule_id}:") for row in rows)


# Default rules from the ward file


async def test_the_ward_files_rules_are_added_once_and_stay_deleted(sessionmaker, ward, clock):
    assert [spec.name for spec in ward.reminders] == ["Nhắc trả lời khảo sát hằng tháng"]
    assert await seed_ward_rules(sessionmaker, ward, clock) == 1
    assert await seed_ward_rules(sessionmaker, ward, clock) == 0
    async with sessionmaker() as session, session.begin():
        [rule] = (await session.scalars(select(ReminderRule))).all()
        assert (rule.cron, rule.audience, rule.created_by) == ("0 9 1 * *", "no_survey", "ward")
        rule.status = "deleted"
    assert await seed_ward_rules(sessionmaker, ward, clock) == 0
    async with sessionmaker() as session:
        [entry] = (await session.scalars(select(AuditEntry))).all()
    assert (entry.actor, entry.action) == ("ward", "reminder_added")


@pytest.mark.parametrize(
    ("lines", "offset", "where"),
    [
        ('cron = "9h sáng"', 0, "key reminders[1]: cron '9h sáng' is not a 5-field crontab"),
        ('message = "Chào {ho_ten}!"', 0, "key reminders[1]: message: {ho_ten} is not one of"),
        ('audience = "campaign"\ncampaign = "khong-co"', 5, "key reminders[1].campaign: no "),
        ('groups = ["99"]', 4, "key reminders[1].groups: no residential group has the code"),
    ],
)
def test_a_bad_default_rule_in_the_ward_file_names_its_line(tmp_path, lines, offset, where):
    text = DEFAULT_WARD_CONFIG.read_text(encoding="utf-8")
    start = text.index("[[reminders]]")
    fields = {"cron": '"0 9 1 * *"', "message": '"Chào {tên}!"'}
    for line in lines.splitlines():
        key, _, value = line.partition(" = ")
        fields[key] = value
    rule = "\n".join(f"{key} = {value}" for key, value in fields.items())
    path = tmp_path / "ward.toml"
    path.write_text(text[:start] + f'[[reminders]]\nname = "Nhắc sai"\n{rule}\n', "utf-8")
    with pytest.raises(WardConfigError) as problem:
        load_ward_config(path)
    assert f"line {text[:start].count(chr(10)) + 1 + offset}, {where}" in str(problem.value)


async def register_household(sessionmaker, chat, head: str, clock) -> None:
    async with sessionmaker() as session, session.begin():
        await households.register(
            session,
            households.HouseholdDetails("05", head, f"Số {len(head)} Lê Lợi", "+84912345678", 4),
            household_id=None,
            resident_id=await roles.resident_by_account(session, chat.channel, chat.user_id),
            consent_at=clock.now,
            year=2026,
            campaigns=["phan-loai-rac"],
            at=clock.now,
        )
