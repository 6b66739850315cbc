"""Reminder rules fired by APScheduler, once per fire however many instances run.

`fire_rule` is the whole of a fire and takes its time as an argument, so tests drive it
with a controllable clock. It claims the fire by inserting (rule, fire time) into
reminder_fires; the instance that loses that race stops there. The winner queues one
outbox row per recipient chat, keyed by rule, fire time and chat, with `not_before`
moved out of quiet hours (21:00-07:00 local) to the next 07:00.

`ReminderScheduler` is the APScheduler wiring: one job per active rule, re-read from the
database every minute so rules added, paused or deleted anywhere are picked up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.normalize import LOCAL_TZ
from bot.ward import WardConfig
from handlers import reminder_rules as rules
from handlers import reminder_service as service
from storage.models.reminders import ACTIVE, ReminderRule
from storage.repos import reminders

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
GRACE = timedelta(minutes=10)
SYNC_ID = "reminders:sync"


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def fire_rule(
    sessionmaker: async_sessionmaker[AsyncSession],
    rule_id: int,
    fire_time: datetime,
    ward: WardConfig,
    *,
    clock: Clock = _utcnow,
) -> int | None:
    """Queue this fire's reminders; how many, or None if paused, gone or fired elsewhere."""
    now = clock()
    fire_time = fire_time.astimezone(UTC).replace(microsecond=0)
    async with sessionmaker() as session, session.begin():
        rule = await reminders.get(session, rule_id)
        if rule is None or rule.status != ACTIVE:
            return None
        fire_id = await reminders.record_fire(session, rule_id, fire_time, now)
        if fire_id is None:
            logger.info("reminder %s at %s was fired by another instance", rule_id, fire_time)
            return None
        people = await service.recipients_for(
            session, ward, audience=rule.audience, groups=rule.groups, at=fire_time
        )
        not_before = rules.deliverable_at(max(fire_time, now))
        rows = service.outbox_rows(ward, rule, fire_time, people, not_before)
        queued = await reminders.enqueue(session, rows, at=now)
        await reminders.finish_fire(session, fire_id, rule_id, fire_time, queued)
    logger.info("reminder %s (%s) at %s: %d queued", rule_id, rule.name, fire_time, queued)
    return queued


async def seed_ward_rules(
    sessionmaker: async_sessionmaker[AsyncSession], ward: WardConfig, clock: Clock = _utcnow
) -> int:
    """Add the ward file's default rules that are not in the database yet (by name)."""
    async with sessionmaker() as session, session.begin():
        added = await service.seed_ward_rules(session, ward, clock())
    if added:
        logger.info("added %d default reminder rule(s) from the ward file", added)
    return added


def due_fire_time(trigger: BaseTrigger, now: datetime, lookback: timedelta) -> datetime | None:
    """The latest time `trigger` fires at or before `now`, within `lookback`.

    APScheduler does not hand a job its scheduled time; every instance works it out the
    same way, so the outbox keys agree.
    """
    latest = None
    moment = trigger.get_next_fire_time(None, now - lookback)
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(microseconds=1))
    return latest


class ReminderScheduler:
    """APScheduler jobs for the active rules, kept in step with the database."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        ward: WardConfig,
        clock: Clock = _utcnow,
        *,
        sync_every: float = 60.0,
        trigger_for: Callable[[ReminderRule], BaseTrigger] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.ward = ward
        self.clock = clock
        self.sync_every = sync_every
        self.trigger_for = trigger_for or (lambda rule: rules.trigger(rule.cron))
        self._scheduler: AsyncIOScheduler | None = None
        self._jobs: dict[int, tuple[str, BaseTrigger]] = {}
        self._running: set[asyncio.Task[int | None]] = set()

    @property
    def scheduled(self) -> list[int]:
        """Ids of the rules that have a job right now."""
        return sorted(self._jobs)

    async def start(self) -> None:
        """Add the ward's default rules, schedule the active ones, re-read every minute."""
        await seed_ward_rules(self.sessionmaker, self.ward, self.clock)
        self._scheduler = AsyncIOScheduler(
            timezone=LOCAL_TZ,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(GRACE.total_seconds()),
            },
        )
        self._scheduler.start()
        await self.sync()
        self._scheduler.add_job(
            self.sync, IntervalTrigger(seconds=self.sync_every, timezone=LOCAL_TZ), id=SYNC_ID
        )

    async def shutdown(self) -> None:
        """Stop scheduling; a fire already under way is allowed to finish."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._running:
            await asyncio.wait(self._running, timeout=30)
        self._jobs.clear()

    async def sync(self) -> None:
        """Add, change or drop jobs so they match the active rules in the database."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        async with self.sessionmaker() as session:
            active = {rule.id: rule for rule in await reminders.active(session)}
        for rule_id, (cron, _) in list(self._jobs.items()):
            if rule_id not in active or active[rule_id].cron != cron:
                del self._jobs[rule_id]
                try:
                    scheduler.remove_job(_job_id(rule_id))
                except JobLookupError:
                    pass  # its trigger had no more fire times
        now = self.clock()
        for rule in active.values():
            if rule.id not in self._jobs:
                self._schedule(scheduler, rule, now)

    def _schedule(self, scheduler: AsyncIOScheduler, rule: ReminderRule, now: datetime) -> None:
        trigger = self.trigger_for(rule)
        # A rule saved a moment before its time, or a fire missed by a restart a moment
        # ago, still fires; a fire skipped while a rule was paused long ago does not.
        since = [rule.created_at, now - 2 * timedelta(seconds=self.sync_every)]
        if rule.last_fired_at is not None:
            since.append(rule.last_fired_at + timedelta(seconds=1))
        first = trigger.get_next_fire_time(None, max(since))
        if first is None:
            return
        scheduler.add_job(
            self._fire, trigger, args=(rule.id,), id=_job_id(rule.id), next_run_time=first
        )
        self._jobs[rule.id] = (rule.cron, trigger)

    async def _fire(self, rule_id: int) -> int | None:
        scheduled = self._jobs.get(rule_id)
        if scheduled is None:
            return None
        fire_time = due_fire_time(scheduled[1], self.clock(), GRACE)
        if fire_time is None:
            return None
        task = asyncio.ensure_future(
            fire_rule(self.sessionmaker, rule_id, fire_time, self.ward, clock=self.clock)
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        # Shielded so that shutting the scheduler down does not cut a fire in half.
        return await asyncio.shield(task)


def _job_id(rule_id: int) -> str:
    return f"reminder:{rule_id}"
