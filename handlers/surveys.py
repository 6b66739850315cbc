"""The satisfaction survey: one question per message, resumable, one response per resident.

    /khaosat --> intro, QUESTION "Câu 1/8" --> ... --> "Câu 8/8" --> saved, thanks, menu
                          ^---- ⬅️ Quay lại: the previous question ----'
    answered before    --> "Trả lời lại" / "Để sau"
    closed / none open --> says so; no flow starts
    thanks --> 💬 Gửi góp ý --> COMMENT (may be skipped) --> stored on the response

The whole survey is one flow whose step asks the question at data["_cursor"]; an
optional question is asked by the OPTIONAL step, the same question with "Bỏ qua". The
questions are copied from the database into the flow's data when the survey starts, so
a resident who comes back later (even after a restart) gets the same questions, with
their earlier answers kept. Nothing is stored until the last answer.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot import flows, texts
from bot.context import Context
from bot.events import Button, Reply
from bot.flows import DONE, Flow, Step
from bot.inputs import Answer, Invalid, MultiChoice, Option, Text, match_option
from bot.normalize import fold, local_date, number
from bot.registry import Router
from handlers import common
from storage.models.surveys import Survey
from storage.repos import surveys

router = Router()
MAX_TEXT = 1000
REQUIRED, OPTIONAL = "QUESTION", "OPTIONAL"
YES_WORDS = ("có", "yes", "ừ", "vâng", "dạ có", "đúng", "có tham gia", "co a")
NO_WORDS = ("không", "ko", "k", "no", "chưa", "không tham gia", "khong a")
SCALE_WORDS = {
    1: ("rất kém", "rất tệ"),
    2: ("chưa hài lòng", "kém"),
    3: ("tạm được", "trung bình"),
    4: ("tốt",),
    5: ("rất tốt", "tuyệt vời"),
}


def _question(data: dict[str, Any]) -> dict[str, Any]:
    return data["_questions"][data.get("_cursor", 0)]


def _step_for(question: dict[str, Any]) -> str:
    return OPTIONAL if question["optional"] else REQUIRED


def _scale_options(ctx: Context) -> list[Option]:
    options = []
    for level in range(1, 6):
        words = tuple(texts.t(f"surveys.scale_{level}", lang) for lang in texts.LANGUAGES)
        label = ctx.t("surveys.scale_label", number=level, word=ctx.t(f"surveys.scale_{level}"))
        options.append(Option(str(level), label, aliases=words + SCALE_WORDS[level]))
    return options


def _yesno_options(ctx: Context) -> list[Option]:
    yes = tuple(texts.t("surveys.yes", lang) for lang in texts.LANGUAGES)
    no = tuple(texts.t("surveys.no", lang) for lang in texts.LANGUAGES)
    return [
        Option("yes", ctx.t("surveys.yes"), aliases=yes + YES_WORDS),
        Option("no", ctx.t("surveys.no"), aliases=no + NO_WORDS),
    ]


def _choice_options(question: dict[str, Any]) -> list[Option]:
    """The options by index; each part of a label ("Zalo / mạng xã hội") also picks it."""
    labels = question["options"]
    parts = [[p.strip() for p in re.split(r"[/,]", label) if len(p.strip()) >= 3]
             for label in labels]
    shared = {fold(p) for i, own in enumerate(parts) for p in own
              if any(fold(p) in map(fold, other) for other in parts[:i] + parts[i + 1:])}
    return [
        Option(str(index), label, aliases=tuple(p for p in own if fold(p) not in shared))
        for index, (label, own) in enumerate(zip(labels, parts, strict=True))
    ]


def _multi(question: dict[str, Any]) -> MultiChoice:
    options = _choice_options(question)
    return MultiChoice(lambda ctx, data: options, key=f"multi_{question['code']}",
                       offer_all=False)


def _multi_data(data: dict[str, Any], question: dict[str, Any]) -> dict[str, Any]:
    """The flow data with the earlier answer where MultiChoice looks for it (ticks shown)."""
    earlier = (data.get("answers") or {}).get(question["code"]) or []
    return {**data, f"multi_{question['code']}": [str(i) for i in earlier]}


def _pick(options: list[Option], answer: Answer, invalid: str, **params: Any) -> Option:
    if answer.button is not None:
        for option in options:
            if option.value == answer.button:
                return option
        raise Invalid("flow.stale_button")
    picked = match_option(options, answer.text) if answer.text is not None else None
    if picked is None:
        raise Invalid(invalid, **params)
    return picked


async def read_text(ctx: Context, data: dict[str, Any], answer: Answer) -> str:
    """Free text up to MAX_TEXT characters, the limit said with Vietnamese digits."""
    try:
        return await Text(maximum=MAX_TEXT).parse(ctx, data, answer)
    except Invalid as problem:
        if problem.key != "flow.text_too_long":
            raise
        raise Invalid(
            "surveys.text_too_long",
            maximum=number(MAX_TEXT),
            length=number(problem.params["length"]),
        ) from None


class QuestionInput:
    """Reads the answer to the question at the cursor, whatever its kind."""

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """One button per row for choices; Có / Không side by side; none for text."""
        question = _question(data)
        kind = question["kind"]
        if kind == "multi":
            return _multi(question).buttons(ctx, _multi_data(data, question))
        if kind == "yesno":
            return [[(o.label, o.value) for o in _yesno_options(ctx)]]
        if kind == "text":
            return []
        options = _scale_options(ctx) if kind == "scale" else _choice_options(question)
        return [[(o.label, o.value)] for o in options]

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> Any:
        """The answer as stored: int level or index, list of indexes, bool, or text."""
        question = _question(data)
        kind = question["kind"]
        if kind == "scale":
            return int(_pick(_scale_options(ctx), answer, "surveys.scale_invalid").value)
        if kind == "yesno":
            return _pick(_yesno_options(ctx), answer, "surveys.yesno_invalid").value == "yes"
        if kind == "single":
            options = _choice_options(question)
            return int(_pick(options, answer, "flow.not_an_option", count=len(options)).value)
        if kind == "multi":
            picked = await _multi(question).parse(ctx, _multi_data(data, question), answer)
            return picked if not isinstance(picked, list) else [int(v) for v in picked]
        return await read_text(ctx, data, answer)


def _answer_label(ctx: Context, question: dict[str, Any], value: Any) -> str | None:
    kind = question["kind"]
    if value is None or kind == "multi":
        return None
    if kind == "scale":
        return ctx.t("surveys.previous_choice", answer=_scale_options(ctx)[value - 1].label)
    if kind == "yesno":
        answer = ctx.t("surveys.yes" if value else "surveys.no")
        return ctx.t("surveys.previous_choice", answer=answer)
    if kind == "single":
        return ctx.t("surveys.previous_choice", answer=question["options"][value])
    shown = value if len(value) <= 80 else value[:79] + "…"
    return ctx.t("surveys.previous_text", answer=shown)


def _prompt(ctx: Context, data: dict[str, Any]) -> str:
    question = _question(data)
    total = len(data["_questions"])
    lines = [ctx.t("surveys.counter", number=data.get("_cursor", 0) + 1, total=total),
             question["text"]]
    if question["kind"] == "multi":
        lines.append(ctx.t("surveys.multi_hint"))
    elif question["kind"] == "text":
        hint = "surveys.text_hint_optional" if question["optional"] else "surveys.text_hint"
        lines.append(ctx.t(hint, maximum=number(MAX_TEXT)))
    earlier = _answer_label(ctx, question, (data.get("answers") or {}).get(question["code"]))
    if earlier:
        lines.append(earlier)
    return "\n".join(lines)


async def _save(ctx: Context, data: dict[str, Any], value: Any) -> str:
    cursor = data.get("_cursor", 0)
    question = data["_questions"][cursor]
    data["answers"] = {**(data.get("answers") or {}), question["code"]: value}
    data.pop(f"_picked_multi_{question['code']}", None)
    survey = await surveys.get(ctx.session, data["survey_id"])
    if cursor + 1 >= len(data["_questions"]) or survey is None or not survey.is_open(ctx.now()):
        return DONE
    data["_cursor"] = cursor + 1
    return _step_for(data["_questions"][cursor + 1])


async def _finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    survey = await surveys.get(ctx.session, data["survey_id"])
    now = ctx.now()
    if survey is None or not survey.is_open(now) or ctx.resident is None:
        return [_not_open_reply(ctx, survey), *common.menu(ctx)]
    await surveys.save_response(
        ctx.session,
        survey_id=survey.id,
        resident_id=ctx.resident.id,
        group_code=ctx.resident.group_code,
        answers=data.get("answers") or {},
        started_at=datetime.fromisoformat(data["started_at"]),
        now=now,
    )
    comment = Button(ctx.t("surveys.comment_button"), "cmd:khaosat:gopy")
    return [Reply(text=ctx.t("surveys.thanks"), buttons=((comment,),)), *common.menu(ctx)]


SURVEY = router.flow(
    Flow(
        name="survey",
        title_key="surveys.title",
        steps=(
            Step(REQUIRED, _prompt, QuestionInput(), save=_save),
            Step(OPTIONAL, _prompt, QuestionInput(), save=_save, optional=True),
        ),
        finish=_finish,
    )
)


class CommentInput:
    """A comment of up to MAX_TEXT characters."""

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """Typed, no buttons (the engine adds "Bỏ qua")."""
        return []

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """The comment text."""
        return await read_text(ctx, data, answer)


def _comment_prompt(ctx: Context, data: dict[str, Any]) -> str:
    return ctx.t("surveys.comment_prompt", maximum=number(MAX_TEXT))


async def _comment_done(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    if data.get("comment") is None:
        return [Reply(text=ctx.t("surveys.comment_skipped")), *common.menu(ctx)]
    survey = await surveys.get(ctx.session, data["survey_id"])
    if survey is None or not survey.is_open(ctx.now()) or ctx.resident is None:
        return [_not_open_reply(ctx, survey), *common.menu(ctx)]
    saved = await surveys.set_comment(
        ctx.session, survey.id, ctx.resident.id, data["comment"], ctx.now()
    )
    key = "surveys.comment_saved" if saved else "surveys.comment_needs_answer"
    return [Reply(text=ctx.t(key)), *common.menu(ctx)]


COMMENT = router.flow(
    Flow(
        name="survey_comment",
        title_key="surveys.comment_title",
        steps=(Step("COMMENT", _comment_prompt, CommentInput(), optional=True),),
        finish=_comment_done,
    )
)


async def _current_survey(ctx: Context) -> tuple[Survey | None, Survey | None]:
    """(the open survey, the latest survey) after making sure the ward's own one exists."""
    now = ctx.now()
    if ctx.ward.survey is not None:
        await surveys.ensure_ward_survey(ctx.session, ctx.ward.survey, now)
    survey = await surveys.open_survey(ctx.session, now)
    if survey is not None:
        return survey, survey
    return None, await surveys.latest_survey(ctx.session, now)


