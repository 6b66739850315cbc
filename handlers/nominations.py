"""“Người tốt, việc tốt”: nominate a person or a collective (/decu), see one's own (/decucuatoi).

    CONSENT -agree-> KIND -> NAME -> GROUP -> FIELD -> DESCRIPTION -> PHOTO -> CONFIRM
       '-not now-> nothing stored                     ("Bỏ qua" skips it)  |   |
                          the chosen step <- EDIT <-------------- "✏️ Sửa" -'   |
                             '-> back to CONFIRM                  "Gửi" -> stored

The nominee is a third person: the bot asks only what the review needs, and the ward
contacts the nominee (and gets their agreement) before publishing anything about them.
Nothing is stored until the nominator confirms the summary; then the nomination is
"submitted" with a code like ND-2026-0042. Officers move it on: handlers.nomination_review.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import flows
from bot.context import Context
from bot.events import Button, Reply
from bot.flows import DONE, Flow, Step
from bot.inputs import Answer, Choice, Invalid, Option, Photo, Text
from bot.normalize import LOCAL_TZ, fold, local_date, number
from bot.registry import Router
from handlers import common
from handlers.consent import consent_step
from handlers.onboarding import group_options
from storage.models.nominations import COLLECTIVE, INDIVIDUAL, REJECTED, Nomination
from storage.repos import nominations as repo

router = Router()

NAME_LIMITS = {INDIVIDUAL: (2, 80), COLLECTIVE: (2, 120)}
DESCRIPTION_LIMITS = (20, 2000)
SUMMARY_PREVIEW = 300
LISTED = 10
NO_PHOTO_WORDS = frozenset(fold(w) for w in (
    "không có ảnh", "không có", "không", "chưa có", "chưa có ảnh", "ko", "ko có ảnh",
    "không có hình", "no", "no photo", "none",
))
NOT_NOW_WORDS = ("để sau", "không", "chưa", "no", "not now", "later", "ko", "k")


def _t_kind(ctx: Context, data: dict[str, Any], key: str, **params: Any) -> str:
    """The text `key` in its individual or collective wording."""
    kind = data.get("kind") if data.get("kind") in NAME_LIMITS else INDIVIDUAL
    return ctx.t(f"nominations.{key}_{kind}", **params)


def _group_name(ctx: Context, code: str) -> str:
    group = ctx.ward.group(code)
    return group.name if group else code


def _field_name(ctx: Context, code: str) -> str:
    return next((f.name for f in ctx.ward.fields if f.code == code), code)


@dataclass(frozen=True)
class NomineeName:
    """The nominee's name: a person's full name, or a group's; limits follow the kind."""

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """Names are typed."""
        return []

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """The name, spaces tidied, if its length fits and it has letters."""
        if answer.incoming.kind == "media":
            raise Invalid("nominations.text_not_photo")
        minimum, maximum = NAME_LIMITS.get(data.get("kind", ""), NAME_LIMITS[INDIVIDUAL])
        example = _t_kind(ctx, data, "name_example")
        text = Text(minimum, maximum, "nominations.name_too_short", "nominations.name_too_long")
        try:
            name = await text.parse(ctx, data, answer)
        except Invalid as problem:
            raise Invalid(problem.key, example=example, **problem.params) from None
        if not any(ch.isalpha() for ch in name):
            raise Invalid("nominations.name_needs_letters", example=example)
        return name


@dataclass(frozen=True)
class Description:
    """What the nominee did: 20 to 2,000 characters; a photo here is asked for later."""

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """Descriptions are typed."""
        return []

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """The description, if its length fits; counts in errors are written 2.000."""
        if answer.incoming.kind == "media":
            raise Invalid("nominations.photo_later")
        minimum, maximum = DESCRIPTION_LIMITS
        text = Text(
            minimum, maximum, "nominations.description_too_short",
            "nominations.description_too_long",
        )
        try:
            return await text.parse(ctx, data, answer)
        except Invalid as problem:
            params = {k: number(v) if isinstance(v, int) else v
                      for k, v in problem.params.items()}
            raise Invalid(problem.key, **params) from None


