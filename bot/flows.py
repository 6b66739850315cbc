"""The conversation engine: flows of steps whose state lives in the database.

A flow is a list of steps. Each step asks (text and maybe buttons), reads one kind of
input, checks it, and saves it into the flow's data; the next step follows, or the one
the step names. The state (flow, step, data, a sequence number that tells an old button
from a current one) is stored per chat, so a resident can leave and come back, even
after a restart, and pick up where they were.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.context import Context
from bot.events import Button, Reply
from bot.inputs import Answer, Input, Integer, Invalid, Phone, Photo, Stay, Text
from bot.normalize import fold

logger = logging.getLogger(__name__)

TYPED_INPUTS = (Integer, Text, Phone)

DONE = "__done__"
BACK, SKIP = "~back", "~skip"
_BACK_WORDS = {"quay lai", "tro lai", "back"}
_SKIP_WORDS = {"bo qua", "skip", "khong co"}


@dataclass(frozen=True)
class Step:
    """One question of a flow; `save` returns the next step's name, DONE, or None (next)."""

    name: str
    prompt: Callable[[Context, dict[str, Any]], str]
    input: Input
    save: Callable[[Context, dict[str, Any], Any], Awaitable[str | None] | str | None] | None = (
        None
    )
    optional: bool = False
    # Where the channel has a "share name, phone and address" form (Zalo OA): whether
    # this question offers it, and what the step does with the shared answers (it
    # updates the data and names the step to ask next, with a notice to show first).
    offer_form: Callable[[Context, dict[str, Any]], bool] | None = None
    on_user_info: UserInfoHandler | None = None


UserInfoHandler = Callable[[Context, dict[str, Any]], Awaitable[tuple[str, str | None]]]


@dataclass(frozen=True)
class Flow:
    """A named conversation; `finish` turns the confirmed data into replies."""

    name: str
    title_key: str
    steps: tuple[Step, ...]
    finish: Callable[[Context, dict[str, Any]], Awaitable[list[Reply]]]
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for position, step in enumerate(self.steps):
            if step.name in self._index:
                raise ValueError(f"{self.name}: step {step.name} declared twice")
            self._index[step.name] = position

    def step(self, name: str) -> Step:
        """The step called `name`."""
        return self.steps[self._index[name]]

    def after(self, name: str) -> str:
        """The name of the step after `name`, or DONE."""
        position = self._index[name] + 1
        return self.steps[position].name if position < len(self.steps) else DONE


def active_flow(ctx: Context) -> Flow | None:
    """The flow in progress in this chat, if any (and still known to the registry)."""
    if ctx.state.flow is None:
        return None
    flow = ctx.registry.flows.get(ctx.state.flow)
    if flow is None or ctx.state.step not in flow._index:
        logger.warning("dropping unknown flow state %s/%s", ctx.state.flow, ctx.state.step)
        clear(ctx)
        return None
    return flow


async def start(
    ctx: Context, flow: Flow, data: dict[str, Any] | None = None, at: str | None = None
) -> list[Reply]:
    """Begin `flow`; if another flow is in progress, ask whether to continue or drop it."""
    current = active_flow(ctx)
    if current is not None and current.name != flow.name:
        return [busy_reply(ctx, current)]
    if current is not None and at is None:
        return [ask(ctx, current, current.step(ctx.state.step or ""), prefix="flow.resumed")]
    first = at or flow.steps[0].name
    ctx.state.flow = flow.name
    ctx.state.step = first
    ctx.state.data = {**(data or {}), "_path": []}
    return [ask(ctx, flow, flow.step(first))]


def busy_reply(ctx: Context, flow: Flow) -> Reply:
    """Offer to continue the flow in progress or to drop it."""
    title = ctx.t(flow.title_key)
    return Reply(
        text=ctx.t("flow.busy", title=title),
        buttons=(
            (Button(ctx.t("flow.continue_button"), "flow:resume"),),
            (Button(ctx.t("flow.cancel_button"), "flow:cancel"),),
        ),
    )


def resume(ctx: Context) -> list[Reply]:
    """Ask the current step again, saying the resident is picking up where they were."""
    flow = active_flow(ctx)
    if flow is None:
        return []
    return [ask(ctx, flow, flow.step(ctx.state.step or ""), prefix="flow.resumed")]


def clear(ctx: Context) -> None:
    """Forget the flow in progress (its answers too)."""
    ctx.state.flow = None
    ctx.state.step = None
    ctx.state.data = {}


def ask(
    ctx: Context,
    flow: Flow,
    step: Step,
    prefix: str | None = None,
    *,
    brief: bool = False,
    **params: Any,
) -> Reply:
    """The step's question, with buttons tagged by a fresh sequence number.

    `brief` (after a wrong answer to a step with buttons) leaves the question out: the
    resident has just read it, and the buttons are shown again below the error.
    """
    ctx.state.seq = (ctx.state.seq or 0) + 1
    seq = ctx.state.seq
    data = dict(ctx.state.data)
    parts = [ctx.t(prefix, **params)] if prefix else []
    choices = step.input.buttons(ctx, data)
    if not (brief and choices):
        parts.append(step.prompt(ctx, data))
    rows = [
        tuple(Button(label, f"s{seq}:{value}") for label, value in row)
        for row in choices
    ]
    nav: list[Button] = []
    if data.get("_path"):
        nav.append(Button(ctx.t("flow.back_button"), f"s{seq}:{BACK}"))
    if step.optional:
        nav.append(Button(ctx.t("flow.skip_button"), f"s{seq}:{SKIP}"))
    if nav:
        rows.append(tuple(nav))
    return Reply(
        text="\n\n".join(parts),
        buttons=tuple(r for r in rows if r),
        request_contact=isinstance(step.input, Phone) and ctx.capabilities.contact_request,
        contact_label=ctx.t("phone.share_button") if isinstance(step.input, Phone) else None,
        request_user_info=offers_form(ctx, step, data),
    )