def _not_open_reply(ctx: Context, survey: Survey | None) -> Reply:
    if survey is None:
        return Reply(text=ctx.t("surveys.none_open"))
    if survey.closes_at is None:
        return Reply(text=ctx.t("surveys.closed_undated", title=survey.title))
    date = local_date(survey.closes_at)
    return Reply(text=ctx.t("surveys.closed", title=survey.title, date=date))


async def _start(ctx: Context, survey: Survey) -> list[Reply]:
    questions = [
        {"code": q.code, "kind": q.kind, "text": q.text, "options": list(q.options),
         "optional": q.optional}
        for q in await surveys.questions(ctx.session, survey.id)
    ]
    if not questions:
        return [Reply(text=ctx.t("surveys.none_open")), *common.menu(ctx)]
    data = {
        "survey_id": survey.id,
        "started_at": ctx.now().isoformat(),
        "answers": {},
        "_questions": questions,
        "_cursor": 0,
    }
    intro = Reply(text=ctx.t("surveys.intro", title=survey.title, count=len(questions)))
    return [intro, *await flows.start(ctx, SURVEY, data, at=_step_for(questions[0]))]


async def _start_comment(ctx: Context, survey: Survey | None) -> list[Reply]:
    if survey is None or ctx.resident is None:
        return [_not_open_reply(ctx, survey), *common.menu(ctx)]
    if await surveys.response_of(ctx.session, survey.id, ctx.resident.id) is None:
        return [Reply(text=ctx.t("surveys.comment_needs_answer")), *common.menu(ctx)]
    return await flows.start(ctx, COMMENT, {"survey_id": survey.id})


