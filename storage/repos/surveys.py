"""Surveys, their questions and residents' responses; figures and streaming for exports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.surveys import CLOSED, OPEN, Survey, SurveyQuestion, SurveyResponse


class QuestionSpec(Protocol):
    """A question as the ward file describes it."""

    code: str
    kind: str
    text: str
    options: Sequence[str]
    optional: bool


class SurveySpec(Protocol):
    """A survey as the ward file describes it (bot.ward.Survey)."""

    code: str
    title: str
    questions: Sequence[QuestionSpec]


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    dialect = session.bind.dialect.name if session.bind else ""
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def ensure_ward_survey(session: AsyncSession, spec: SurveySpec, now: datetime) -> Survey:
    """The survey with the ward file's code, created open (with its questions) if missing."""
    stmt = (
        _insert(session)(Survey)
        .values(code=spec.code, title=spec.title, status=OPEN, opens_at=now, created_at=now)
        .on_conflict_do_nothing(index_elements=["code"])
    )
    created = bool((await session.execute(stmt)).rowcount)
    survey = (await session.execute(select(Survey).where(Survey.code == spec.code))).scalar_one()
    if created:
        session.add_all(
            SurveyQuestion(
                survey_id=survey.id,
                position=position,
                code=question.code,
                kind=question.kind,
                text=question.text,
                options=list(question.options),
                optional=question.optional,
            )
            for position, question in enumerate(spec.questions, start=1)
        )
        await session.flush()
    return survey


async def get(session: AsyncSession, survey_id: int) -> Survey | None:
    """The survey with this id."""
    return await session.get(Survey, survey_id)


async def open_survey(session: AsyncSession, now: datetime) -> Survey | None:
    """The most recently opened survey that residents may answer at `now`."""
    stmt = (
        select(Survey)
        .where(
            Survey.status == OPEN,
            Survey.opens_at <= now,
            or_(Survey.closes_at.is_(None), Survey.closes_at > now),
        )
        .order_by(Survey.opens_at.desc(), Survey.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_survey(session: AsyncSession, now: datetime) -> Survey | None:
    """The most recently opened survey, open or not (to say when it closed)."""
    stmt = (
        select(Survey)
        .where(Survey.opens_at <= now)
        .order_by(Survey.opens_at.desc(), Survey.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def close_survey(session: AsyncSession, survey_id: int, now: datetime) -> None:
    """Stop taking answers; the close date becomes `now` unless it was earlier."""
    survey = await session.get(Survey, survey_id)
    if survey is None:
        return
    survey.status = CLOSED
    if survey.closes_at is None or survey.closes_at > now:
        survey.closes_at = now
    await session.flush()


async def questions(session: AsyncSession, survey_id: int) -> list[SurveyQuestion]:
    """The survey's questions in order."""
    stmt = (
        select(SurveyQuestion)
        .where(SurveyQuestion.survey_id == survey_id)
        .order_by(SurveyQuestion.position, SurveyQuestion.id)
    )
    return list((await session.execute(stmt)).scalars())


async def response_of(
    session: AsyncSession, survey_id: int, resident_id: int
) -> SurveyResponse | None:
    """The resident's response to the survey, if they have answered."""
    stmt = select(SurveyResponse).where(
        SurveyResponse.survey_id == survey_id, SurveyResponse.resident_id == resident_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def save_response(
    session: AsyncSession,
    *,
    survey_id: int,
    resident_id: int,
    group_code: str,
    answers: dict[str, Any],
    started_at: datetime,
    now: datetime,
) -> None:
    """Store the resident's answers, replacing earlier ones (one response per resident)."""
    values = {
        "survey_id": survey_id,
        "resident_id": resident_id,
        "group_code": group_code,
        "answers": answers,
        "started_at": started_at,
        "submitted_at": now,
        "updated_at": now,
    }
    stmt = _insert(session)(SurveyResponse).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["survey_id", "resident_id"],
        set_={
            "group_code": stmt.excluded.group_code,
            "answers": stmt.excluded.answers,
            "started_at": stmt.excluded.started_at,
            "submitted_at": stmt.excluded.submitted_at,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await session.execute(stmt)


async def set_comment(
    session: AsyncSession, survey_id: int, resident_id: int, comment: str, now: datetime
) -> bool:
    """Attach a comment to the resident's response; False if they have none."""
    stmt = (
        update(SurveyResponse)
        .where(SurveyResponse.survey_id == survey_id, SurveyResponse.resident_id == resident_id)
        .values(comment=comment, updated_at=now)
    )
    return bool((await session.execute(stmt)).rowcount)


async def count_for_resident(session: AsyncSession, resident_id: int) -> int:
    """How many surveys the resident has answered (responses still linked to them)."""
    stmt = select(func.count()).where(SurveyResponse.resident_id == resident_id)
    return (await session.execute(stmt)).scalar_one()


async def anonymize_resident(session: AsyncSession, resident_id: int) -> int:
    """Cut the link between a resident and their responses; answers and group stay.

    The ward's figures do not change. Returns how many responses were unlinked.
    """
    stmt = (
        update(SurveyResponse)
        .where(SurveyResponse.resident_id == resident_id)
        .values(resident_id=None)
    )
    return (await session.execute(stmt)).rowcount


async def satisfaction(
    session: AsyncSession, survey_id: int, group_code: str | None = None
) -> tuple[int, int]:
    """(counted, satisfied) for the survey, ward-wide or for one group.

    counted: responses with at least one scale answer. satisfied: those among them
    whose mean scale answer is at least 4 ("hài lòng" or "rất hài lòng"). Skipped
    scale questions are left out of the mean. The ward's satisfaction share is
    satisfied / counted.
    """
    codes = (
        await session.execute(
            select(SurveyQuestion.code).where(
                SurveyQuestion.survey_id == survey_id, SurveyQuestion.kind == "scale"
            )
        )
    ).scalars().all()
    if not codes:
        return 0, 0
    values = [SurveyResponse.answers[code].as_integer() for code in codes]
    answered = sum((case((v.is_(None), 0), else_=1) for v in values), start=literal(0))
    total = sum((func.coalesce(v, 0) for v in values), start=literal(0))
    per_response = select(answered.label("answered"), total.label("total")).where(
        SurveyResponse.survey_id == survey_id
    )
    if group_code is not None:
        per_response = per_response.where(SurveyResponse.group_code == group_code)
    rows = per_response.subquery()
    counted = func.count().filter(rows.c.answered > 0)
    satisfied = func.count().filter(and_(rows.c.answered > 0, rows.c.total >= 4 * rows.c.answered))
    result = (await session.execute(select(counted, satisfied).select_from(rows))).one()
    return int(result[0]), int(result[1])


async def iter_responses(
    session: AsyncSession, survey_id: int
) -> AsyncIterator[tuple[str, datetime, dict[str, Any]]]:
    """Every response as (group_code, submitted_at, answers), streamed in id order."""
    stmt = (
        select(SurveyResponse.group_code, SurveyResponse.submitted_at, SurveyResponse.answers)
        .where(SurveyResponse.survey_id == survey_id)
        .order_by(SurveyResponse.id)
        .execution_options(yield_per=1000)
    )
    result = await session.stream(stmt)
    async for group_code, submitted_at, answers in result:
        yield group_code, submitted_at, answers
