"""Broadcasts: a leader writes to the residents of their groups, an officer to any.

/thongbao -> SCOPE (officers: whole ward, one group, several) -> GROUP | GROUPS
          -> AUDIENCE -> TEXT -> CONFIRM (preview and count) -> queued in the outbox
A leader of one group starts at AUDIENCE, of several at GROUPS (only their own);
`/thongbao 5` starts at AUDIENCE for group 05 if the asker may act on it. Naming a group
the asker does not lead is refused and audited. /tinhtrang shows a broadcast's progress.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot import flows
from bot.context import Context
from bot.events import Button, Reply
from bot.flows import DONE, Flow, Step
from bot.inputs import Answer, Choice, Invalid, MultiChoice, Option, Text, match_option
from bot.normalize import fold, number
from bot.registry import LEADER, STAFF, Router
from bot.ward import Group
from handlers import broadcast_status, common
from handlers.broadcast_service import (
    Audience,
    audience_label,
    find_recipients,
    local_year,
    people,
    send,
    signed,
    where,
)
from handlers.onboarding import group_options
from storage.models.zalo_oa import CS_WINDOW, FREE_WINDOW
from storage.repos import surveys, zalo_oa_followers

logger = logging.getLogger(__name__)
router = Router()
AUDIENCE_ICONS = {"all": "👥", "reminders": "🔔", "unregistered": "🏠", "no_survey": "📝"}


def named_group(ctx: Context, text: str) -> Group | None:
    """The ward's group a typed text names: '5', '05', 'tổ 5', 'Tổ dân phố 5'."""
    folded = fold(text)
    if folded.isdigit():
        return next((g for g in ctx.ward.groups if g.code.lstrip("0") == folded.lstrip("0")), None)
    picked = match_option(group_options(ctx, {}), text)
    return ctx.ward.group(picked.value) if picked is not None else None


async def refuse_group(ctx: Context, group: Group) -> Invalid:
    """Audit an attempt on a group the asker does not lead; the refusal to show."""
    logger.warning("refused /thongbao to group %s for %s", group.code, ctx.actor)
    await common.deny(ctx, f"group:{group.code}", command="/thongbao")
    return Invalid("broadcasts.not_your_group", own=_own(ctx), group=group.name)


def _own(ctx: Context) -> str:
    return ", ".join(g.name for g in ctx.ward.groups if g.code in ctx.groups)


@dataclass(frozen=True)
class OwnGroups:
    """Pick among the groups offered; naming any other group is refused and audited."""

    inner: Choice | MultiChoice

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """The inner input's buttons."""
        return self.inner.buttons(ctx, data)

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> Any:
        """The inner answer; a typed group outside the offer raises a refusal."""
        try:
            return await self.inner.parse(ctx, data, answer)
        except Invalid:
            named = named_group(ctx, answer.text) if answer.text else None
            if named is None or named.code in data.get("choices", []):
                raise
            raise await refuse_group(ctx, named) from None


def _scope_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    count = len(ctx.ward.groups)
    return [
        Option("ward", ctx.t("broadcasts.scope_ward", count=count), aliases=("toàn phường",)),
        Option("one", ctx.t("broadcasts.scope_one"), aliases=("một tổ",)),
        Option("several", ctx.t("broadcasts.scope_several"), aliases=("nhiều tổ", "một số tổ")),
    ]


def _save_scope(ctx: Context, data: dict[str, Any], value: str) -> str:
    if value == "ward":
        data["groups"] = [g.code for g in ctx.ward.groups]
        return "AUDIENCE"
    return "GROUP" if value == "one" else "GROUPS"


def _group_choices(ctx: Context, data: dict[str, Any]) -> list[Option]:
    allowed = set(data.get("choices", []))
    return [o for o in group_options(ctx, data) if o.value in allowed]


def _save_group(ctx: Context, data: dict[str, Any], value: str) -> str:
    data["groups"] = [value]
    return "AUDIENCE"


def _groups_prompt(ctx: Context, data: dict[str, Any]) -> str:
    if ctx.role == LEADER:
        return ctx.t("broadcasts.pick_own_groups", groups=_own(ctx))
    return ctx.t("broadcasts.pick_groups")


def _audience(data: dict[str, Any]) -> Audience:
    return Audience(data.get("audience") or "all", data["year"], data.get("survey_id"))


def _audience_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    names = ["all", "reminders", "unregistered"] + (["no_survey"] if data.get("survey_id") else [])
    return [
        Option(name, f"{AUDIENCE_ICONS[name]} {audience_label(name, ctx.lang, data['year'])}")
        for name in names
    ]


def _audience_prompt(ctx: Context, data: dict[str, Any]) -> str:
    return ctx.t("broadcasts.audience", where=where(ctx.ward, data["groups"], ctx.lang))


def _text_prompt(ctx: Context, data: dict[str, Any]) -> str:
    if data.get("text"):
        return ctx.t("broadcasts.text_again", text=data["text"])
    return ctx.t("broadcasts.text")


async def _save_text(ctx: Context, data: dict[str, Any], value: str) -> None:
    data["text"] = value
    recipients = await find_recipients(ctx.session, data["groups"], _audience(data))
    data["people"], data["chats"] = people(recipients), len(recipients)
    data["waiting"] = await _oa_waiting(ctx, [r.chat_id for r in recipients
                                             if r.channel == "zalo_oa"])
    data["sample"] = recipients[0].group_code if recipients else data["groups"][0]