@router.command("khaosat", "survey", menu="surveys.menu", order=30,
                phrases=("khảo sát", "đánh giá", "làm khảo sát", "trả lời khảo sát"))
async def survey_command(ctx: Context) -> list[Reply]:
    """Start (or resume) the open survey; `/khaosat lai` answers again, `gopy` comments."""
    arg = ctx.incoming.args[0].lower() if ctx.incoming.args else ""
    wanted = COMMENT if arg == "gopy" else SURVEY
    current = flows.active_flow(ctx)
    if current is not None and current is not wanted:
        return [flows.busy_reply(ctx, current)]
    survey, latest = await _current_survey(ctx)
    if current is not None and (survey is None or ctx.state.data.get("survey_id") != survey.id):
        flows.clear(ctx)
        current = None
    if survey is None:
        return [_not_open_reply(ctx, latest), *common.menu(ctx)]
    if current is not None:
        return flows.resume(ctx)
    if wanted is COMMENT:
        return await _start_comment(ctx, survey)
    answered = None
    if arg != "lai" and ctx.resident is not None:
        answered = await surveys.response_of(ctx.session, survey.id, ctx.resident.id)
    if answered is not None:
        buttons = (
            (Button(ctx.t("surveys.again_button"), "cmd:khaosat:lai"),),
            (Button(ctx.t("surveys.later_button"), "cmd:menu"),),
        )
        text = ctx.t("surveys.already", date=local_date(answered.submitted_at))
        return [Reply(text=text, buttons=buttons)]
    return await _start(ctx, survey)
