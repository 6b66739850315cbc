"""Reminder rules, their fires, who stopped reminders, and queueing reminders in bulk."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.normalize import fold
from storage.models import OutboxMessage, Resident
from storage.models.households import Household
from storage.models.reminders import ACTIVE, DELETED, ReminderFire, ReminderRule

_CHUNK = 100  # rows per INSERT: 9 columns each stays under SQLite's 999 parameters


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    dialect = session.bind.dialect.name if session.bind else ""
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def live(session: AsyncSession) -> list[ReminderRule]:
    """Every rule not deleted, oldest first."""
    stmt = select(ReminderRule).where(ReminderRule.status != DELETED).order_by(ReminderRule.id)
    return list((await session.execute(stmt)).scalars())


async def active(session: AsyncSession) -> list[ReminderRule]:
    """The rules that fire."""
    stmt = select(ReminderRule).where(ReminderRule.status == ACTIVE).order_by(ReminderRule.id)
    return list((await session.execute(stmt)).scalars())


async def get(session: AsyncSession, rule_id: int) -> ReminderRule | None:
    """The rule with this id (deleted ones too)."""
    return await session.get(ReminderRule, rule_id)


async def by_name(session: AsyncSession, name: str) -> ReminderRule | None:
    """The rule whose name matches, diacritics and case ignored (deleted ones too)."""
    wanted = fold(name)
    for rule in (await session.execute(select(ReminderRule))).scalars():
        if fold(rule.name) == wanted:
            return rule
    return None


async def add(
    session: AsyncSession,
    *,
    name: str,
    cron: str,
    audience: str,
    groups: list[str] | None,
    message: str,
    deadline: date | None,
    created_by: str,
    at: datetime,
) -> ReminderRule | None:
    """Insert a rule unless one has this exact name; the new rule, or None."""
    stmt = (
        _insert(session)(ReminderRule)
        .values(
            name=name,
            cron=cron,
            audience=audience,
            groups=groups,
            message=message,
            deadline=deadline,
            status=ACTIVE,
            created_by=created_by,
            created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["name"])
    )
    if not (await session.execute(stmt)).rowcount:
        return None
    found = await session.execute(select(ReminderRule).where(ReminderRule.name == name))
    return found.scalar_one()


async def set_status(session: AsyncSession, rule: ReminderRule, status: str) -> None:
    """Make a rule active, paused or deleted."""
    rule.status = status
    await session.flush()


async def record_fire(
    session: AsyncSession, rule_id: int, fire_time: datetime, at: datetime
) -> int | None:
    """Claim this fire: the new fire's id, or None when another instance already has it."""
    stmt = (
        _insert(session)(ReminderFire)
        .values(rule_id=rule_id, fire_time=fire_time, fired_at=at, recipients=0)
        .on_conflict_do_nothing(index_elements=["rule_id", "fire_time"])
    )
    if not (await session.execute(stmt)).rowcount:
        return None
    found = await session.execute(
        select(ReminderFire.id).where(
            ReminderFire.rule_id == rule_id, ReminderFire.fire_time == fire_time
        )
    )
    return found.scalar_one()


async def finish_fire(
    session: AsyncSession, fire_id: int, rule_id: int, fire_time: datetime, recipients: int
) -> None:
    """Record how many messages a fire queued, and when the rule last fired."""
    await session.execute(
        update(ReminderFire).where(ReminderFire.id == fire_id).values(recipients=recipients)
    )
    await session.execute(
        update(ReminderRule).where(ReminderRule.id == rule_id).values(last_fired_at=fire_time)
    )


async def fires(session: AsyncSession, rule_id: int) -> list[ReminderFire]:
    """A rule's fires, oldest first."""
    stmt = select(ReminderFire).where(ReminderFire.rule_id == rule_id).order_by(ReminderFire.id)
    return list((await session.execute(stmt)).scalars())


async def last_fires(session: AsyncSession) -> dict[int, ReminderFire]:
    """The latest fire of every rule that has fired, by rule id."""
    latest: dict[int, ReminderFire] = {}
    stmt = select(ReminderFire).order_by(ReminderFire.fire_time)
    for fire in (await session.execute(stmt)).scalars():
        latest[fire.rule_id] = fire
    return latest


async def stopped_residents(session: AsyncSession) -> set[int]:
    """Residents who asked for no reminders."""
    stmt = select(Resident.id).where(Resident.reminders_off_at.is_not(None))
    return set((await session.execute(stmt)).scalars())


async def set_reminders_off(
    session: AsyncSession, resident: Resident, at: datetime | None
) -> None:
    """Stop (a time) or restart (None) reminders for a resident."""
    resident.reminders_off_at = at
    await session.flush()


async def head_names(session: AsyncSession) -> dict[int, str]:
    """The head of the household each resident registered last, by resident id."""
    stmt = (
        select(Household.registered_by_resident_id, Household.head_name)
        .where(Household.registered_by_resident_id.is_not(None))
        .order_by(Household.id)
    )
    return {resident: name for resident, name in (await session.execute(stmt)).all()}


async def enqueue(
    session: AsyncSession, messages: list[dict[str, Any]], *, at: datetime
) -> int:
    """Queue outbox rows (key, kind, channel, chat_id, payload, not_before) once per key.

    Returns how many were new; a key already queued is left as it is.
    """
    queued = 0
    for start in range(0, len(messages), _CHUNK):
        rows = [
            {**message, "status": "pending", "attempts": 0, "created_at": at}
            for message in messages[start : start + _CHUNK]
        ]
        stmt = _insert(session)(OutboxMessage).values(rows).on_conflict_do_nothing(
            index_elements=["key"]
        )
        queued += (await session.execute(stmt)).rowcount or 0
    return queued