async def _oa_waiting(ctx: Context, oa_chats: list[str]) -> int:
    """Zalo OA chats the message cannot reach now: it waits for their next message."""
    settings = ctx.settings
    if not oa_chats or (settings is not None and settings.zalo_oa_template_id):
        return 0
    paid = settings is not None and settings.zalo_oa_paid_messages
    since = ctx.now() - (CS_WINDOW if paid else FREE_WINDOW)
    return await zalo_oa_followers.outside_window(ctx.session, oa_chats, since)


def _preview(ctx: Context, data: dict[str, Any]) -> str:
    text = _preview_text(ctx, data)
    if data.get("people") and data.get("waiting"):
        text += "\n" + ctx.t("broadcasts.preview_waiting", waiting=number(data["waiting"]))
    return text


def _preview_text(ctx: Context, data: dict[str, Any]) -> str:
    return ctx.t(
        "broadcasts.preview" if data["people"] else "broadcasts.preview_none",
        message=signed(ctx.ward, ctx.role, data["sample"], data["text"], ctx.lang),
        people=number(data["people"]),
        chats=number(data["chats"]),
        where=where(ctx.ward, data["groups"], ctx.lang),
        audience=audience_label(_audience(data).name, ctx.lang, data["year"]),
    )


def _confirm_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    options = [
        Option("edit", ctx.t("broadcasts.edit_button"), aliases=("sửa", "sua lai", "edit")),
        Option("cancel", ctx.t("broadcasts.cancel_button"), aliases=("không", "cancel")),
    ]
    if data.get("people"):
        send_label = ctx.t("broadcasts.send_button", people=number(data["people"]))
        options.insert(0, Option("send", send_label, aliases=("gửi", "gửi đi", "send")))
    return options


def _save_confirm(ctx: Context, data: dict[str, Any], value: str) -> str:
    if value == "edit":
        return "TEXT"
    data["confirm"] = value
    return DONE


async def _finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    if data.get("confirm") != "send":
        return [Reply(text=ctx.t("broadcasts.cancelled")), *common.menu(ctx)]
    # The role is checked again: it may have been revoked while the message was written.
    outside = [g for g in data["groups"] if not ctx.may_act_on(g)]
    if ctx.role not in STAFF or outside:
        for code in outside:
            group = ctx.ward.group(code)
            if group is not None:
                await refuse_group(ctx, group)
        return [Reply(text=ctx.t("error.not_allowed")), *common.menu(ctx)]
    broadcast = await send(
        ctx.session,
        ctx.ward,
        actor=ctx.actor,
        author_resident_id=ctx.resident.id if ctx.resident else None,
        role=ctx.role,
        groups=data["groups"],
        audience=_audience(data),
        text=data["text"],
        now=ctx.now(),
    )
    if broadcast is None:
        return [Reply(text=ctx.t("broadcasts.nobody_now")), *common.menu(ctx)]
    queued = ctx.t("broadcasts.queued", messages=number(broadcast.messages), id=broadcast.id)
    progress = Button(ctx.t("broadcasts.status_button"), f"cmd:tinhtrang:{broadcast.id}")
    return [Reply(text=queued, buttons=((progress,),)), *common.menu(ctx)]


BROADCAST = router.flow(
    Flow(
        name="broadcast",
        title_key="broadcasts.title",
        steps=(
            Step(
                "SCOPE",
                lambda ctx, data: ctx.t("broadcasts.scope"),
                Choice(_scope_options),
                save=_save_scope,
            ),
            Step(
                "GROUP",
                lambda ctx, data: ctx.t("broadcasts.pick_group"),
                OwnGroups(Choice(_group_choices, columns=2)),
                save=_save_group,
            ),
            Step("GROUPS", _groups_prompt, OwnGroups(MultiChoice(_group_choices, key="groups"))),
            Step("AUDIENCE", _audience_prompt, Choice(_audience_options)),
            Step(
                "TEXT",
                _text_prompt,
                Text(
                    minimum=5,
                    maximum=2000,
                    too_short="broadcasts.text_too_short",
                    too_long="broadcasts.text_too_long",
                ),
                save=_save_text,
            ),
            Step("CONFIRM", _preview, Choice(_confirm_options), save=_save_confirm),
        ),
        finish=_finish,
    )
)


@router.command(
    "thongbao",
    "broadcast",
    roles=STAFF,
    phrases=("thông báo", "gửi thông báo"),
    menu="broadcasts.menu",
    order=40,
)
async def broadcast(ctx: Context) -> list[Reply]:
    """Write a message to the residents of one's groups (officers: any, or the ward)."""
    now = ctx.now()
    survey = await surveys.open_survey(ctx.session, now)
    data: dict[str, Any] = {"year": local_year(now), "survey_id": survey.id if survey else None}
    own = [g.code for g in ctx.ward.groups if ctx.may_act_on(g.code)]
    if ctx.incoming.args:
        named = named_group(ctx, " ".join(ctx.incoming.args))
        if named is None:
            name = " ".join(ctx.incoming.args)
            return [Reply(text=ctx.t("broadcasts.unknown_group", name=name))]
        if not ctx.may_act_on(named.code):
            refusal = await refuse_group(ctx, named)
            return [Reply(text=ctx.t(refusal.key, **refusal.params)), *common.menu(ctx)]
        data.update(groups=[named.code], choices=[named.code])
        return await flows.start(ctx, BROADCAST, data, at="AUDIENCE")
    data["choices"] = own
    if ctx.role != LEADER:
        return await flows.start(ctx, BROADCAST, data, at="SCOPE")
    if len(own) == 1:
        data["groups"] = own
        return await flows.start(ctx, BROADCAST, data, at="AUDIENCE")
    return await flows.start(ctx, BROADCAST, data, at="GROUPS")


router.command(
    "tinhtrang", "broadcaststatus", roles=STAFF, phrases=("tình trạng thông báo",)
)(broadcast_status.status)
