"""The steps that differ when a leader registers a household for its head (/dangkyho).

    CONSENT  the leader confirms the head of household agreed ("Chưa" stores nothing)
    GROUP    one of the leader's own groups (officers: any); skipped with one group
    PHONE    the household's number, typed: the leader's own contact is not offered

The rest of the flow is the resident's (handlers.households). A leader naming another
group is refused and the attempt audited; the role and the group are checked again
before anything is stored.
"""

from __future__ import annotations

from typing import Any

from bot.context import Context
from bot.events import Button, Reply
from bot.flows import DONE, Step
from bot.inputs import Answer, Choice, Invalid, Option, Text
from bot.normalize import LOCAL_TZ
from bot.phones import normalize_phone
from bot.registry import STAFF
from handlers import common
from handlers.consent import NO_WORDS, YES_WORDS
from handlers.onboarding import group_options
from handlers.progress_scope import find_group, group_name, own_groups, refuse_other_group
from storage.models.households import Household
from storage.repos import audit


def _consent_prompt(ctx: Context, data: dict[str, Any]) -> str:
    return ctx.t("households.assist_consent", year=ctx.now().astimezone(LOCAL_TZ).year,
                 controller=ctx.ward.ward.data_controller)


def _consent_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [
        Option("yes", ctx.t("households.assist_agree"),
               aliases=(*YES_WORDS, "xác nhận", "đã đồng ý")),
        Option("no", ctx.t("households.assist_not_yet"), aliases=NO_WORDS),
    ]


def _save_consent(ctx: Context, data: dict[str, Any], value: str) -> str | None:
    if value != "yes":
        data["declined"] = True
        return DONE
    data["consent_at"] = ctx.now().isoformat()
    return "NAME" if data.get("group") else None


def own_group_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    """The groups the asker may register households in, in the ward file's order."""
    return [o for o in group_options(ctx, data) if ctx.may_act_on(o.value)]


class OwnGroupChoice(Choice):
    """One of the asker's groups; naming another group is refused and audited."""

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """The group's code, if the asker may register households in it."""
        try:
            return await super().parse(ctx, data, answer)
        except Invalid:
            named = find_group(ctx, answer.text) if answer.text else None
            if named is None:
                raise
        await refuse_other_group(ctx, "dangkyho", named)
        raise Invalid("households.assist_not_your_group", own=own_groups(ctx),
                      group=group_name(ctx, named))


def _save_group(ctx: Context, data: dict[str, Any], value: str) -> str:
    data["group"] = value
    return "CONFIRM" if data.pop("_return", None) else "NAME"


class TypedPhone(Text):
    """The household's phone, typed; a shared contact would be the leader's own number."""

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """The number in E.164 form (+84...)."""
        if answer.incoming.kind == "contact":
            raise Invalid("households.assist_phone_typed")
        normalized = normalize_phone(answer.text) if answer.text else None
        if normalized is None:
            raise Invalid("phone.invalid")
        return normalized


def _prompt(key: str) -> Any:
    return lambda ctx, data: ctx.t(key)


CONSENT = Step("CONSENT", _consent_prompt, Choice(_consent_options), save=_save_consent)
GROUP = Step("GROUP", _prompt("households.assist_ask_group"),
             OwnGroupChoice(own_group_options, columns=2), save=_save_group)
PHONE = Step("PHONE", _prompt("households.assist_ask_phone"), TypedPhone())


async def opening(ctx: Context) -> dict[str, Any] | list[Reply]:
    """The flow's first data, or the replies refusing it (a group that is not theirs)."""
    typed = " ".join(ctx.incoming.args).strip()
    own = [o.value for o in own_group_options(ctx, {})]
    data: dict[str, Any] = {"assisted": True}
    if typed:
        code = find_group(ctx, typed)
        if code is None:
            return [Reply(text=ctx.t("households.assist_unknown_group", text=typed))]
        if not ctx.may_act_on(code):
            return await refuse_other_group(ctx, "dangkyho", code)
        data["group"] = code
    elif len(own) == 1:
        data["group"] = own[0]
    elif not own:
        return [Reply(text=ctx.t("progress.no_groups"))]
    return data


async def still_allowed(ctx: Context, group_code: str) -> bool:
    """Whether the asker still may register in the group; a refusal is audited."""
    if ctx.role in STAFF and ctx.may_act_on(group_code):
        return True
    await refuse_other_group(ctx, "dangkyho", group_code)
    return False


async def done(
    ctx: Context, household: Household, year: int, campaigns: list[str]
) -> list[Reply]:
    """Audit the registration and thank the leader, offering the next household."""
    await audit.record(ctx.session, actor=ctx.actor, action="household_assisted",
                       target=f"household:{household.id}", at=ctx.now(),
                       group=household.group_code)
    text = ctx.t("households.assist_done", name=household.head_name, year=year,
                 group=group_name(ctx, household.group_code), count=len(campaigns))
    again = Button(ctx.t("households.assist_another"), "cmd:dangkyho")
    return [Reply(text=text, buttons=((again,),), remove_keyboard=True), *common.menu(ctx)]
