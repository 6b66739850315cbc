"""Incoming event -> replies: record once, one transaction, flow first, else a command."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import flows, metrics, texts
from bot.context import Context
from bot.events import Capabilities, Incoming, Reply
from bot.flood import FloodControl, FloodLimits, Verdict
from bot.inputs import Option, match_option
from bot.registry import GUEST, RANK, RESIDENT, Command, Registry
from bot.settings import Settings
from bot.ward import WardConfig
from handlers import common
from storage.models import Resident
from storage.repos import chats, updates

logger = logging.getLogger(__name__)


class ChatLocks:
    """One lock per chat so a burst from one resident is handled in order, in this process."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    def __call__(self, key: tuple[str, str]) -> _Held:
        """A context manager holding the chat's lock."""
        return _Held(self, key)


class _Held:
    def __init__(self, owner: ChatLocks, key: tuple[str, str]) -> None:
        self.owner, self.key = owner, key

    async def __aenter__(self) -> None:
        lock, users = self.owner._locks.get(self.key, (asyncio.Lock(), 0))
        self.owner._locks[self.key] = (lock, users + 1)
        await lock.acquire()

    async def __aexit__(self, *exc: object) -> None:
        lock, users = self.owner._locks[self.key]
        lock.release()
        if users <= 1:
            del self.owner._locks[self.key]
        else:
            self.owner._locks[self.key] = (lock, users - 1)


def flood_control(settings: Settings) -> FloodControl | None:
    """Flood control as the settings ask; None when either limit is 0 (switched off)."""
    if settings.flood_burst <= 0 or settings.flood_per_second <= 0:
        return None
    return FloodControl(FloodLimits(burst=settings.flood_burst,
                                    per_second=settings.flood_per_second))


class Dispatcher:
    """The platform-neutral core every channel hands its events to."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        registry: Registry,
        ward: WardConfig,
        clock: Callable[[], datetime] | None = None,
        settings: Settings | None = None,
        flood: FloodControl | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.flood = flood
        self.registry = registry
        self.ward = ward
        self.clock = clock or (lambda: datetime.now(UTC))
        self.settings = settings
        self._locks = ChatLocks()

    async def dispatch(self, incoming: Incoming, capabilities: Capabilities) -> list[Reply]:
        """Handle one event once; a duplicate (same channel and update id) gets no reply.

        A chat sending faster than flood control allows is answered once, politely, and
        then ignored until it slows down; that costs no transaction and no lock.
        """
        started = time.perf_counter()
        if self.flood is not None:
            verdict = self.flood.check((incoming.channel, incoming.chat_id))
            if verdict is not Verdict.HANDLE:
                metrics.REJECTED.labels(incoming.channel, "flood").inc()
                if verdict is Verdict.DROP:
                    return []
                logger.info("%s chat %s is flooding; asked to slow down",
                            incoming.channel, incoming.chat_id)
                return [Reply(text=texts.t("flood.slow_down", incoming.lang_hint or "vi"))]
        async with self._locks((incoming.channel, incoming.chat_id)):
            try:
                replies = await self._dispatch_once(incoming, capabilities)
            except Exception:
                logger.exception(
                    "handling %s update %s failed", incoming.channel, incoming.update_id
                )
                metrics.HANDLER_ERRORS.labels(incoming.channel).inc()
                replies = await self._after_failure(incoming)
        metrics.UPDATES.labels(incoming.channel, incoming.kind).inc()
        metrics.LATENCY.labels(incoming.channel).observe(time.perf_counter() - started)
        return replies

    async def _dispatch_once(self, incoming: Incoming, capabilities: Capabilities) -> list[Reply]:
        async with self.sessionmaker() as session, session.begin():
            if not await updates.record_once(session, incoming.channel, incoming.update_id):
                metrics.DUPLICATES.labels(incoming.channel).inc()
                logger.info("duplicate %s update %s ignored", incoming.channel, incoming.update_id)
                return []
            turn = await chats.load_turn(
                session, incoming.channel, incoming.chat_id, incoming.user_id
            )
            role, groups = _role_of(turn.resident, turn.grants, self.ward)
            ctx = Context(
                incoming=incoming,
                session=session,
                ward=self.ward,
                registry=self.registry,
                state=turn.state,
                resident=turn.resident,
                role=role,
                groups=groups,
                capabilities=capabilities,
                clock=self.clock,
                settings=self.settings,
            )
            replies = await route(ctx)
            _remember_offered(ctx, replies)
            turn.state = ctx.state
            await chats.save_turn(session, turn)
            return replies

    async def _after_failure(self, incoming: Incoming) -> list[Reply]:
        """Record the update so a retry does not fail again, and apologise."""
        try:
            async with self.sessionmaker() as session, session.begin():
                await updates.record_once(session, incoming.channel, incoming.update_id)
        except Exception:
            logger.exception("could not record failed update %s", incoming.update_id)
        return [Reply(text=texts.t("error.internal", incoming.lang_hint or "vi"))]


def _role_of(
    resident: Resident | None, grants: list[tuple[str, str | None]], ward: WardConfig
) -> tuple[str, frozenset[str]]:
    """The asker's highest role and, for leaders, their groups (officers: every group)."""
    if resident is None:
        return GUEST, frozenset()
    if not grants:
        return RESIDENT, frozenset()
    role = max((role for role, _ in grants), key=RANK.index)
    if role == "leader":
        return role, frozenset(group for _, group in grants if group)
    return role, frozenset(g.code for g in ward.groups)


