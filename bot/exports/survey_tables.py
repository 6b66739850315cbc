"""Survey results: responses (officers), counts per question, satisfaction per group.

A response row holds the residential group, the date and the answers (choice labels,
not indexes; scale answers as the number 1-5): never a name, phone or chat id, which
the query does not even read. Satisfaction follows storage.repos.surveys.satisfaction
(mean scale answer of at least 4), per group and in total, with its 95% Wilson
interval and the verdict on the ward's target. Leaders get the figures of their
groups, not the responses: in a small group a date and an answer can tell who it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.exports.charts import Bar, Chart, Panel
from bot.exports.stats import EMPTY, ESTIMATE, SHORT, SURE, Rate
from bot.exports.tables import (
    Column,
    Export,
    Line,
    Row,
    Scope,
    Table,
    Words,
    group_label,
    groups_line,
    local,
    rows_of,
    ward_order,
)
from bot.normalize import number, percent
from bot.ward import WardConfig
from storage.models.surveys import SurveyQuestion
from storage.repos import exports as repo
from storage.repos import surveys


@dataclass(frozen=True, slots=True)
class Question:
    """What the export needs of a question, read once (not an ORM object in the hot loop)."""

    code: str
    kind: str
    text: str
    options: tuple[str, ...]

    @classmethod
    def of(cls, question: SurveyQuestion) -> Question:
        """The plain form of a stored question."""
        return cls(question.code, question.kind, question.text, tuple(question.options or ()))

    def label(self, index: Any) -> str:
        """The option at `index`, or the raw value if it is not one."""
        if isinstance(index, int) and 0 <= index < len(self.options):
            return self.options[index]
        return str(index)


class Tally:
    """Counts of each answer per question, gathered while the responses stream past."""

    def __init__(self, questions: list[Question]) -> None:
        self.questions = questions
        self.answered: Counter[str] = Counter()
        self.picked: dict[str, Counter[Any]] = {q.code: Counter() for q in questions}
        self.done = False

    def add(self, answers: dict[str, Any]) -> None:
        """Count one response's answers."""
        answered = self.answered
        for question in self.questions:
            value = answers.get(question.code)
            if value is None or value == "" or value == []:
                continue
            answered[question.code] += 1
            kind = question.kind
            if kind == "multi":
                self.picked[question.code].update(set(value))
            elif kind != "text":
                self.picked[question.code][value] += 1


def answer_text(question: Question, value: Any, yes: str, no: str) -> Any:
    """An answer as people read it: the option's label, Có/Không, the 1-5 number, the text."""
    if value is None:
        return None
    kind = question.kind
    if kind == "scale":
        return int(value)
    if kind == "yesno":
        return yes if value else no
    if kind == "single":
        return question.label(value)
    if kind == "multi":
        return "; ".join(question.label(index) for index in value)
    return str(value)


def _choices(question: Question, words: Words) -> list[tuple[Any, str]]:
    if question.kind == "scale":
        return [(level, texts.t("surveys.scale_label", words.lang, number=level,
                                word=texts.t(f"surveys.scale_{level}", words.lang)))
                for level in range(1, 6)]
    if question.kind == "yesno":
        return [(True, words("yes")), (False, words("no"))]
    return list(enumerate(question.options))


def satisfaction_rows(
    ward: WardConfig, scope: Scope, figures: dict[str, tuple[int, int]], words: Words
) -> list[tuple[str, Rate]]:
    """(label, rate) for each group in scope, then the total."""
    codes = ward_order(ward, set(scope.groups) | (set(figures) if scope.ward_wide else set()))
    rows = [(group_label(ward, code), Rate(*figures.get(code, (0, 0)))) for code in codes]
    counted = sum(rate.counted for _, rate in rows)
    hits = sum(rate.hits for _, rate in rows)
    total = words("ward_total") if scope.ward_wide else words("groups_total")
    return [*rows, (total, Rate(counted, hits))]


def verdict_text(rate: Rate, target: float, words: Words) -> str:
    """"đạt (chắc chắn)", "đạt (theo số ước tính)", "chưa đạt" or "chưa có phiếu"."""
    return words(f"verdict.{rate.verdict(target)}")


def _satisfaction_table(rows: list[tuple[str, Rate]], target: float, words: Words) -> Table:
    columns = (
        Column(words("col.group"), width=22), Column(words("col.responses"), "int", 11),
        Column(words("col.satisfied"), "int", 13), Column(words("col.share"), "percent", 12),
        Column(words("col.low"), "percent", 12), Column(words("col.high"), "percent", 12),
        Column(words("col.target"), "percent", 10), Column(words("col.verdict"), width=24),
    )
    body = []
    for label, rate in rows:
        low, high = rate.interval
        figures = (rate.share, low, high) if rate.counted else (None, None, None)
        body.append((label, rate.counted, rate.hits, *figures, target,
                     verdict_text(rate, target, words)))
    return Table(words("sheet.satisfaction"), columns, rows_of(body), tall_header=True)


