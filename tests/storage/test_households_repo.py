"""The household repository on SQLite and PostgreSQL: once per household, per year."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select

from storage.models import Resident
from storage.models.households import Household, HouseholdPledge
from storage.repos import households, residents
from storage.repos.households import HouseholdConflict, HouseholdDetails, address_key

AT = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
HOME = HouseholdDetails(
    group_code="05",
    head_name="Nguyễn Văn An",
    address="Số 12, ngõ 34, phố Lê Lợi",
    phone="+84912345678",
    members=4,
)


async def new_resident(sessionmaker, user_id: str) -> int:
    async with sessionmaker() as session, session.begin():
        resident = await residents.join(
            session, channel="test", user_id=user_id, chat_id=user_id, group_code="05",
            lang="vi", consent_at=AT, consent_version="2026-11",
        )
        return resident.id


async def save(sessionmaker, details: HouseholdDetails = HOME, *, resident_id: int | None,
               household_id: int | None = None, year: int = 2026,
               campaigns: tuple[str, ...] = ("ngoi-nha-xanh",)) -> tuple[int, bool]:
    async with sessionmaker() as session, session.begin():
        home, created = await households.register(
            session, details, household_id=household_id, resident_id=resident_id,
            consent_at=AT, year=year, campaigns=list(campaigns), at=AT,
        )
        return home.id, created


async def counts(sessionmaker) -> tuple[int, int]:
    async with sessionmaker() as session:
        homes = (await session.execute(select(func.count()).select_from(Household))).scalar_one()
        pledges = (
            await session.execute(select(func.count()).select_from(HouseholdPledge))
        ).scalar_one()
    return homes, pledges


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Số 12, ngõ 34, Lê Lợi", "12 ngo 34 le loi"),
        ("so 12 NGO 34 le loi", "12 ngo 34 le loi"),
        ("Nhà số 5, ngách 7/2, hẻm 3", "5 ngach 7 2 hem 3"),
        ("  Số nhà 8 - đường  Trần Phú. ", "8 duong tran phu"),
        ("15 phố Hàng Bạc", "15 pho hang bac"),
    ],
)
def test_address_key_folds_and_drops_filler_words(typed: str, key: str) -> None:
    assert address_key(typed) == key


async def test_register_stores_household_and_pledge(sessionmaker) -> None:
    resident_id = await new_resident(sessionmaker, "r1")
    home_id, created = await save(sessionmaker, resident_id=resident_id)
    assert created
    async with sessionmaker() as session:
        home = await households.get(session, home_id)
        pledge = await households.pledge(session, home_id, 2026)
    assert home is not None and home.address_key == "12 ngo 34 pho le loi"
    assert home.consent_at == AT and home.consent_by == "self"
    assert pledge is not None and pledge.campaigns == ["ngoi-nha-xanh"]
    assert pledge.pledged_by_resident_id == resident_id


async def test_registering_again_without_knowing_updates_the_same_household(sessionmaker):
    first = await new_resident(sessionmaker, "r1")
    second = await new_resident(sessionmaker, "r2")
    home_id, _ = await save(sessionmaker, resident_id=first)
    again = HouseholdDetails("05", "Lê Thị Hoa", "so 12 ngo 34 pho Le Loi", "+84987654321", 5)
    same_id, created = await save(sessionmaker, again, resident_id=second,
                                  campaigns=("dan-van-kheo",))
    assert (same_id, created) == (home_id, False)
    assert await counts(sessionmaker) == (1, 1)
    async with sessionmaker() as session:
        home = await households.get(session, home_id)
        pledge = await households.pledge(session, home_id, 2026)
    assert (home.head_name, home.phone, home.members) == ("Lê Thị Hoa", "+84987654321", 5)
    assert home.registered_by_resident_id == second
    assert pledge.campaigns == ["dan-van-kheo"] and pledge.pledged_by_resident_id == second


async def test_same_address_in_another_group_is_another_household(sessionmaker):
    await save(sessionmaker, resident_id=None)
    elsewhere = HouseholdDetails("06", "Trần Văn Bình", HOME.address, "+84987654321", 3)
    _, created = await save(sessionmaker, elsewhere, resident_id=None)
    assert created
    assert await counts(sessionmaker) == (2, 2)


async def test_a_new_year_is_a_new_pledge(sessionmaker):
    home_id, _ = await save(sessionmaker, resident_id=None)
    same_id, created = await save(sessionmaker, household_id=home_id, resident_id=None,
                                  year=2027, campaigns=("xa-hoi-hoc-tap",))
    assert (same_id, created) == (home_id, False)
    async with sessionmaker() as session:
        latest = await households.latest_pledge(session, home_id)
        this_year = await households.pledges_for(session, [home_id], 2027)
    assert await counts(sessionmaker) == (1, 2)
    assert latest.year == 2027 and this_year[home_id].campaigns == ["xa-hoi-hoc-tap"]


async def test_phone_of_one_household_and_address_of_another_is_a_conflict(sessionmaker):
    await save(sessionmaker, resident_id=None)
    other = HouseholdDetails("05", "Trần Văn Bình", "Số 3, ngõ 5, phố Lê Lợi", "+84987654321", 2)
    await save(sessionmaker, other, resident_id=None)
    mixed = HouseholdDetails("05", "Ai Đó", other.address, HOME.phone, 2)
    async with sessionmaker() as session, session.begin():
        found = await households.matching(session, phone=mixed.phone, group_code="05",
                                          key=address_key(mixed.address))
        assert [h.phone for h in found] == [HOME.phone, other.phone]
        with pytest.raises(HouseholdConflict):
            await households.register(session, mixed, household_id=None, resident_id=None,
                                      consent_at=AT, year=2026, campaigns=["a"], at=AT)
        # the transaction is still usable after the conflict
        assert len(await households.matching(session, phone=HOME.phone, group_code="05",
                                              key="")) == 1
    async with sessionmaker() as session:
        names = sorted((await session.execute(select(Household.head_name))).scalars())
    assert names == ["Nguyễn Văn An", "Trần Văn Bình"]


async def test_concurrent_registrations_of_one_household_make_one(sessionmaker):
    people = [await new_resident(sessionmaker, f"r{n}") for n in range(4)]

    async def attempt(resident_id: int) -> tuple[int, bool]:
        async with sessionmaker() as session, session.begin():
            # each sees no household yet, as at the confirmation step
            await households.matching(session, phone=HOME.phone, group_code="05",
                                      key=address_key(HOME.address))
            home, created = await households.register(
                session, HOME, household_id=None, resident_id=resident_id, consent_at=AT,
                year=2026, campaigns=["ngoi-nha-xanh"], at=AT,
            )
            return home.id, created

    results = await asyncio.gather(*(attempt(r) for r in people))
    assert len({home_id for home_id, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert await counts(sessionmaker) == (1, 1)


async def test_for_resident_and_forget_resident(sessionmaker):
    mine = await new_resident(sessionmaker, "r1")
    theirs = await new_resident(sessionmaker, "r2")
    first, _ = await save(sessionmaker, resident_id=mine)
    parents = HouseholdDetails("05", "Nguyễn Văn Bố", "Số 40, phố Lê Lợi", "+84987654321", 2)
    second, _ = await save(sessionmaker, parents, resident_id=mine, year=2025)
    await save(sessionmaker, parents, household_id=second, resident_id=mine, year=2026)
    neighbour = HouseholdDetails("05", "Trần Văn Bình", "Số 41, phố Lê Lợi", "+84903123456", 3)
    await save(sessionmaker, neighbour, resident_id=theirs)
    async with sessionmaker() as session:
        listed = await households.for_resident(session, mine)
        assert [h.id for h in listed] == [first, second]
        with pytest.raises(Exception, match="raise_on_sql|lazy"):
            _ = listed[0].pledges
    async with sessionmaker() as session, session.begin():
        assert await households.forget_resident(session, mine) == 2
        assert await households.forget_resident(session, mine) == 0
    assert await counts(sessionmaker) == (1, 1)
    async with sessionmaker() as session:
        assert await households.for_resident(session, theirs) != []


async def test_deleting_a_resident_keeps_the_household_without_its_registrant(sessionmaker):
    resident_id = await new_resident(sessionmaker, "r1")
    home_id, _ = await save(sessionmaker, resident_id=resident_id)
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(Resident).where(Resident.id == resident_id))
    async with sessionmaker() as session:
        home = await households.get(session, home_id)
        pledge = await households.pledge(session, home_id, 2026)
    assert home.registered_by_resident_id is None
    assert pledge.pledged_by_resident_id is None


async def test_deleting_a_household_deletes_its_pledges(sessionmaker):
    home_id, _ = await save(sessionmaker, resident_id=None)
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(Household).where(Household.id == home_id))
    assert await counts(sessionmaker) == (0, 0)
