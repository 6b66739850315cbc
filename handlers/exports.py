"""Exports in chat (/xuat): choose what, which format, and the survey or year; get the file.

    /xuat -> WHAT (surveys · registrations · nominations: what the role may have;
             |      a leader has only surveys, so this step is skipped)
             '-> FORMAT (Excel · CSV · PNG chart)
                  '-> WHICH (the survey, when there are several; the year otherwise)
                       '-> the file as a document, or a 15-minute link where the
                           channel cannot send files (Zalo)

    /xuat khaosat excel · /xuat dangky csv 2025 · /xuat decu png   (straight to the file)

The export itself (role checks, audit, streaming) is bot.exports.build_export.
"""

from __future__ import annotations

from typing import Any

from bot import downloads, flows
from bot.context import Context
from bot.events import Reply
from bot.exports import ExportError, ExportRequest, build_export, in_memory
from bot.flows import DONE, Flow, Step
from bot.inputs import Answer, Choice, Invalid, Option
from bot.normalize import LOCAL_TZ, fold, local_date
from bot.registry import OFFICERS, STAFF, Router
from bot.settings import Settings, load_settings
from handlers.progress_scope import own_groups
from storage.repos import exports as repo

router = Router()

KIND_WORDS = {
    "surveys": ("khaosat", "khao sat", "survey", "surveys", "hailong"),
    "registrations": ("dangky", "dang ky", "ho", "households", "registrations"),
    "nominations": ("decu", "de cu", "nominations", "nomination"),
}
FORMAT_WORDS = {
    "xlsx": ("excel", "xlsx", "xls"),
    "csv": ("csv",),
    "png": ("png", "bieudo", "bieu do", "chart", "anh"),
}
SURVEYS_SHOWN = 5


def _year(ctx: Context) -> int:
    return ctx.now().astimezone(LOCAL_TZ).year


def _kinds(ctx: Context) -> list[str]:
    return list(KIND_WORDS) if ctx.role in OFFICERS else ["surveys"]


def _kind_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [Option(kind, ctx.t(f"exports.kind_{kind}"), aliases=KIND_WORDS[kind])
            for kind in _kinds(ctx)]


def _format_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [Option(fmt, ctx.t(f"exports.fmt_{fmt}"), aliases=FORMAT_WORDS[fmt])
            for fmt in FORMAT_WORDS]


def _which_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    if data["kind"] == "surveys":
        return [Option(f"s{sid}", label) for sid, label in data.get("surveys", [])]
    year = _year(ctx)
    return [Option(f"y{year}", ctx.t("exports.this_year", year=year)),
            Option(f"y{year - 1}", ctx.t("exports.year_button", year=year - 1))]


class WhichChoice(Choice):
    """The survey or year buttons; a typed four-digit year picks that year."""

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """'y<year>' for a typed year, else the option chosen."""
        typed = (answer.text or "").strip()
        if data["kind"] != "surveys" and len(typed) == 4 and typed.isdigit():
            return f"y{typed}"
        try:
            return await super().parse(ctx, data, answer)
        except Invalid:
            if data["kind"] != "surveys" and answer.text is not None:
                raise Invalid("exports.year_invalid") from None
            raise


def _what(ctx: Context, kind: str) -> str:
    return ctx.t(f"exports.kind_{kind}").split(" ", 1)[-1]


def _format_prompt(ctx: Context, data: dict[str, Any]) -> str:
    if ctx.role in OFFICERS:
        return ctx.t("exports.ask_format", what=_what(ctx, data["kind"]))
    return ctx.t("exports.ask_format_groups", what=_what(ctx, data["kind"]),
                 groups=own_groups(ctx))


def _which_prompt(ctx: Context, data: dict[str, Any]) -> str:
    return ctx.t("exports.ask_survey" if data["kind"] == "surveys" else "exports.ask_year")


def _save_kind(ctx: Context, data: dict[str, Any], value: str) -> str:
    data["kind"] = value
    return "FORMAT"


