"""Queries behind the exports: rows streamed in batches, and the figures beside them.

Rows come from `session.stream` with `yield_per`, so an export of 100,000 survey
responses never holds them all: each batch is written out before the next is read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.households import Household, HouseholdPledge
from storage.models.nominations import HONOURED, Nomination, NominationEvent
from storage.models.surveys import Survey, SurveyQuestion, SurveyResponse

BATCH = 1000
Row = tuple[Any, ...]


async def _batches(
    session: AsyncSession, stmt: Select[Any], size: int
) -> AsyncIterator[list[Row]]:
    result = await session.stream(stmt.execution_options(yield_per=size))
    async for partition in result.partitions(size):
        yield [tuple(row) for row in partition]


async def recent_surveys(session: AsyncSession, limit: int = 5) -> list[Survey]:
    """The most recently opened surveys, newest first."""
    stmt = select(Survey).order_by(Survey.opens_at.desc(), Survey.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def latest_survey_opened_between(
    session: AsyncSession, start: datetime, end: datetime
) -> Survey | None:
    """The survey opened last within [start, end)."""
    stmt = (
        select(Survey)
        .where(Survey.opens_at >= start, Survey.opens_at < end)
        .order_by(Survey.opens_at.desc(), Survey.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def survey_responses(
    session: AsyncSession,
    survey_id: int,
    groups: Collection[str] | None = None,
    size: int = BATCH,
) -> AsyncIterator[list[Row]]:
    """Batches of (group_code, submitted_at, answers) in id order; never who answered."""
    stmt = (
        select(SurveyResponse.group_code, SurveyResponse.submitted_at, SurveyResponse.answers)
        .where(SurveyResponse.survey_id == survey_id)
        .order_by(SurveyResponse.id)
    )
    if groups is not None:
        stmt = stmt.where(SurveyResponse.group_code.in_(list(groups)))
    async for batch in _batches(session, stmt, size):
        yield batch


async def satisfaction_by_group(
    session: AsyncSession, survey_id: int, groups: Collection[str] | None = None
) -> dict[str, tuple[int, int]]:
    """(counted, satisfied) per group in one grouped query (groups without responses omitted).

    The definition is `storage.repos.surveys.satisfaction`'s: a response counts when it
    has at least one scale answer, and is satisfied when its mean scale answer is at
    least 4; skipped scale questions are left out of the mean.
    """
    codes = (
        await session.execute(
            select(SurveyQuestion.code).where(
                SurveyQuestion.survey_id == survey_id, SurveyQuestion.kind == "scale"
            )
        )
    ).scalars().all()
    if not codes:
        return {}
    values = [SurveyResponse.answers[code].as_integer() for code in codes]
    answered = sum((case((v.is_(None), 0), else_=1) for v in values), start=literal(0))
    total = sum((func.coalesce(v, 0) for v in values), start=literal(0))
    per_response = select(
        SurveyResponse.group_code.label("group_code"),
        answered.label("answered"),
        total.label("total"),
    ).where(SurveyResponse.survey_id == survey_id)
    if groups is not None:
        per_response = per_response.where(SurveyResponse.group_code.in_(list(groups)))
    rows = per_response.subquery()
    counted = func.count().filter(rows.c.answered > 0)
    satisfied = func.count().filter(and_(rows.c.answered > 0, rows.c.total >= 4 * rows.c.answered))
    stmt = select(rows.c.group_code, counted, satisfied).group_by(rows.c.group_code)
    return {
        code: (int(c), int(s))
        for code, c, s in (await session.execute(stmt)).all()
        if c
    }


async def campaigns_by_group(
    session: AsyncSession, year: int, groups: Collection[str] | None = None
) -> Counter[tuple[str, str]]:
    """How many households pledged each campaign in `year`, per (group, campaign)."""
    stmt = (
        select(Household.group_code, HouseholdPledge.campaigns)
        .join(HouseholdPledge, HouseholdPledge.household_id == Household.id)
        .where(HouseholdPledge.year == year)
    )
    if groups is not None:
        stmt = stmt.where(Household.group_code.in_(list(groups)))
    counts: Counter[tuple[str, str]] = Counter()
    async for batch in _batches(session, stmt, BATCH):
        for group_code, campaigns in batch:
            counts.update((group_code, code) for code in set(campaigns or ()))
    return counts


async def registered_households(
    session: AsyncSession, year: int, groups: Collection[str] | None = None,
    size: int = BATCH,
) -> AsyncIterator[list[Row]]:
    """Batches of households with a pledge for `year`, by group then id: (group_code,
    head_name, address, phone, members, campaigns, pledged_at, consent_by)."""
    stmt = (
        select(
            Household.group_code, Household.head_name, Household.address, Household.phone,
            Household.members, HouseholdPledge.campaigns, HouseholdPledge.pledged_at,
            Household.consent_by,
        )
        .join(HouseholdPledge, HouseholdPledge.household_id == Household.id)
        .where(HouseholdPledge.year == year)
        .order_by(Household.group_code, Household.id)
    )
    if groups is not None:
        stmt = stmt.where(Household.group_code.in_(list(groups)))
    async for batch in _batches(session, stmt, size):
        yield batch


def _event_at(status: str | None = None) -> Any:
    """The time of a nomination's latest event (of one status), as a scalar subquery."""
    stmt = select(func.max(NominationEvent.at)).where(
        NominationEvent.nomination_id == Nomination.id)
    if status is not None:
        stmt = stmt.where(NominationEvent.status == status)
    return stmt.scalar_subquery()


def _nomination_filter(
    stmt: Select[Any], start: datetime, end: datetime, groups: Collection[str] | None
) -> Select[Any]:
    """Nominations sent within [start, end), or moved on during it."""
    moved = exists().where(NominationEvent.nomination_id == Nomination.id,
                           NominationEvent.at >= start, NominationEvent.at < end)
    stmt = stmt.where(Nomination.created_at < end,
                      or_(Nomination.created_at >= start, moved))
    if groups is not None:
        stmt = stmt.where(Nomination.group_code.in_(list(groups)))
    return stmt


async def nominations_between(
    session: AsyncSession, start: datetime, end: datetime,
    groups: Collection[str] | None = None, size: int = BATCH,
) -> AsyncIterator[list[Row]]:
    """Batches of nominations sent or moved on within [start, end), oldest first: (code,
    kind, nominee_name, group_code, field_code, status, created_at, last event's time,
    honoured_at, status_reason)."""
    stmt = select(
        Nomination.code, Nomination.kind, Nomination.nominee_name, Nomination.group_code,
        Nomination.field_code, Nomination.status, Nomination.created_at, _event_at(),
        _event_at(HONOURED), Nomination.status_reason,
    ).order_by(Nomination.created_at, Nomination.id)
    async for batch in _batches(session, _nomination_filter(stmt, start, end, groups), size):
        yield batch


async def nomination_counts(
    session: AsyncSession, start: datetime, end: datetime,
    groups: Collection[str] | None = None,
) -> dict[tuple[str, str], int]:
    """Nominations sent or moved on within [start, end), counted per (field, status)."""
    stmt = select(Nomination.field_code, Nomination.status, func.count()).group_by(
        Nomination.field_code, Nomination.status
    )
    stmt = _nomination_filter(stmt, start, end, groups)
    return {(f, s): int(n) for f, s, n in (await session.execute(stmt)).all()}
