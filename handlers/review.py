"""Officers review nominations in chat (/duyet); leaders read their groups' (/decuto).

    /duyet -> QUEUE (5 oldest not yet final; "Xem thêm"; filter by group or field;
                |     a typed code, group or field works too)
                |--"Lọc theo tổ"--> PICK_GROUP --> QUEUE   "Lọc theo lĩnh vực" -> PICK_FIELD
                '--a nomination--> ITEM (in full, with the actions its status allows)
                                    |--"Không duyệt"--> REASON (5-500 characters) --> ITEM
                                    '--an action --> ITEM again, the nominator is told

Every move ends the flow and starts it again at the next step with fresh figures, so
no step shows another's stale list and the "back" trail never grows. Status changes go
through handlers.nomination_review (history, outbox notice) and into the audit log.
"""

from __future__ import annotations

import re
from typing import Any

from bot import flows
from bot.context import Context
from bot.events import Button, Reply
from bot.flows import DONE, Flow, Step
from bot.inputs import Answer, Choice, Invalid, Option, Text, match_option
from bot.normalize import number
from bot.registry import OFFICERS, STAFF, Router
from handlers import common
from handlers import nomination_review as service
from handlers.onboarding import group_options
from handlers.progress_scope import find_group, group_name, in_ward_order, refuse_other_group
from handlers.review_format import PAGE, field_name, full, listing, snapshot, typed_code
from storage.models.nominations import APPROVED, HONOURED, REJECTED, UNDER_REVIEW
from storage.repos import audit
from storage.repos import nominations as repo

router = Router()

REASON_LIMITS = (5, 500)
ACTION_KEYS = {
    UNDER_REVIEW: "review.act_under_review",
    APPROVED: "review.act_approve",
    "agree": "review.act_agree",
    HONOURED: "review.act_honour",
    REJECTED: "review.act_reject",
}


def _field_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [Option(f.code, f.name) for f in ctx.ward.fields]


def _filters(data: dict[str, Any]) -> dict[str, Any]:
    return {"group": data.get("group"), "field": data.get("field"),
            "offset": data.get("offset", 0)}


# --- loading and showing ------------------------------------------------------------


async def show_queue(
    ctx: Context, *, group: str | None = None, field: str | None = None, offset: int = 0
) -> list[Reply]:
    """The queue from `offset`, filtered; the flow waits at QUEUE (or ends if nothing waits)."""
    found, total = await repo.page(
        ctx.session, statuses=repo.NOT_FINAL, groups=[group] if group else None,
        field_code=field, offset=offset, limit=PAGE,
    )
    if not found and offset:
        return await show_queue(ctx, group=group, field=field)
    if total == 0 and group is None and field is None:
        if flows.active_flow(ctx) is REVIEW:
            flows.clear(ctx)
        return [Reply(text=ctx.t("review.queue_empty")), *common.menu(ctx)]
    events = await repo.histories(ctx.session, [n.id for n in found])
    data = {
        "group": group, "field": field, "offset": offset, "total": total,
        "items": [snapshot(n, events[n.id]) for n in found],
    }
    return await flows.start(ctx, REVIEW, data=data, at="QUEUE")


async def show_item(ctx: Context, nomination_id: int, filters: dict[str, Any]) -> list[Reply]:
    """One nomination in full; the flow waits at ITEM for an action."""
    nomination = await repo.get(ctx.session, nomination_id)
    if nomination is None:
        return [Reply(text=ctx.t("review.gone")), *await show_queue(ctx)]
    item = snapshot(nomination, await repo.history(ctx.session, nomination.id))
    return await flows.start(ctx, REVIEW, data={**filters, "item": item}, at="ITEM")


# --- QUEUE --------------------------------------------------------------------------


def _queue_prompt(ctx: Context, data: dict[str, Any]) -> str:
    names = [group_name(ctx, data["group"])] if data.get("group") else []
    names += [field_name(ctx, data["field"])] if data.get("field") else []
    title = ctx.t("review.queue_title", total=number(data["total"]))
    if names:
        title += "\n" + ctx.t("review.filtered", filters=" · ".join(names))
    if not data["items"]:
        return f"{title}\n\n{ctx.t('review.queue_empty_filtered')}"
    body = listing(ctx, data["items"], data["offset"], data["total"])
    return f"{title}\n\n{body}\n\n{ctx.t('review.queue_hint')}"


def _queue_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    options = [
        Option(f"open:{item['id']}", ctx.t("review.open_button", code=item["code"],
                                            name=item["name"][:24]))
        for item in data["items"]
    ]
    if data["offset"] + len(data["items"]) < data["total"]:
        options.append(Option("more", ctx.t("review.more"), aliases=("thêm", "more")))
    options.append(Option("by_group", ctx.t("review.by_group")))
    options.append(Option("by_field", ctx.t("review.by_field")))
    if data.get("group") or data.get("field"):
        options.append(Option("clear", ctx.t("review.clear"), aliases=("bỏ lọc", "clear")))
    return options


