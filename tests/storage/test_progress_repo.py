"""Progress figures from grouped queries, checked to the number on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.models.surveys import SurveyResponse
from storage.repos import households, nominations, progress, surveys
from storage.repos.households import HouseholdDetails
from storage.repos.progress import Honours, Registration, Satisfaction

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
LAST_YEAR = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)

# Households registered per group: (pledged this year, pledged only last year).
HOUSEHOLDS = {"05": (3, 1), "07": (2, 0), "01": (1, 2), "12": (1, 0)}
# Scale answers (q1-q4) per group; None is a skipped question.
RESPONSES = {
    "05": [(5, 4, 4, 4), (3, 3, 4, 4), (4, None, None, None), (None, None, None, None)],
    "07": [(5, 5, 5, 5), (4, 4, 4, 4)],
    "09": [(2, 3, 3, 3)],
}
# Honoured nominations: (group, field, kind, when honoured).
HONOURED = [
    ("05", "kinh-te", "individual", NOW),
    ("05", "kinh-te", "individual", NOW),
    ("07", "kinh-te", "collective", NOW),
    # 00:30 on 1 January 2026 in Hải Phòng: this year.
    ("07", "an-ninh-trat-tu", "individual", datetime(2025, 12, 31, 17, 30, tzinfo=UTC)),
    # 23:30 on 31 December 2025 in Hải Phòng: last year.
    ("05", "an-ninh-trat-tu", "individual", datetime(2025, 12, 31, 16, 30, tzinfo=UTC)),
]


async def seed_progress(sessionmaker, ward) -> None:
    """Households with and without this year's pledge, survey answers, honoured nominations."""
    async with sessionmaker() as session, session.begin():
        number = 0
        for group, (this_year, last_year_only) in HOUSEHOLDS.items():
            for index in range(this_year + last_year_only):
                number += 1
                details = HouseholdDetails(group, f"Chủ hộ {number}", f"Số {number} phố Lê Lợi",
                                           f"+8491200{number:04d}", 3)
                household, _ = await households.register(
                    session, details, household_id=None, resident_id=None,
                    consent_at=LAST_YEAR, year=2025, campaigns=["ngoi-nha-xanh"], at=LAST_YEAR,
                )
                if index < this_year:
                    await households.register(
                        session, details, household_id=household.id, resident_id=None,
                        consent_at=NOW, year=2026, campaigns=["ngoi-nha-xanh"], at=NOW,
                    )
        survey = await surveys.ensure_ward_survey(session, ward.survey, LAST_YEAR)
        for group, answers in RESPONSES.items():
            for scale in answers:
                session.add(SurveyResponse(
                    survey_id=survey.id, group_code=group, started_at=NOW, submitted_at=NOW,
                    answers={f"q{n}": value for n, value in enumerate(scale, start=1)}
                    | {"q5": 1, "q8": None},
                ))
        for group, field, kind, when in [
            *HONOURED, ("05", "kinh-te", "individual", None), ("07", "kinh-te", "collective", None)
        ]:
            made = await nominations.create(
                session, nominator_resident_id=None, kind=kind, nominee_name="Nguyễn Thị Hoa",
                group_code=group, field_code=field, description="Việc tốt " * 5,
                photo_channel=None, photo_ref=None, year=2026, now=LAST_YEAR,
            )
            await nominations.set_status(session, made, "approved", reason=None,
                                         actor_resident_id=None, now=LAST_YEAR)
            if when is not None:
                await nominations.set_status(session, made, "honoured", reason=None,
                                             actor_resident_id=None, now=when)


async def test_registrations_count_this_years_pledges_per_group(sessionmaker, ward) -> None:
    await seed_progress(sessionmaker, ward)
    async with sessionmaker() as session:
        assert await progress.registered_by_group(session, 2026) == {
            "05": 3, "07": 2, "01": 1, "12": 1,
        }
        assert await progress.registered_by_group(session, 2025) == {
            "05": 4, "07": 2, "01": 3, "12": 1,
        }
        rows = await progress.registrations(session, 2026, {"05": 8, "07": 4, "09": 10})
    assert rows == [Registration("05", 3, 8), Registration("07", 2, 4), Registration("09", 0, 10)]
    assert progress.combined(rows) == Registration("*", 5, 22)


def test_shares_targets_and_what_is_missing() -> None:
    row = Registration("05", 312, 780)
    assert (row.share, row.needed(0.5), row.missing(0.5), row.met(0.5)) == (0.4, 390, 78, False)
    odd = Registration("07", 2, 5)
    assert (odd.needed(0.5), odd.missing(0.5), odd.met(0.5)) == (3, 1, False)
    assert Registration("07", 3, 5).met(0.5)
    assert not Registration("99", 0, 0).met(0.5) and Registration("99", 0, 0).share == 0.0
    assert Satisfaction(20, 17).met(0.85) is False  # the plan asks for more than 85%
    assert Satisfaction(20, 18).met(0.85) and not Satisfaction(0, 0).met(0.85)


def test_ranking_by_share_then_registered_then_ward_order() -> None:
    rows = [Registration("01", 1, 10), Registration("02", 0, 20), Registration("05", 3, 8),
            Registration("07", 2, 4), Registration("08", 0, 5), Registration("09", 2, 20),
            Registration("10", 1, 10)]
    assert [r.group_code for r in progress.ranking(rows)] == [
        "07", "05", "09", "01", "10", "02", "08",
    ]


async def test_satisfaction_ward_wide_and_summed_over_groups(sessionmaker, ward) -> None:
    await seed_progress(sessionmaker, ward)
    async with sessionmaker() as session:
        survey = await surveys.latest_survey(session, NOW)
        assert await progress.satisfaction(session, survey.id) == Satisfaction(6, 4)
        assert await progress.satisfaction(session, survey.id, ["05"]) == Satisfaction(3, 2)
        assert await progress.satisfaction(session, survey.id, ["05", "07"]) == Satisfaction(5, 4)
        assert await progress.satisfaction(session, survey.id, ["12"]) == Satisfaction(0, 0)


async def test_honours_count_the_local_year_per_field_and_kind(sessionmaker, ward) -> None:
    await seed_progress(sessionmaker, ward)
    fields = ["kinh-te", "an-ninh-trat-tu", "van-hoa-xa-hoi"]
    async with sessionmaker() as session:
        ward_wide = await progress.honoured_by_field(session, 2026, fields)
        group_05 = await progress.honoured_by_field(session, 2026, fields, ["05"])
        last_year = await progress.honoured_by_field(session, 2025, fields)
    assert ward_wide == [Honours("kinh-te", 1, 2), Honours("an-ninh-trat-tu", 0, 1),
                         Honours("van-hoa-xa-hoi", 0, 0)]
    assert group_05 == [Honours("kinh-te", 0, 2), Honours("an-ninh-trat-tu", 0, 0),
                        Honours("van-hoa-xa-hoi", 0, 0)]
    assert last_year[1] == Honours("an-ninh-trat-tu", 0, 1)