@dataclass(frozen=True)
class NomineePhoto(Photo):
    """A photo of the deed; besides "Bỏ qua", saying there is none also skips it."""

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> Any:
        """The photo's channel and reference, or None when the resident has no photo."""
        if answer.text is not None and fold(answer.text) in NO_PHOTO_WORDS:
            return None
        return await super().parse(ctx, data, answer)


@dataclass(frozen=True)
class GroupChoice(Choice):
    """Groups with the nominator's own first, on a row of its own, then two a row."""

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """The own group alone on the first row; the others in pairs."""
        items = [(o.label, o.value) for o in self.options(ctx, data)]
        own = ctx.resident.group_code if ctx.resident else None
        head = [items[:1]] if items and items[0][1] == own else []
        rest = items[len(head):]
        return head + [rest[i : i + 2] for i in range(0, len(rest), 2)]






def _kind_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [
        Option(INDIVIDUAL, ctx.t("nominations.kind_individual"),
               aliases=("cá nhân", "một người", "individual", "person")),
        Option(COLLECTIVE, ctx.t("nominations.kind_collective"),
               aliases=("tập thể", "nhóm", "đơn vị", "collective", "group")),
    ]


def _save_kind(ctx: Context, data: dict[str, Any], value: str) -> str | None:
    changed = data.get("kind") not in (None, value)
    data["kind"] = value
    # Editing the kind from the summary: the name's wording and limits change with it.
    return "NAME" if changed and data.get("_return") else None


def _nominee_group_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    options = group_options(ctx, data)
    own = ctx.resident.group_code if ctx.resident else None
    mine = next((o for o in options if o.value == own), None)
    if mine is None:
        return options
    same = Option(
        mine.value,
        ctx.t("nominations.same_group", group=mine.label),
        aliases=(*mine.aliases, mine.label, "cùng tổ", "cùng tổ với tôi", "same group"),
    )
    return [same, *(o for o in options if o.value != own)]


def _field_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [Option(f.code, f.name) for f in ctx.ward.fields]


def _confirm_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [
        Option("send", ctx.t("nominations.send"),
               aliases=("gửi", "gửi đi", "đồng ý", "xác nhận", "ok", "send")),
        Option("edit", ctx.t("nominations.edit"), aliases=("sửa", "chỉnh sửa", "edit")),
    ]


def _save_confirm(ctx: Context, data: dict[str, Any], value: str) -> str:
    return DONE if value == "send" else "EDIT"


EDITABLE = ("KIND", "NAME", "GROUP", "FIELD", "DESCRIPTION", "PHOTO")


def _edit_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    labels = {step: ctx.t(f"nominations.edit_{step.lower()}") for step in EDITABLE
              if step != "NAME"}
    labels["NAME"] = _t_kind(ctx, data, "edit_name")
    return [Option(step, labels[step]) for step in EDITABLE]


def _save_edit(ctx: Context, data: dict[str, Any], value: str) -> str:
    data["_return"] = "CONFIRM"
    return value


def _prompt(key: str) -> Callable[[Context, dict[str, Any]], str]:
    return lambda ctx, data: ctx.t(f"nominations.{key}")


def _name_prompt(ctx: Context, data: dict[str, Any]) -> str:
    maximum = NAME_LIMITS.get(data.get("kind", ""), NAME_LIMITS[INDIVIDUAL])[1]
    return _t_kind(ctx, data, "ask_name", maximum=maximum)


def _group_prompt(ctx: Context, data: dict[str, Any]) -> str:
    return _t_kind(ctx, data, "ask_group", name=data.get("name", ""))


def _description_prompt(ctx: Context, data: dict[str, Any]) -> str:
    minimum, maximum = DESCRIPTION_LIMITS
    return ctx.t("nominations.ask_description", name=data.get("name", ""),
                 minimum=number(minimum), maximum=number(maximum))


