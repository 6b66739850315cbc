"""Households and their yearly pledges: find, register or update once, forget."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.normalize import fold
from storage.models.households import Household, HouseholdPledge

_DROPPED_WORDS = {"so", "nha"}
_NOT_WORD = re.compile(r"[^a-z0-9]+")


class HouseholdConflict(Exception):
    """The phone and the address belong to two different registered households."""


@dataclass(frozen=True)
class HouseholdDetails:
    """What a resident confirms about a household."""

    group_code: str
    head_name: str
    address: str
    phone: str
    members: int


def address_key(address: str) -> str:
    """'Số 12, Ngõ 34, Lê Lợi' -> '12 ngo 34 le loi': the form addresses are matched by."""
    words = _NOT_WORD.sub(" ", fold(address)).split()
    return " ".join(word for word in words if word not in _DROPPED_WORDS)


async def get(session: AsyncSession, household_id: int) -> Household | None:
    """The household with this id, if it still exists."""
    return await session.get(Household, household_id)


async def matching(
    session: AsyncSession, *, phone: str, group_code: str, key: str
) -> list[Household]:
    """Registered households with this phone, or this address in this group (phone first)."""
    stmt = select(Household).where(
        or_(
            Household.phone == phone,
            (Household.group_code == group_code) & (Household.address_key == key),
        )
    )
    found = list((await session.execute(stmt)).scalars())
    return sorted(found, key=lambda household: household.phone != phone)


async def pledge(session: AsyncSession, household_id: int, year: int) -> HouseholdPledge | None:
    """The household's pledge for `year`, if any."""
    stmt = select(HouseholdPledge).where(
        HouseholdPledge.household_id == household_id, HouseholdPledge.year == year
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_pledge(session: AsyncSession, household_id: int) -> HouseholdPledge | None:
    """The household's most recent pledge, whatever the year."""
    stmt = (
        select(HouseholdPledge)
        .where(HouseholdPledge.household_id == household_id)
        .order_by(HouseholdPledge.year.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def for_resident(session: AsyncSession, resident_id: int) -> list[Household]:
    """The households this resident registered, oldest first (pledges are not loaded)."""
    stmt = (
        select(Household)
        .where(Household.registered_by_resident_id == resident_id)
        .order_by(Household.id)
    )
    return list((await session.execute(stmt)).scalars())


async def pledges_for(
    session: AsyncSession, household_ids: list[int], year: int
) -> dict[int, HouseholdPledge]:
    """This year's pledge of each of these households, by household id."""
    if not household_ids:
        return {}
    stmt = select(HouseholdPledge).where(
        HouseholdPledge.household_id.in_(household_ids), HouseholdPledge.year == year
    )
    return {p.household_id: p for p in (await session.execute(stmt)).scalars()}


async def register(
    session: AsyncSession,
    details: HouseholdDetails,
    *,
    household_id: int | None,
    resident_id: int | None,
    consent_at: datetime,
    consent_by: str = "self",
    year: int,
    campaigns: list[str],
    at: datetime,
    assisted_by_resident_id: int | None = None,
) -> tuple[Household, bool]:
    """Store a confirmed registration once; returns the household and whether it is new.

    With `household_id` that household is updated. Otherwise a new one is inserted; if
    the same phone or address was registered meanwhile (a concurrent registration), the
    insert fails inside its savepoint and that household is updated instead. Either way
    the year's pledge is inserted or replaced. Raises HouseholdConflict when the phone
    and the address belong to two different households.

    `assisted_by_resident_id` is the leader or officer who registered the household for
    its head: the household is not theirs, so it never becomes their registrant, and a
    household its own resident registered keeps that resident as its registrant.
    """
    key = address_key(details.address)
    household = await get(session, household_id) if household_id is not None else None
    created = False
    if household is None:
        try:
            async with session.begin_nested():
                household = Household(
                    **_columns(details, key),
                    consent_at=consent_at,
                    consent_by=consent_by,
                    registered_by_resident_id=resident_id,
                    assisted_by_resident_id=assisted_by_resident_id,
                )
                session.add(household)
            created = True
        except IntegrityError:
            found = await matching(session, phone=details.phone, group_code=details.group_code,
                                   key=key)
            if not found:
                raise
            household = found[0]
    if not created:
        await _update(session, household, details, key, resident_id, consent_at, consent_by,
                      assisted_by_resident_id)
    await _pledge(session, household.id, year, campaigns, at,
                  assisted_by_resident_id or resident_id)
    return household, created


def _columns(details: HouseholdDetails, key: str) -> dict[str, object]:
    return {
        "group_code": details.group_code,
        "head_name": details.head_name,
        "address": details.address,
        "address_key": key,
        "phone": details.phone,
        "members": details.members,
    }


async def _update(
    session: AsyncSession,
    household: Household,
    details: HouseholdDetails,
    key: str,
    resident_id: int | None,
    consent_at: datetime,
    consent_by: str,
    assisted_by_resident_id: int | None = None,
) -> None:
    """Replace the household's details; whoever confirmed them last is its registrant.

    A leader's assisted update leaves the registrant as it was.
    """
    try:
        async with session.begin_nested():
            for name, value in _columns(details, key).items():
                setattr(household, name, value)
            household.consent_at = consent_at
            household.consent_by = consent_by
            household.assisted_by_resident_id = assisted_by_resident_id
            if assisted_by_resident_id is None:
                household.registered_by_resident_id = resident_id
    except IntegrityError:
        raise HouseholdConflict from None


async def _pledge(
    session: AsyncSession,
    household_id: int,
    year: int,
    campaigns: list[str],
    at: datetime,
    resident_id: int | None,
) -> HouseholdPledge:
    """Insert or replace the household's pledge for the year."""
    existing = await pledge(session, household_id, year)
    if existing is None:
        try:
            async with session.begin_nested():
                existing = HouseholdPledge(
                    household_id=household_id,
                    year=year,
                    campaigns=list(campaigns),
                    pledged_at=at,
                    pledged_by_resident_id=resident_id,
                )
                session.add(existing)
            return existing
        except IntegrityError:
            existing = await pledge(session, household_id, year)
            if existing is None:
                raise
    existing.campaigns = list(campaigns)
    existing.pledged_at = at
    existing.pledged_by_resident_id = resident_id
    await session.flush()
    return existing


async def forget_resident(session: AsyncSession, resident_id: int) -> int:
    """Delete the households this resident registered, with their pledges; how many."""
    ids = list(
        (
            await session.execute(
                select(Household.id).where(Household.registered_by_resident_id == resident_id)
            )
        ).scalars()
    )
    if not ids:
        return 0
    await session.execute(delete(HouseholdPledge).where(HouseholdPledge.household_id.in_(ids)))
    await session.execute(delete(Household).where(Household.id.in_(ids)))
    return len(ids)