def offers_form(ctx: Context, step: Step, data: dict[str, Any]) -> bool:
    """True when this question comes with the channel's "share your details" form."""
    return (ctx.capabilities.user_info_form and step.offer_form is not None
            and step.offer_form(ctx, data))


async def handle(ctx: Context) -> list[Reply]:
    """Feed the incoming event to the flow in progress."""
    flow = active_flow(ctx)
    if flow is None:
        return []
    step = flow.step(ctx.state.step or "")
    if ctx.incoming.kind == "user_info":
        return await _user_info(ctx, flow, step)
    answer = _answer(ctx, step)
    if answer is None:
        return [ask(ctx, flow, step, prefix="flow.stale_button")]
    data = dict(ctx.state.data)
    path: list[list[Any]] = [list(entry) for entry in data.get("_path", [])]
    if answer.button == BACK or (answer.button is None and _said(answer, _BACK_WORDS)):
        if path:
            previous, cursor = path.pop()
            ctx.state.step = previous
            ctx.state.data = {**data, "_path": path, "_cursor": cursor}
            return [ask(ctx, flow, flow.step(previous))]
    if step.optional and (answer.button == SKIP or _said(answer, _SKIP_WORDS)):
        value: Any = None
    else:
        try:
            value = await step.input.parse(ctx, data, answer)
        except Invalid as problem:
            return [ask(ctx, flow, step, prefix=problem.key, brief=True, **problem.params)]
    if isinstance(value, Stay):
        ctx.state.data = {**data, **value.updates}
        return [ask(ctx, flow, step)]
    cursor = data.get("_cursor")
    try:
        target = await _save(ctx, step, data, value)
    except Invalid as problem:
        return [ask(ctx, flow, step, prefix=problem.key, brief=True, **problem.params)]
    if target is None:
        target = data.pop("_return", None) or flow.after(step.name)
    while target != DONE and _cannot_ask(ctx, flow.step(target)):
        skipped = flow.step(target)
        target = await _save(ctx, skipped, data, None) or flow.after(skipped.name)
    if target == DONE:
        clear(ctx)
        return await flow.finish(ctx, {k: v for k, v in data.items() if not k.startswith("_")})
    if target != step.name or data.get("_cursor") != cursor:
        path.append([step.name, cursor])
    ctx.state.step = target
    ctx.state.data = {**data, "_path": path}
    return [ask(ctx, flow, flow.step(target))]


async def _user_info(ctx: Context, flow: Flow, step: Step) -> list[Reply]:
    """Details shared through the platform's form: the step takes them, or they are not
    used here (nothing is kept) and the same question is asked again."""
    if step.on_user_info is None:
        return [Reply(text=ctx.t("user_info.not_here")), ask(ctx, flow, step)]
    data = dict(ctx.state.data)
    target, notice = await step.on_user_info(ctx, data)
    ctx.state.step = target
    ctx.state.data = data
    question = ask(ctx, flow, flow.step(target))
    return [Reply(text=notice), question] if notice else [question]


def _answer(ctx: Context, step: Step) -> Answer | None:
    """The answer, or None when a button from an older question was pressed.

    On a channel that shows buttons as numbered lines, every button of the question
    (the options, then "back" or "skip") has a number. The step's input reads the
    numbers of its own buttons; a number past them stands for "back" or "skip".
    """
    incoming = ctx.incoming
    if incoming.kind == "text" and not isinstance(step.input, TYPED_INPUTS):
        typed = (incoming.text or "").strip()
        offered = ctx.state.offered
        own = sum(len(row) for row in step.input.buttons(ctx, dict(ctx.state.data)))
        if typed.isdigit() and own < int(typed) <= len(offered):
            tag, _, value = offered[int(typed) - 1][1].partition(":")
            if tag == f"s{ctx.state.seq}":
                return Answer(incoming, button=value)
        return Answer(incoming)
    if incoming.kind != "button":
        return Answer(incoming)
    tag, _, value = (incoming.button or "").partition(":")
    if tag != f"s{ctx.state.seq}":
        return None
    return Answer(incoming, button=value)


def _cannot_ask(ctx: Context, step: Step) -> bool:
    """An optional photo on a channel that cannot receive photos is skipped."""
    return step.optional and isinstance(step.input, Photo) and not ctx.capabilities.photos


def _said(answer: Answer, words: set[str]) -> bool:
    return answer.text is not None and fold(answer.text) in words


async def _save(ctx: Context, step: Step, data: dict[str, Any], value: Any) -> str | None:
    if step.save is None:
        data[step.name.lower()] = value
        return None
    result = step.save(ctx, data, value)
    if inspect.isawaitable(result):
        result = await result
    return result