def _summary_prompt(ctx: Context, data: dict[str, Any]) -> str:
    description = data.get("description", "")
    if len(description) > SUMMARY_PREVIEW:
        description = description[:SUMMARY_PREVIEW].rstrip() + "…"
    photo = "nominations.photo_attached" if data.get("photo") else "nominations.photo_none"
    return ctx.t(
        "nominations.summary",
        kind=_t_kind(ctx, data, "kind"),
        name_label=_t_kind(ctx, data, "name_label"),
        name=data.get("name", ""),
        group=_group_name(ctx, data.get("group", "")),
        field=_field_name(ctx, data.get("field", "")),
        description=description,
        photo=ctx.t(photo),
    )


async def _finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    if data.get("declined"):
        return [Reply(text=ctx.t("nominations.declined"), remove_keyboard=True),
                *common.menu(ctx)]
    if ctx.resident is None:
        return await common.require_join(ctx)
    photo = data.get("photo") or {}
    now = ctx.now()
    nomination = await repo.create(
        ctx.session,
        nominator_resident_id=ctx.resident.id,
        kind=data["kind"],
        nominee_name=data["name"],
        group_code=data["group"],
        field_code=data["field"],
        description=data["description"],
        photo_channel=photo.get("channel"),
        photo_ref=photo.get("file_ref"),
        year=now.astimezone(LOCAL_TZ).year,
        now=now,
    )
    thanks = ctx.t("nominations.thanks", code=nomination.code)
    return [Reply(text=thanks, remove_keyboard=True), *common.menu(ctx)]


NOMINATION = router.flow(
    Flow(
        name="nomination",
        title_key="nominations.title",
        steps=(
            consent_step(_prompt("intro"), "nominations.agree", "nominations.not_now"),
            Step("KIND", _prompt("ask_kind"), Choice(_kind_options, columns=2), save=_save_kind),
            Step("NAME", _name_prompt, NomineeName()),
            Step("GROUP", _group_prompt, GroupChoice(_nominee_group_options)),
            Step("FIELD", _prompt("ask_field"), Choice(_field_options)),
            Step("DESCRIPTION", _description_prompt, Description()),
            Step("PHOTO", _prompt("ask_photo"), NomineePhoto(), optional=True),
            Step("CONFIRM", _summary_prompt, Choice(_confirm_options, columns=2),
                 save=_save_confirm),
            Step("EDIT", _prompt("ask_edit"), Choice(_edit_options, columns=2),
                 save=_save_edit),
        ),
        finish=_finish,
    )
)


@router.command("decu", "nominate", menu="nominations.menu", order=20,
                phrases=("đề cử", "người tốt việc tốt", "người tốt, việc tốt", "nominate"))
async def nominate(ctx: Context) -> list[Reply]:
    """Start (or pick up) a nomination."""
    return await flows.start(ctx, NOMINATION)


def _describe(ctx: Context, nomination: Nomination) -> str:
    text = ctx.t(
        "nominations.mine_item",
        code=nomination.code,
        name=nomination.nominee_name,
        field=_field_name(ctx, nomination.field_code),
        date=local_date(nomination.created_at),
        status=ctx.t(f"nominations.status.{nomination.status}"),
    )
    if nomination.status == REJECTED and nomination.status_reason:
        text += "\n" + ctx.t("nominations.mine_reason", reason=nomination.status_reason)
    return text


@router.command("decucuatoi", "mynominations", menu="nominations.menu_mine", order=21,
                phrases=("đề cử của tôi", "my nominations"))
async def my_nominations(ctx: Context) -> list[Reply]:
    """The asker's own nominations with their status, newest first."""
    found = await repo.for_resident(ctx.session, ctx.resident.id) if ctx.resident else []
    flow = flows.active_flow(ctx)
    # Listing leaves a nomination in progress alone; offer to go back to it.
    after = [flows.busy_reply(ctx, flow)] if flow is not None else common.menu(ctx)
    if not found:
        button = Button(ctx.t("nominations.nominate_now"), "cmd:decu")
        after = after if flow is not None else []
        return [Reply(text=ctx.t("nominations.mine_none"), buttons=((button,),)), *after]
    parts = [ctx.t("nominations.mine_title", count=number(len(found)))]
    parts += [_describe(ctx, n) for n in found[:LISTED]]
    if len(found) > LISTED:
        parts.append(ctx.t("nominations.mine_more", count=number(len(found) - LISTED)))
    return [Reply(text="\n\n".join(parts)), *after]
