"""Adding a reminder rule in chat (officers), one question at a time.

NAME -> SCHEDULE (presets or a typed cron; the next 3 sends are shown)
     -> AUDIENCE [-> CAMPAIGN] -> GROUPS [-> PICK] -> MESSAGE [-> DEADLINE, if {han}]
     -> CONFIRM (the message as one example resident will read it) -> saved, audited
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.context import Context
from bot.events import Reply
from bot.flows import Flow, Step
from bot.inputs import Answer, Choice, Invalid, MultiChoice, Option, Text, match_option
from bot.normalize import LOCAL_TZ
from bot.registry import OFFICERS
from handlers import common
from handlers import reminder_rules as rules
from handlers import reminder_service as service
from handlers.consent import confirm_step
from handlers.onboarding import group_options
from storage.repos import reminders


async def refuse_unless_officer(ctx: Context, what: str) -> list[Reply] | None:
    """A refusal (audited) when the asker lost the officer role mid-flow, else None."""
    if ctx.role in OFFICERS:
        return None
    await common.deny(ctx, what)
    return [Reply(text=ctx.t("error.not_allowed")), *common.menu(ctx)]


def audience_label(ctx: Context, audience: str) -> str:
    """'Người chưa trả lời khảo sát', 'Người tham gia “Ngôi nhà xanh”', ..."""
    if audience.startswith("campaign:"):
        code = audience.removeprefix("campaign:")
        name = next((c.name for c in ctx.ward.campaigns if c.code == code), code)
        return ctx.t("reminders.audience_campaign_named", campaign=name)
    return ctx.t(f"reminders.audience_{audience}")


def groups_label(ctx: Context, groups: list[str] | None) -> str:
    """'cả phường', up to three group names, or 'n tổ dân phố'."""
    if not groups:
        return ctx.t("reminders.whole_ward")
    if len(groups) > 3:
        return ctx.t("reminders.some_groups", count=len(groups))
    return ", ".join(g.name if (g := ctx.ward.group(code)) else code for code in groups)


def next_send(ctx: Context, cron: str) -> str:
    """The next fire time as dd/mm/yyyy HH:MM (or a dash when there is none)."""
    upcoming = rules.next_fires(cron, ctx.now(), count=1)
    return rules.when(upcoming[0]) if upcoming else "—"


@dataclass(frozen=True)
class ScheduleInput:
    """A preset schedule by button, number or label, or a typed five-field cron line."""

    def _options(self, ctx: Context) -> list[Option]:
        return [Option(key, ctx.t(f"reminders.preset_{key}")) for key in rules.PRESETS]

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """One preset per row."""
        return [[(o.label, o.value)] for o in self._options(ctx)]

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """The cron line of the preset, or the typed one if APScheduler accepts it."""
        if answer.button is not None:
            if answer.button in rules.PRESETS:
                return rules.PRESETS[answer.button]
            raise Invalid("flow.stale_button")
        text = answer.text or ""
        picked = match_option(self._options(ctx), text) if text else None
        if picked is not None:
            return rules.PRESETS[picked.value]
        cron = " ".join(text.split())
        if not cron or rules.cron_problem(cron) is not None:
            raise Invalid("reminders.bad_cron", cron=cron)
        return cron


def _schedule_note(ctx: Context, cron: str) -> str:
    schedule = rules.describe(cron, ctx.lang)
    upcoming = rules.next_fires(cron, ctx.now())
    if not upcoming:
        return ctx.t("reminders.no_next", schedule=schedule)
    listed = ", ".join(rules.when(moment) for moment in upcoming)
    note = ctx.t("reminders.schedule_chosen", schedule=schedule, next=listed)
    return f"{note}\n{ctx.t('reminders.quiet_note')}"


async def _save_name(ctx: Context, data: dict[str, Any], value: str) -> None:
    if await reminders.by_name(ctx.session, value) is not None:
        raise Invalid("reminders.name_taken", name=value)
    data["name"] = value


def _audience_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [
        Option(key, ctx.t(f"reminders.audience_{key}"))
        for key in (*rules.BASE_AUDIENCES, "campaign")
    ]


def _save_audience(ctx: Context, data: dict[str, Any], value: str) -> str:
    if value == "campaign":
        return "CAMPAIGN"
    data["audience"] = value
    return "GROUPS"


def _campaign_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [Option(c.code, c.name) for c in ctx.ward.campaigns]


def _save_campaign(ctx: Context, data: dict[str, Any], value: str) -> None:
    data["audience"] = f"campaign:{value}"


def _groups_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [
        Option("all", ctx.t("reminders.groups_all"), aliases=("ca phuong", "tat ca")),
        Option("some", ctx.t("reminders.groups_some")),
    ]


def _save_groups(ctx: Context, data: dict[str, Any], value: str) -> str | None:
    if value == "all":
        data["groups"] = None
        return "MESSAGE"
    return None


def _save_picked(ctx: Context, data: dict[str, Any], value: list[str]) -> None:
    data["groups"] = None if len(value) == len(ctx.ward.groups) else value


async def _save_message(ctx: Context, data: dict[str, Any], value: str) -> str:
    value = rules.tidy_template(value)
    piece = rules.template_problem(value)
    if piece is not None:
        raise Invalid(
            "reminders.bad_placeholder", piece=piece, allowed=rules.allowed_placeholders()
        )
    data["message"] = value
    if "{han}" in value:
        return "DEADLINE"
    data["deadline"] = None
    await _prepare_preview(ctx, data)
    return "CONFIRM"


async def _save_deadline(ctx: Context, data: dict[str, Any], value: str) -> None:
    try:
        deadline = rules.parse_date(value)
    except ValueError:
        raise Invalid("reminders.bad_date") from None
    if deadline < ctx.now().astimezone(LOCAL_TZ).date():
        raise Invalid("reminders.past_date", date=rules.deadline_text(deadline))
    data["deadline"] = deadline.isoformat()
    await _prepare_preview(ctx, data)


async def _prepare_preview(ctx: Context, data: dict[str, Any]) -> None:
    """Who would get it today, and the message as the first of them would read it."""
    people = await service.recipients_for(
        ctx.session, ctx.ward, audience=data["audience"], groups=data["groups"], at=ctx.now()
    )
    codes = data["groups"] or [g.code for g in ctx.ward.groups]
    person = people[0] if people else service.Addressee(0, "", "", "vi", codes[0], None)
    group = ctx.ward.group(person.group_code)
    group_name = group.name if group else person.group_code
    if person.head_name:
        example = ctx.t("reminders.example_named", name=person.head_name, group=group_name)
    else:
        example = ctx.t("reminders.example_anyone", group=group_name)
    deadline = date.fromisoformat(data["deadline"]) if data.get("deadline") else None
    reply = service.message_for(ctx.ward, data["message"], deadline, person)
    data["_preview"] = {
        "count": len({p.resident_id for p in people}),
        "example": example,
        "message": reply.text,
    }


def _preview_prompt(ctx: Context, data: dict[str, Any]) -> str:
    preview = data.get("_preview", {})
    return ctx.t(
        "reminders.preview",
        name=data["name"],
        schedule=rules.describe(data["schedule"], ctx.lang),
        audience=audience_label(ctx, data["audience"]),
        groups=groups_label(ctx, data["groups"]),
        count=preview.get("count", 0),
        example=preview.get("example", ""),
        message=preview.get("message", ""),
    )


async def _finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    refused = await refuse_unless_officer(ctx, "/nhacnho")
    if refused is not None:
        return refused
    if not data.get("confirmed"):
        return [Reply(text=ctx.t("reminders.not_saved")), *common.menu(ctx)]
    try:
        rule = await service.add(
            ctx.session,
            ctx.ward,
            name=data["name"],
            cron=data["schedule"],
            audience=data["audience"],
            groups=data["groups"],
            message=data["message"],
            deadline=date.fromisoformat(data["deadline"]) if data.get("deadline") else None,
            actor=ctx.actor,
            at=ctx.now(),
        )
    except service.RuleError as problem:
        return [Reply(text=ctx.t(problem.key, **problem.params)), *common.menu(ctx)]
    text = ctx.t("reminders.saved", name=rule.name, next=next_send(ctx, rule.cron))
    return [Reply(text=text), *common.menu(ctx)]


ADD = Flow(
    name="reminder_add",
    title_key="reminders.add_title",
    steps=(
        Step("NAME", lambda ctx, data: ctx.t("reminders.ask_name"), Text(3, 80), save=_save_name),
        Step("SCHEDULE", lambda ctx, data: ctx.t("reminders.ask_schedule"), ScheduleInput()),
        Step(
            "AUDIENCE",
            lambda ctx, data: (
                _schedule_note(ctx, data["schedule"]) + "\n\n" + ctx.t("reminders.ask_audience")
            ),
            Choice(_audience_options),
            save=_save_audience,
        ),
        Step(
            "CAMPAIGN",
            lambda ctx, data: ctx.t("reminders.ask_campaign"),
            Choice(_campaign_options),
            save=_save_campaign,
        ),
        Step(
            "GROUPS",
            lambda ctx, data: ctx.t("reminders.ask_groups"),
            Choice(_groups_options),
            save=_save_groups,
        ),
        Step(
            "PICK",
            lambda ctx, data: ctx.t("reminders.ask_pick_groups"),
            MultiChoice(group_options, key="groups"),
            save=_save_picked,
        ),
        Step(
            "MESSAGE",
            lambda ctx, data: ctx.t("reminders.ask_message"),
            Text(5, 1000, too_short="reminders.bad_length", too_long="reminders.bad_length"),
            save=_save_message,
        ),
        Step(
            "DEADLINE",
            lambda ctx, data: ctx.t("reminders.ask_deadline"),
            Text(6, 12, too_short="reminders.bad_date", too_long="reminders.bad_date"),
            save=_save_deadline,
        ),
        confirm_step(
            _preview_prompt,
            "reminders.confirm_save",
            "reminders.confirm_cancel",
            yes_words=("có", "lưu", "đồng ý", "yes"),
        ),
    ),
    finish=_finish,
)