class TypedCodeChoice(Choice):
    """A choice where a typed nomination code (e.g. ND-2026-0042) opens that nomination."""

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """'code:ND-…' for a typed code, else the option chosen."""
        code = typed_code(answer.text) if answer.text is not None else None
        if code is not None:
            return f"code:{code}"
        return await super().parse(ctx, data, answer)


class QueueChoice(TypedCodeChoice):
    """The queue's buttons; a typed group or field name filters the queue."""

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """An option, a code, 'group:<code>' or 'field:<code>'."""
        try:
            return await super().parse(ctx, data, answer)
        except Invalid:
            if answer.text is None:
                raise
        group = find_group(ctx, answer.text)
        if group is not None:
            return f"group:{group}"
        field = match_option(_field_options(ctx, data), answer.text)
        if field is not None:
            return f"field:{field.value}"
        raise Invalid("review.queue_typed")


async def _open(ctx: Context, data: dict[str, Any], value: str) -> str:
    kind, _, arg = value.partition(":")
    nomination = (await repo.get(ctx.session, int(arg)) if kind == "open"
                  else await repo.by_code(ctx.session, arg))
    if nomination is None:
        raise Invalid("review.not_found", code=arg)
    data.update(next="ITEM", nid=nomination.id)
    return DONE


async def _save_queue(ctx: Context, data: dict[str, Any], value: str) -> str:
    kind, _, arg = value.partition(":")
    if kind in ("open", "code"):
        return await _open(ctx, data, value)
    if kind == "by_group":
        return "PICK_GROUP"
    if kind == "by_field":
        return "PICK_FIELD"
    if kind == "more":
        data["offset"] = data["offset"] + PAGE
    elif kind == "clear":
        data.update(group=None, field=None, offset=0)
    elif kind in ("group", "field"):
        data.update({kind: arg, "offset": 0})
    data["next"] = "QUEUE"
    return DONE


def _save_filter(name: str) -> Any:
    def save(ctx: Context, data: dict[str, Any], value: str) -> str:
        data.update({name: value, "offset": 0, "next": "QUEUE"})
        return DONE

    return save


# --- ITEM and REASON ----------------------------------------------------------------


def _item_prompt(ctx: Context, data: dict[str, Any]) -> str:
    item = data["item"]
    ask = "review.item_ask" if item["status"] in repo.NOT_FINAL else "review.item_final"
    return f"{full(ctx, item)}\n\n{ctx.t(ask)}"


def _item_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    item = data["item"]
    allowed = service.TRANSITIONS.get(item["status"], frozenset())
    wanted = [s for s in (UNDER_REVIEW, APPROVED) if s in allowed]
    if item["status"] in repo.NOT_FINAL and not item["agreed"]:
        wanted.append("agree")
    wanted += [s for s in (HONOURED, REJECTED) if s in allowed]
    options = [Option(action, ctx.t(ACTION_KEYS[action])) for action in wanted]
    return [*options, Option("list", ctx.t("review.back_to_list"), aliases=("danh sách",))]


async def _still_officer(ctx: Context, data: dict[str, Any]) -> bool:
    """The role is checked again before every change; a lost role ends the review."""
    if ctx.role in OFFICERS:
        return True
    await common.deny(ctx, "/duyet")
    data["next"] = "DENIED"
    return False


async def _change(ctx: Context, data: dict[str, Any], status: str, reason: str | None) -> str:
    if not await _still_officer(ctx, data):
        return DONE
    item = data["item"]
    try:
        nomination = await service.change_status(
            ctx.session, item["id"], status, reason=reason, now=ctx.now(),
            actor_resident_id=ctx.resident.id if ctx.resident else None,
        )
    except service.ReviewError as problem:
        raise Invalid(problem.key, **problem.params) from None
    await audit.record(ctx.session, actor=ctx.actor, action="nomination_status",
                       target=f"nomination:{nomination.id}", at=ctx.now(),
                       code=nomination.code, status=status)
    data.update(next="ITEM", nid=nomination.id,
                notice=ctx.t("review.changed", code=nomination.code,
                             status=service.status_text(status, ctx.lang)))
    return DONE


async def _save_item(ctx: Context, data: dict[str, Any], value: str) -> str:
    if value == "list":
        data["next"] = "QUEUE"
        return DONE
    if value.startswith("code:"):
        return await _open(ctx, data, value)
    if value == REJECTED:
        return "REASON"
    if value != "agree":
        return await _change(ctx, data, value, None)
    if not await _still_officer(ctx, data):
        return DONE
    try:
        nomination = await service.record_nominee_agreement(
            ctx.session, data["item"]["id"], ctx.now()
        )
    except service.ReviewError as problem:
        raise Invalid(problem.key, **problem.params) from None
    await audit.record(ctx.session, actor=ctx.actor, action="nominee_agreement",
                       target=f"nomination:{nomination.id}", at=ctx.now(), code=nomination.code)
    data.update(next="ITEM", nid=nomination.id,
                notice=ctx.t("review.agreement_recorded", code=nomination.code))
    return DONE


