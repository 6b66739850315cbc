"""Reminders in chat: residents stop and restart them; officers manage the rules.

/tatnhac, /batnhac   a resident stops or restarts reminders (broadcasts still reach them)
/nhacnho             officers: the rules with their schedule in words, audience, groups,
                     status and last send; buttons to add (handlers/reminder_add.py),
                     pause/resume (RULE) and delete (RULE -> CONFIRM); every change audited
"""

from __future__ import annotations

from typing import Any

from bot import flows
from bot.context import Context
from bot.events import Button, Reply
from bot.flows import DONE, Flow, Step
from bot.inputs import Choice, Option
from bot.normalize import local_date
from bot.registry import JOINED, OFFICERS, Router
from handlers import common
from handlers import reminder_rules as rules
from handlers import reminder_service as service
from handlers.consent import confirm_step
from handlers.reminder_add import (
    ADD,
    audience_label,
    groups_label,
    next_send,
    refuse_unless_officer,
)
from storage.models.reminders import ACTIVE, DELETED, PAUSED
from storage.repos import reminders

router = Router()
router.flow(ADD)


@router.command(
    "tatnhac",
    "stopreminders",
    roles=JOINED,
    phrases=("tắt nhắc", "tắt nhắc nhở", "không nhắc nữa"),
)
async def stop(ctx: Context) -> list[Reply]:
    """Stop reminders for this resident; broadcasts from their leader still come."""
    assert ctx.resident is not None
    restart = ((Button(ctx.t("reminders.start_button"), "cmd:batnhac"),),)
    since = ctx.resident.reminders_off_at
    if since is not None:
        text = ctx.t("reminders.already_stopped", since=local_date(since))
        return [Reply(text=text, buttons=restart)]
    await reminders.set_reminders_off(ctx.session, ctx.resident, ctx.now())
    return [Reply(text=ctx.t("reminders.stopped"), buttons=restart)]


@router.command("batnhac", "startreminders", roles=JOINED, phrases=("bật nhắc", "bật nhắc nhở"))
async def start(ctx: Context) -> list[Reply]:
    """Restart reminders for this resident."""
    assert ctx.resident is not None
    if ctx.resident.reminders_off_at is None:
        return [Reply(text=ctx.t("reminders.already_started")), *common.menu(ctx)]
    await reminders.set_reminders_off(ctx.session, ctx.resident, None)
    return [Reply(text=ctx.t("reminders.started")), *common.menu(ctx)]


@router.command("nhacnho", "reminders", roles=OFFICERS, menu="reminders.menu", order=56)
async def manage(ctx: Context) -> list[Reply]:
    """The ward's reminder rules; /nhacnho them | tamdung | xoa go straight to an action."""
    action = ctx.incoming.args[0].lower() if ctx.incoming.args else ""
    if action in ("them", "add"):
        return await flows.start(ctx, ADD)
    if action in ("tamdung", "pause", "xoa", "delete"):
        return await _choose(ctx, "delete" if action in ("xoa", "delete") else "toggle")
    return [await overview(ctx)]


async def overview(ctx: Context) -> Reply:
    """Every rule not deleted, with the buttons to change them."""
    rows = await reminders.live(ctx.session)
    fired = await reminders.last_fires(ctx.session)
    lines = (
        [ctx.t("reminders.list_title", count=len(rows))]
        if rows
        else [ctx.t("reminders.list_empty")]
    )
    for number, rule in enumerate(rows, start=1):
        last = fired.get(rule.id)
        lines.append(
            ctx.t(
                "reminders.list_item",
                number=number,
                name=rule.name,
                status=ctx.t(f"reminders.status_{rule.status}"),
                schedule=rules.describe(rule.cron, ctx.lang),
                audience=audience_label(ctx, rule.audience),
                groups=groups_label(ctx, rule.groups),
                last=ctx.t(
                    "reminders.last_fired", when=rules.when(last.fire_time), count=last.recipients
                )
                if last
                else ctx.t("reminders.never_fired"),
            )
        )
    buttons = [(Button(ctx.t("reminders.add_button"), "cmd:nhacnho:them"),)]
    if rows:
        buttons.append((Button(ctx.t("reminders.toggle_button"), "cmd:nhacnho:tamdung"),))
        buttons.append((Button(ctx.t("reminders.delete_button"), "cmd:nhacnho:xoa"),))
    return Reply(text="\n".join(lines), buttons=tuple(buttons))


async def _choose(ctx: Context, action: str) -> list[Reply]:
    rows = await reminders.live(ctx.session)
    if not rows:
        return [Reply(text=ctx.t("reminders.nothing_to_manage")), await overview(ctx)]
    if action == "toggle":
        choices = [
            [
                str(r.id),
                ctx.t(
                    "reminders.toggle_pause" if r.status == ACTIVE else "reminders.toggle_resume",
                    name=r.name,
                ),
            ]
            for r in rows
        ]
    else:
        choices = [[str(r.id), r.name] for r in rows]
    return await flows.start(ctx, MANAGE, data={"action": action, "rules": choices})


def _rule_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [Option(rule_id, label) for rule_id, label in data.get("rules", [])]


def _rule_prompt(ctx: Context, data: dict[str, Any]) -> str:
    return ctx.t(
        "reminders.ask_delete" if data.get("action") == "delete" else "reminders.ask_toggle"
    )


def _save_rule(ctx: Context, data: dict[str, Any], value: str) -> str | None:
    data["rule"] = int(value)
    return DONE if data.get("action") == "toggle" else None


def _confirm_prompt(ctx: Context, data: dict[str, Any]) -> str:
    name = next((label for rule_id, label in data["rules"] if rule_id == str(data["rule"])), "")
    return ctx.t("reminders.confirm_delete", name=name)


async def _manage_finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    refused = await refuse_unless_officer(ctx, "/nhacnho")
    if refused is not None:
        return refused
    rule = await reminders.get(ctx.session, data["rule"])
    if rule is None or rule.status == DELETED:
        return [Reply(text=ctx.t("reminders.gone")), await overview(ctx)]
    if data["action"] == "delete":
        if not data.get("confirmed"):
            return [Reply(text=ctx.t("reminders.kept")), await overview(ctx)]
        status, key = DELETED, "reminders.deleted"
    elif rule.status == ACTIVE:
        status, key = PAUSED, "reminders.paused"
    else:
        status, key = ACTIVE, "reminders.resumed"
    await service.set_status(ctx.session, rule, status, actor=ctx.actor, at=ctx.now())
    text = ctx.t(key, name=rule.name, next=next_send(ctx, rule.cron))
    return [Reply(text=text), await overview(ctx)]


MANAGE = router.flow(
    Flow(
        name="reminder_manage",
        title_key="reminders.manage_title",
        steps=(
            Step("RULE", _rule_prompt, Choice(_rule_options), save=_save_rule),
            confirm_step(
                _confirm_prompt,
                "reminders.delete_yes",
                "reminders.delete_no",
                yes_words=("có", "xoá", "xóa", "yes"),
            ),
        ),
        finish=_manage_finish,
    )
)
