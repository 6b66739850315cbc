"""Progress against the ward's yearly targets: registrations, satisfaction, honours.

Each figure is one grouped query, the same on SQLite and PostgreSQL:
- a group's registration share is its households with a pledge this year over the
  households the ward file gives it (target: at least that share);
- satisfaction follows `storage.repos.surveys.satisfaction` (target: above the share);
- honours are nominations that became "honoured" during the (Hải Phòng) year, per
  field and kind (target: at least the low end of the ward's range per field).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.normalize import LOCAL_TZ
from storage.models.households import Household, HouseholdPledge
from storage.models.nominations import (
    COLLECTIVE,
    HONOURED,
    INDIVIDUAL,
    Nomination,
    NominationEvent,
)
from storage.repos import surveys


@dataclass(frozen=True)
class Registration:
    """Households of one group (or several, summed) registered this year."""

    group_code: str
    registered: int
    households: int

    @property
    def share(self) -> float:
        """Registered over the households the ward file counts (0 when it counts none)."""
        return self.registered / self.households if self.households else 0.0

    def needed(self, target: float) -> int:
        """How many registered households reach the target share."""
        return math.ceil(round(target * self.households, 6))

    def missing(self, target: float) -> int:
        """How many more households the target needs (0 once met)."""
        return max(0, self.needed(target) - self.registered)

    def met(self, target: float) -> bool:
        """Whether at least the target share registered."""
        return self.households > 0 and self.registered >= self.needed(target)


@dataclass(frozen=True)
class Satisfaction:
    """Survey responses counted and those satisfied (see surveys.satisfaction)."""

    counted: int
    satisfied: int

    @property
    def share(self) -> float:
        """Satisfied over counted (0 without responses)."""
        return self.satisfied / self.counted if self.counted else 0.0

    def met(self, target: float) -> bool:
        """Whether the share is above the target (the plan says "trên 85%")."""
        return self.counted > 0 and self.share > target


@dataclass(frozen=True)
class Honours:
    """Nominations of one field honoured during the year, by kind."""

    field_code: str
    collectives: int = 0
    individuals: int = 0


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The start of `year` and of the next one in Hải Phòng, as UTC instants."""
    start = datetime(year, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC)
    return start, end


async def registered_by_group(
    session: AsyncSession, year: int, groups: Collection[str] | None = None
) -> dict[str, int]:
    """Households with a pledge for `year`, counted per group (groups without any omitted)."""
    stmt = (
        select(Household.group_code, func.count(HouseholdPledge.id))
        .join(HouseholdPledge, HouseholdPledge.household_id == Household.id)
        .where(HouseholdPledge.year == year)
        .group_by(Household.group_code)
    )
    if groups is not None:
        stmt = stmt.where(Household.group_code.in_(list(groups)))
    return {code: int(count) for code, count in (await session.execute(stmt)).all()}


async def registrations(
    session: AsyncSession, year: int, households: Mapping[str, int]
) -> list[Registration]:
    """Each group's registration for `year`, in the order of `households` (code -> count)."""
    counts = await registered_by_group(session, year, list(households))
    return [Registration(code, counts.get(code, 0), total) for code, total in households.items()]


def combined(rows: Collection[Registration], code: str = "*") -> Registration:
    """Several groups' registrations as one."""
    return Registration(
        code, sum(r.registered for r in rows), sum(r.households for r in rows)
    )


def ranking(rows: list[Registration]) -> list[Registration]:
    """Groups by registration share, highest first; ties by households registered, then order."""
    order = {row.group_code: position for position, row in enumerate(rows)}
    return sorted(rows, key=lambda r: (-r.share, -r.registered, order[r.group_code]))


async def satisfaction(
    session: AsyncSession, survey_id: int, groups: Collection[str] | None = None
) -> Satisfaction:
    """The survey's satisfaction ward-wide (groups None) or summed over some groups."""
    if groups is None:
        return Satisfaction(*await surveys.satisfaction(session, survey_id))
    counted = satisfied = 0
    for code in sorted(groups):
        group_counted, group_satisfied = await surveys.satisfaction(session, survey_id, code)
        counted, satisfied = counted + group_counted, satisfied + group_satisfied
    return Satisfaction(counted, satisfied)


async def honoured_by_field(
    session: AsyncSession,
    year: int,
    fields: Collection[str],
    groups: Collection[str] | None = None,
) -> list[Honours]:
    """Nominations honoured during `year` per field (in the order of `fields`), by kind."""
    start, end = year_bounds(year)
    stmt = (
        select(
            Nomination.field_code,
            Nomination.kind,
            func.count(func.distinct(Nomination.id)),
        )
        .join(NominationEvent, NominationEvent.nomination_id == Nomination.id)
        .where(
            Nomination.status == HONOURED,
            NominationEvent.status == HONOURED,
            NominationEvent.at >= start,
            NominationEvent.at < end,
        )
        .group_by(Nomination.field_code, Nomination.kind)
    )
    if groups is not None:
        stmt = stmt.where(Nomination.group_code.in_(list(groups)))
    counts = {(f, k): int(n) for f, k, n in (await session.execute(stmt)).all()}
    return [
        Honours(code, counts.get((code, COLLECTIVE), 0), counts.get((code, INDIVIDUAL), 0))
        for code in fields
    ]