def _reason_prompt(ctx: Context, data: dict[str, Any]) -> str:
    minimum, maximum = REASON_LIMITS
    return ctx.t("review.ask_reason", code=data["item"]["code"], minimum=minimum,
                 maximum=maximum)


async def _save_reason(ctx: Context, data: dict[str, Any], value: str) -> str:
    return await _change(ctx, data, REJECTED, value)


async def _finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    step = data.get("next")
    if step == "DENIED":
        return [Reply(text=ctx.t("error.not_allowed")), *common.menu(ctx)]
    if step == "ITEM":
        replies = await show_item(ctx, data["nid"], _filters(data))
    else:
        replies = await show_queue(ctx, group=data.get("group"), field=data.get("field"),
                                   offset=data.get("offset", 0))
    notice = data.get("notice")
    return [Reply(text=notice), *replies] if notice else replies


def _prompt(key: str) -> Any:
    return lambda ctx, data: ctx.t(key)


REVIEW = router.flow(
    Flow(
        name="review",
        title_key="review.title",
        steps=(
            Step("QUEUE", _queue_prompt, QueueChoice(_queue_options), save=_save_queue),
            Step("PICK_GROUP", _prompt("review.ask_group"), Choice(group_options, columns=2),
                 save=_save_filter("group")),
            Step("PICK_FIELD", _prompt("review.ask_field"), Choice(_field_options),
                 save=_save_filter("field")),
            Step("ITEM", _item_prompt, TypedCodeChoice(_item_options), save=_save_item),
            Step("REASON", _reason_prompt,
                 Text(*REASON_LIMITS, "review.reason_too_short", "review.reason_too_long"),
                 save=_save_reason),
        ),
        finish=_finish,
    )
)


# --- commands -----------------------------------------------------------------------


@router.command("duyet", "review", roles=OFFICERS, menu="review.menu", order=44,
                phrases=("duyệt đề cử", "xét duyệt đề cử"))
async def review_queue(ctx: Context) -> list[Reply]:
    """The queue of nominations to review; a code, group or field may follow the command."""
    typed = " ".join(ctx.incoming.args).strip()
    if not typed:
        return await show_queue(ctx)
    code = typed_code(typed)
    if code is not None:
        nomination = await repo.by_code(ctx.session, code)
        if nomination is None:
            return [Reply(text=ctx.t("review.not_found", code=code))]
        current = ctx.state.data if flows.active_flow(ctx) is REVIEW else {}
        return await show_item(ctx, nomination.id, _filters(current))
    group = find_group(ctx, typed)
    if group is not None:
        return await show_queue(ctx, group=group)
    field = match_option(_field_options(ctx, {}), typed)
    if field is not None:
        return await show_queue(ctx, field=field.value)
    return [Reply(text=ctx.t("review.command_typed", text=typed))]


_PAGE_MARK = re.compile(r"#(\d+)\s*$")


@router.command("decuto", "groupnominations", roles=STAFF, menu="review.group_menu", order=45,
                phrases=("đề cử của tổ", "đề cử trong tổ"))
async def group_nominations(ctx: Context) -> list[Reply]:
    """Nominations from the asker's groups (officers: any), newest first, to read."""
    typed = " ".join(ctx.incoming.args).strip()
    mark = _PAGE_MARK.search(typed)
    offset = int(mark.group(1)) if mark else 0
    typed = typed[: mark.start()].strip() if mark else typed
    if typed:
        code = find_group(ctx, typed)
        if code is None:
            return [Reply(text=ctx.t("review.unknown_group", text=typed))]
        if not ctx.may_act_on(code):
            return await refuse_other_group(ctx, "decuto", code)
        groups: list[str] | None = [code]
    elif ctx.role in OFFICERS:
        groups = None
    else:
        groups = in_ward_order(ctx, ctx.groups)
        if not groups:
            return [Reply(text=ctx.t("progress.no_groups"))]
    where = (", ".join(group_name(ctx, g) for g in groups) if groups
             else ctx.t("review.all_groups"))
    found, total = await repo.page(ctx.session, groups=groups, newest_first=True,
                                   offset=offset, limit=PAGE)
    if not found:
        return [Reply(text=ctx.t("review.group_empty", where=where)), *common.menu(ctx)]
    events = await repo.histories(ctx.session, [n.id for n in found])
    items = [snapshot(n, events[n.id]) for n in found]
    title = ctx.t("review.group_title", where=where, total=number(total))
    text = f"{title}\n\n{listing(ctx, items, offset, total)}"
    if offset + len(found) >= total:
        return [Reply(text=text)]
    named = groups[0] if typed and groups else ""
    data = f"cmd:decuto:{named}#{offset + PAGE}"
    return [Reply(text=text, buttons=((Button(ctx.t("review.more"), data),),))]