async def _save_format(ctx: Context, data: dict[str, Any], value: str) -> str:
    data["fmt"] = value
    if data["kind"] != "surveys":
        return "WHICH"
    found = await repo.recent_surveys(ctx.session, SURVEYS_SHOWN)
    if len(found) <= 1:
        return DONE
    data["surveys"] = [[s.id, f"{s.title[:40]} ({local_date(s.opens_at)})"] for s in found]
    return "WHICH"


def _save_which(ctx: Context, data: dict[str, Any], value: str) -> str:
    key = "survey_id" if value.startswith("s") else "year"
    data[key] = int(value[1:])
    return DONE


async def _finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    request = ExportRequest(data["kind"], data["fmt"], year=data.get("year"),
                            survey_id=data.get("survey_id"))
    return await deliver(ctx, request)


EXPORT = router.flow(Flow(
    name="exports",
    title_key="exports.flow_title",
    steps=(
        Step("WHAT", lambda ctx, data: ctx.t("exports.ask_kind"), Choice(_kind_options),
             save=_save_kind),
        Step("FORMAT", _format_prompt, Choice(_format_options), save=_save_format),
        Step("WHICH", _which_prompt, WhichChoice(_which_options), save=_save_which),
    ),
    finish=_finish,
))


def _settings(ctx: Context) -> Settings:
    # Tests may build a dispatcher without settings: then THIDUA_* as at start.
    return ctx.settings or load_settings()


async def deliver(ctx: Context, request: ExportRequest) -> list[Reply]:
    """Make the export and send it: a document, or a short-lived link without documents."""
    try:
        attachment = await build_export(
            ctx.session, request, ward=ctx.ward, role=ctx.role, now=ctx.now(),
            actor=ctx.actor, own_groups=ctx.groups, lang=ctx.lang,
        )
    except ExportError as problem:
        return [Reply(text=ctx.t(problem.key, **problem.params))]
    attachment = in_memory(attachment)
    if ctx.capabilities.documents or (ctx.capabilities.photos and attachment.mime == "image/png"):
        return [Reply(text=ctx.t("exports.ready"), attachment=attachment)]
    settings = _settings(ctx)
    url = await downloads.publish(ctx.session, attachment, settings=settings,
                                  actor=ctx.actor, now=ctx.now())
    minutes = settings.download_ttl_seconds // 60
    return [Reply(text=ctx.t("exports.link", caption=attachment.caption or "", url=url,
                             minutes=minutes))]


def _parse_args(args: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """Kind, format and year named after the command; what was not understood."""
    found: dict[str, Any] = {}
    unknown = []
    for word in (fold(a) for a in args):
        kind = next((k for k, words in KIND_WORDS.items() if word in words), None)
        fmt = next((f for f, words in FORMAT_WORDS.items() if word in words), None)
        if kind:
            found["kind"] = kind
        elif fmt:
            found["fmt"] = fmt
        elif len(word) == 4 and word.isdigit():
            found["year"] = int(word)
        else:
            unknown.append(word)
    return found, unknown


@router.command("xuat", "export", roles=STAFF, menu="exports.menu", order=46,
                phrases=("xuất dữ liệu", "xuất báo cáo", "xuất file", "xuất excel"))
async def export_command(ctx: Context) -> list[Reply]:
    """Start the export flow, or export straight away when kind and format are typed."""
    found, unknown = _parse_args(ctx.incoming.args)
    if unknown:
        return [Reply(text=ctx.t("exports.args_unknown", text=" ".join(ctx.incoming.args)))]
    if "kind" in found and "fmt" in found:
        if flows.active_flow(ctx) is EXPORT:
            flows.clear(ctx)
        return await deliver(ctx, ExportRequest(found["kind"], found["fmt"],
                                                year=found.get("year")))
    kinds = _kinds(ctx)
    if found.get("kind", kinds[0]) not in kinds:
        # Refused (and audited) by build_export, before any question is asked.
        return await deliver(ctx, ExportRequest(found["kind"], found.get("fmt", "xlsx")))
    if "kind" not in found and len(kinds) == 1:
        found["kind"] = kinds[0]
    if "kind" in found:
        return await flows.start(ctx, EXPORT, data=found, at="FORMAT")
    return await flows.start(ctx, EXPORT, data=found)