async def route(ctx: Context) -> list[Reply]:
    """Decide who answers: a command, the flow in progress, a menu choice, or the fallback."""
    incoming = ctx.incoming
    if incoming.kind == "command":
        command = ctx.registry.by_name(incoming.command or "")
        if command is None:
            return [common.unknown_command_reply(ctx)]
        return await run_command(ctx, command)
    if incoming.kind == "button":
        return await _route_button(ctx, incoming.button or "")
    if incoming.kind == "text" and incoming.text:
        command = ctx.registry.by_phrase(incoming.text)
        if command is not None:
            return await run_command(ctx, command)
    picked = _typed_choice(ctx)
    if picked is not None:
        return await _route_button(ctx, picked)
    if flows.active_flow(ctx) is not None:
        return await flows.handle(ctx)
    return await common.fallback(ctx)


def _typed_choice(ctx: Context) -> str | None:
    """The button a typed number or label names among the last ones shown, unless they
    belong to the question of the flow in progress (the flow reads those itself)."""
    incoming = ctx.incoming
    if incoming.kind != "text" or not incoming.text or not ctx.state.offered:
        return None
    offered = [Option(data, label) for label, data in ctx.state.offered]
    picked = match_option(offered, incoming.text)
    if picked is None:
        return None
    if flows.active_flow(ctx) is not None and picked.value.startswith(f"s{ctx.state.seq}:"):
        return None
    return picked.value


async def _route_button(ctx: Context, data: str) -> list[Reply]:
    if data.startswith("cmd:"):
        name, _, arg = data.removeprefix("cmd:").partition(":")
        command = ctx.registry.by_name(name)
        if command is not None:
            args = (arg,) if arg else ()
            ctx.incoming = replace(ctx.incoming, kind="command", command=name, args=args)
            return await run_command(ctx, command)
    if data == "flow:resume":
        return flows.resume(ctx) or await common.fallback(ctx)
    if data == "flow:cancel":
        return common.cancel(ctx)
    if flows.active_flow(ctx) is not None:
        ctx.incoming = replace(ctx.incoming, kind="button", button=data)
        return await flows.handle(ctx)
    return [Reply(text=ctx.t("flow.stale_button")), *common.menu(ctx)]


async def run_command(ctx: Context, command: Command) -> list[Reply]:
    """Run a command if the asker's role allows it; guests are led to join first.

    Every refusal of a command meant for leaders or officers is logged and audited.
    """
    if ctx.role not in command.roles:
        if ctx.role == GUEST and RESIDENT in command.roles:
            return await common.require_join(ctx)
        await common.deny(ctx, f"/{command.name}")
        refusal = Reply(text=ctx.t("error.not_allowed"))
        return [refusal] if ctx.role == GUEST else [refusal, *common.menu(ctx)]
    result = await command.handler(ctx)
    if result is None:
        return []
    return result if isinstance(result, list) else [result]


def _remember_offered(ctx: Context, replies: list[Reply]) -> None:
    """Keep the last buttons shown, so "2" or a typed label can stand for a press."""
    with_buttons = [r for r in replies if r.buttons]
    if with_buttons:
        ctx.state.offered = [[b.label, b.data] for b in with_buttons[-1].all_buttons()]
    elif replies:
        ctx.state.offered = []
