"""Survey results: satisfaction against the target with its 95% interval, per group and
per question, and the chart drawn by the exports package."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys, texts
from bot.web.dashboard import auth, render
from bot.web.dashboard.auth import Viewer
from bot.web.dashboard.overview import current_survey
from storage.repos import dashboard, progress, surveys
from storage.repos.progress import Satisfaction

Z95 = 1.959964
COUNTED_KINDS = ("scale", "single", "yesno", "multi")


@dataclass(frozen=True)
class Estimate:
    """A satisfaction share with its Wilson 95% interval, read against the target."""

    figures: Satisfaction
    low: float
    high: float
    verdict: str


def estimate(figures: Satisfaction, target: float) -> Estimate:
    """The Wilson interval: sound even for few responses or shares near 0 or 1."""
    n = figures.counted
    if n == 0:
        return Estimate(figures, 0.0, 0.0, "none")
    share, z2 = figures.share, Z95 * Z95
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    if low > target:
        verdict = "sure"
    elif share > target:
        verdict = "point_only"
    else:
        verdict = "short"
    return Estimate(figures, low, high, verdict)


def _question_rows(question: Any, counts: dict[Any, int], lang: str) -> list[tuple[str, int]]:
    if question.kind == "scale":
        return [(texts.t(f"surveys.scale_{level}", lang), counts.get(level, 0))
                for level in range(5, 0, -1)]
    if question.kind == "yesno":
        return [(texts.t("surveys.yes", lang), counts.get(True, 0)),
                (texts.t("surveys.no", lang), counts.get(False, 0))]
    return [(label, counts.get(index, 0)) for index, label in enumerate(question.options)]


@auth.staff()
async def results(request: web.Request, viewer: Viewer, session: AsyncSession) -> web.Response:
    """GET /admin/surveys: the open (else latest) survey's results for what the viewer sees."""
    ward = request.config_dict[keys.WARD]
    target = ward.targets.satisfaction_share
    moment = auth.now(request)
    survey = await current_survey(session, moment)
    if survey is None:
        return render.page(request, "surveys.html", viewer=viewer, survey=None)
    scope = viewer.scope()
    overall = estimate(await progress.satisfaction(session, survey.id, scope), target)
    per_group = []
    for group in ward.groups:
        if viewer.may_see(group.code):
            counted, satisfied = await surveys.satisfaction(session, survey.id, group.code)
            per_group.append((group, estimate(Satisfaction(counted, satisfied), target)))
    questions = []
    for question in await surveys.questions(session, survey.id):
        if question.kind not in COUNTED_KINDS:
            continue
        counts, answered = await dashboard.answer_counts(
            session, survey.id, question.code, scope
        )
        questions.append((question, _question_rows(question, counts, viewer.lang), answered))
    return render.page(
        request, "surveys.html", viewer=viewer, survey=survey,
        survey_open=survey.is_open(moment), overall=overall, per_group=per_group,
        questions=questions, target=target,
        chart=overall.figures.counted > 0,
    )