def _question_table(tally: Tally, fill: Any, words: Words) -> Table:
    columns = (Column(words("col.number"), "int", 6), Column(words("col.question"), width=48),
               Column(words("col.choice"), width=30), Column(words("col.count"), "int", 11),
               Column(words("col.choice_share"), "percent", 14))

    async def rows() -> AsyncIterator[list[Row]]:
        if not tally.done:
            await fill()
        body: list[Row] = []
        for position, question in enumerate(tally.questions, start=1):
            answered = tally.answered[question.code]
            body.append((position, question.text, words("answered"), answered, None))
            if question.kind == "text":
                continue
            for value, label in _choices(question, words):
                count = tally.picked[question.code][value]
                body.append((position, question.text, label, count,
                             count / answered if answered else None))
        yield body

    return Table(words("sheet.questions"), columns, rows, tall_header=True)


def _responses_table(session: AsyncSession, scope: Scope, tally: Tally, words: Words,
                     ward: WardConfig) -> Table:
    questions = tally.questions
    columns = [Column(words("col.group"), width=16), Column(words("col.answered_on"), "date", 12)]
    for position, question in enumerate(questions, start=1):
        kind = "int" if question.kind == "scale" else "text"
        width = 12 if question.kind in ("scale", "yesno") else 30
        columns.append(Column(words("col.question_n", number=position, text=question.text),
                              kind, width))
    names: dict[str, str] = {}
    yes, no = words("yes"), words("no")
    # Counting answers costs as much as writing them: only the XLSX shows the counts.
    count = tally.add if scope.fmt == "xlsx" else None

    async def rows() -> AsyncIterator[list[Row]]:
        assert scope.survey is not None
        async for batch in repo.survey_responses(session, scope.survey.id, scope.group_filter):
            out = []
            for group_code, submitted_at, answers in batch:
                if count is not None:
                    count(answers)
                name = names.get(group_code) or names.setdefault(
                    group_code, group_label(ward, group_code))
                out.append((name, local(submitted_at),
                            *[answer_text(q, answers.get(q.code), yes, no) for q in questions]))
            yield out
        tally.done = count is not None

    return Table(words("sheet.responses"), tuple(columns), rows, tall_header=True)


def _chart(rows: list[tuple[str, Rate]], target: float, title: str, words: Words) -> Chart:
    bars = []
    for label, rate in rows:
        if not rate.counted:
            bars.append(Bar(label, None, note=words("verdict.empty"), tone=EMPTY))
            continue
        low, high = rate.interval
        note = words("chart.share_note", share=percent(rate.share, 0),
                     count=number(rate.counted))
        bars.append(Bar(label, rate.share, low, high, note, rate.verdict(target)))
    panel = Panel(words("chart.satisfaction_panel"), tuple(bars), target=target,
                  target_label=words("chart.target_line", target=percent(target, 0)),
                  percent=True, total_last=True)
    legend = tuple((tone, words(f"verdict.{tone}")) for tone in (SURE, ESTIMATE, SHORT))
    return Chart(words("chart.satisfaction_title"), (panel,), legend,
                 note=words("chart.satisfaction_note", survey=title))


async def survey_export(session: AsyncSession, scope: Scope, ward: WardConfig,
                        now: datetime, words: Words) -> Export:
    """The survey's tables, summary and chart for this scope."""
    survey = scope.survey
    assert survey is not None
    questions = [Question.of(q) for q in await surveys.questions(session, survey.id)]
    target = ward.targets.satisfaction_share
    figures = await repo.satisfaction_by_group(session, survey.id, scope.group_filter)
    rows = satisfaction_rows(ward, scope, figures, words)
    total = rows[-1][1]
    tally = Tally(questions)

    async def fill() -> None:
        async for batch in repo.survey_responses(session, survey.id, scope.group_filter):
            for _, _, answers in batch:
                tally.add(answers)
        tally.done = True

    satisfaction = _satisfaction_table(rows, target, words)
    per_question = _question_table(tally, fill, words)
    if scope.officer:
        responses = _responses_table(session, scope, tally, words, ward)
        tables = (responses, per_question, satisfaction)
    else:
        tables = (satisfaction, per_question)
    low, high = total.interval
    summary = (
        Line(words("summary.ward"), ward.ward.name),
        Line(words("summary.what"), words("title.surveys")),
        Line(words("summary.survey"), f"{survey.title} ({local(survey.opens_at):%d/%m/%Y})"),
        Line(words("summary.groups"), groups_line(ward, scope, words)),
        Line(words("summary.exported_at"), now, "datetime"),
        Line(words("summary.counted"), total.counted, "int"),
        Line(words("summary.satisfaction"), total.share if total.counted else None, "percent"),
        Line(words("summary.interval"),
             f"{percent(low)} – {percent(high)}" if total.counted else ""),
        Line(words("summary.target"), target, "percent"),
        Line(words("summary.verdict"), verdict_text(total, target, words)),
    )
    headline = words("headline.surveys", count=number(total.counted),
                     share=percent(total.share) if total.counted else "—")
    return Export(
        title=words("title.surveys_of", survey=survey.title), stem=f"khao-sat-{survey.code}",
        headline=headline, summary=summary, tables=tables,
        chart=_chart(rows, target, survey.title, words), chart_rows=total.counted,
    )
