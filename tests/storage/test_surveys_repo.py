"""Survey repository contracts, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from storage.models.surveys import Survey, SurveyQuestion, SurveyResponse
from storage.repos import residents, surveys

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


async def new_resident(session, user_id: str, group_code: str = "05") -> int:
    resident = await residents.join(
        session,
        channel="test",
        user_id=user_id,
        chat_id=user_id,
        group_code=group_code,
        lang="vi",
        consent_at=NOW,
        consent_version="2026-11",
    )
    return resident.id


async def answer(session, survey_id: int, resident_id: int, group: str, **answers) -> None:
    await surveys.save_response(
        session,
        survey_id=survey_id,
        resident_id=resident_id,
        group_code=group,
        answers=answers,
        started_at=NOW,
        now=NOW,
    )


async def test_the_ward_survey_is_created_once_with_its_questions(sessionmaker, ward) -> None:
    async with sessionmaker() as session, session.begin():
        first = await surveys.ensure_ward_survey(session, ward.survey, NOW)
        again = await surveys.ensure_ward_survey(session, ward.survey, NOW + timedelta(days=1))
        assert again.id == first.id
        assert (first.code, first.status, first.opens_at) == ("hai-long-2026", "open", NOW)
        questions = await surveys.questions(session, first.id)
    assert [q.code for q in questions] == [f"q{n}" for n in range(1, 9)]
    assert [q.kind for q in questions] == ["scale"] * 4 + ["single", "multi", "yesno", "text"]
    assert questions[4].options[1] == "Loa phát thanh"
    assert questions[7].optional is True and questions[0].optional is False


async def test_concurrent_first_uses_create_one_survey(sessionmaker, ward) -> None:
    async def attempt() -> int:
        async with sessionmaker() as session, session.begin():
            return (await surveys.ensure_ward_survey(session, ward.survey, NOW)).id

    ids = await asyncio.gather(*(attempt() for _ in range(4)))
    assert len(set(ids)) == 1
    async with sessionmaker() as session:
        count = select(func.count()).select_from(SurveyQuestion)
        assert (await session.execute(count)).scalar_one() == 8


async def test_the_open_survey_is_the_latest_opened_and_not_closed(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        old = Survey(code="old", title="Cũ", status="open", opens_at=NOW - timedelta(days=30))
        new = Survey(code="new", title="Mới", status="open", opens_at=NOW - timedelta(days=1),
                     closes_at=NOW + timedelta(days=7))
        future = Survey(code="future", title="Sắp mở", status="open",
                        opens_at=NOW + timedelta(days=30))
        session.add_all([old, new, future])
        await session.flush()
        assert (await surveys.open_survey(session, NOW)).code == "new"
        assert (await surveys.open_survey(session, NOW + timedelta(days=8))).code == "old"
        await surveys.close_survey(session, old.id, NOW)
        assert await surveys.open_survey(session, NOW + timedelta(days=8)) is None
        assert (await surveys.latest_survey(session, NOW + timedelta(days=8))).code == "new"
        assert (await surveys.open_survey(session, NOW + timedelta(days=31))).code == "future"
    async with sessionmaker() as session:
        closed = (await session.execute(select(Survey).where(Survey.code == "old"))).scalar_one()
    assert (closed.status, closed.closes_at) == ("closed", NOW)


async def test_one_response_per_resident_updated_in_place(sessionmaker, ward) -> None:
    async with sessionmaker() as session, session.begin():
        survey = await surveys.ensure_ward_survey(session, ward.survey, NOW)
        resident = await new_resident(session, "a")
        await answer(session, survey.id, resident, "05", q1=2, q8=None)
        later = NOW + timedelta(days=2)
        await surveys.save_response(
            session, survey_id=survey.id, resident_id=resident, group_code="06",
            answers={"q1": 5, "q8": "Tốt"}, started_at=later, now=later,
        )
        assert await surveys.set_comment(session, survey.id, resident, "Cảm ơn", later)
        assert not await surveys.set_comment(session, survey.id, resident + 99, "x", later)
    async with sessionmaker() as session:
        [row] = (await session.execute(select(SurveyResponse))).scalars().all()
        found = await surveys.response_of(session, survey.id, resident)
    assert found is not None and found.id == row.id
    assert row.answers == {"q1": 5, "q8": "Tốt"}
    assert (row.group_code, row.comment) == ("06", "Cảm ơn")
    assert row.submitted_at == NOW + timedelta(days=2)


async def test_satisfaction_counts_responses_whose_mean_scale_answer_is_4_or_more(
    sessionmaker, ward
) -> None:
    async with sessionmaker() as session, session.begin():
        survey = await surveys.ensure_ward_survey(session, ward.survey, NOW)
        given = [
            ("05", {"q1": 5, "q2": 5, "q3": 4, "q4": 4, "q7": True}),  # mean 4.5: satisfied
            ("05", {"q1": 4, "q2": 4, "q3": 4, "q4": 3}),  # mean 3.75: not
            ("05", {"q1": 5, "q2": 3, "q3": None, "q4": None}),  # mean 4 of two answered
            ("06", {"q1": 1, "q2": 2, "q3": 3, "q4": 2}),  # not
            ("06", {"q5": 1, "q8": "chỉ có góp ý"}),  # no scale answer: not counted
        ]
        for number, (group, answers) in enumerate(given):
            resident = await new_resident(session, f"r{number}", group)
            await answer(session, survey.id, resident, group, **answers)
    async with sessionmaker() as session:
        assert await surveys.satisfaction(session, survey.id) == (4, 2)
        assert await surveys.satisfaction(session, survey.id, "05") == (3, 2)
        assert await surveys.satisfaction(session, survey.id, "06") == (1, 0)
        assert await surveys.satisfaction(session, survey.id, "23") == (0, 0)


async def test_anonymizing_cuts_the_link_and_keeps_the_figures(sessionmaker, ward) -> None:
    async with sessionmaker() as session, session.begin():
        survey = await surveys.ensure_ward_survey(session, ward.survey, NOW)
        other = Survey(code="khac", title="Khác", status="open", opens_at=NOW)
        session.add(other)
        await session.flush()
        resident = await new_resident(session, "me", "07")
        neighbour = await new_resident(session, "neighbour", "07")
        await answer(session, survey.id, resident, "07", q1=5, q2=4, q3=4, q4=4)
        await answer(session, other.id, resident, "07", q1=1)
        await answer(session, survey.id, neighbour, "07", q1=2, q2=2, q3=2, q4=2)
        assert await surveys.count_for_resident(session, resident) == 2
        before = await surveys.satisfaction(session, survey.id, "07")
    async with sessionmaker() as session, session.begin():
        assert await surveys.anonymize_resident(session, resident) == 2
    async with sessionmaker() as session, session.begin():
        assert await surveys.count_for_resident(session, resident) == 0
        assert await surveys.count_for_resident(session, neighbour) == 1
        assert await surveys.satisfaction(session, survey.id, "07") == before == (2, 1)
        assert await surveys.response_of(session, survey.id, resident) is None
        unlinked = (
            await session.execute(
                select(SurveyResponse).where(SurveyResponse.resident_id.is_(None))
            )
        ).scalars().all()
        assert sorted(r.group_code for r in unlinked) == ["07", "07"]
        assert {r.answers["q1"] for r in unlinked} == {5, 1}
        # the same person may answer again under a new link; the old answer stays counted
        await answer(session, survey.id, resident, "07", q1=4)
        assert (await surveys.satisfaction(session, survey.id))[0] == 3


async def test_deleting_a_resident_keeps_their_answers_unlinked(sessionmaker, ward) -> None:
    async with sessionmaker() as session, session.begin():
        survey = await surveys.ensure_ward_survey(session, ward.survey, NOW)
        resident = await new_resident(session, "gone", "03")
        await answer(session, survey.id, resident, "03", q1=4)
    async with sessionmaker() as session, session.begin():
        await residents.delete_resident(session, resident)
    async with sessionmaker() as session:
        [row] = (await session.execute(select(SurveyResponse))).scalars().all()
    assert (row.resident_id, row.group_code, row.answers) == (None, "03", {"q1": 4})


async def test_iter_responses_streams_group_time_and_answers(sessionmaker, ward) -> None:
    async with sessionmaker() as session, session.begin():
        survey = await surveys.ensure_ward_survey(session, ward.survey, NOW)
        other = Survey(code="khac", title="Khác", status="open", opens_at=NOW)
        session.add(other)
        await session.flush()
        for number in range(25):
            resident = await new_resident(session, f"s{number}", f"{number % 23 + 1:02d}")
            await answer(session, survey.id, resident, f"{number % 23 + 1:02d}", q1=number % 5 + 1,
                         q6=[0, 2])
        await answer(session, other.id, resident, "01", q1=1)
    async with sessionmaker() as session:
        rows = [row async for row in surveys.iter_responses(session, survey.id)]
    assert len(rows) == 25
    assert rows[0] == ("01", NOW, {"q1": 1, "q6": [0, 2]})
    assert rows[24][0] == "02" and rows[24][2]["q1"] == 5
    assert rows[3][1].tzinfo is not None
