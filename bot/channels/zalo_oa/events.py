"""Webhook events: recorded before the 200, processed after it, each once, in order per user.

`record` stores the event under its key (a redelivery is recorded once), notes the
follower's interaction and releases the messages held for them, in one transaction.
`EventProcessor` (one task per process) claims pending events with a lease (SKIP LOCKED
on PostgreSQL), hands each user's events in order to `handle`, and marks them processed;
after a crash the lease runs out and the events are taken again. The form's answers hold
personal data: once processed, the payload keeps only the event's outline. Processed
events are deleted once older than `keep` (the webhook refuses events that old anyway, so
they are no longer needed to recognise a redelivery): what residents wrote is not kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.zalo_oa import inbound
from storage.models.zalo_oa import ZaloOAEvent
from storage.repos import outbox, zalo_oa_followers

logger = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
LEASE = timedelta(seconds=60)
BATCH = 50
POLL_SECONDS = 5.0
MAX_ATTEMPTS = 5
PRUNE_EVERY = timedelta(hours=1)
_PERSONAL = frozenset({inbound.SUBMIT_INFO})

Handle = Callable[[dict[str, Any], str], Awaitable[None]]


def _interaction(name: str) -> bool:
    """Events that count as the user interacting with the OA (they open its windows)."""
    return name.startswith("user_") and name not in inbound.IGNORED or name == inbound.FOLLOW


async def record(
    session: AsyncSession, event: dict[str, Any], key: str, now: datetime
) -> bool:
    """Store the event once (False if already recorded) and note the interaction."""
    name = str(event.get("event_name") or "")[:64]
    user_id = inbound.user_of(event)[:64]
    values = {"event_key": key, "event_name": name, "user_id": user_id, "payload": event,
              "received_at": now, "attempts": 0}
    dialect = session.bind.dialect.name if session.bind else ""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(ZaloOAEvent).values(values).on_conflict_do_nothing(index_elements=["event_key"])
    )
    if not result.rowcount:
        return False
    at = inbound.moment(event) or now
    if name == inbound.UNFOLLOW:
        await zalo_oa_followers.touch(session, user_id, at, following=False)
    elif _interaction(name):
        following = True if name == inbound.FOLLOW else None
        await zalo_oa_followers.touch(session, user_id, min(at, now), following=following)
        await outbox.release_held(session, CHANNEL, user_id, now)
    return True


async def unprocessed(session: AsyncSession) -> int:
    """How many recorded events still wait to be processed."""
    stmt = select(func.count()).select_from(ZaloOAEvent).where(ZaloOAEvent.processed_at.is_(None))
    return int(await session.scalar(stmt) or 0)


class EventProcessor:
    """Claims and processes recorded events until stopped; `wake` after each record."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        handle: Handle,
        clock: Callable[[], datetime],
        *,
        lease: timedelta = LEASE,
        poll_seconds: float = POLL_SECONDS,
        keep: timedelta = timedelta(days=1),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.keep = keep
        self._pruned_at: datetime | None = None
        self.handle = handle
        self.clock = clock
        self.lease = lease
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run in the background (it first takes whatever was left from before)."""
        if self._task is None:
            self._wake.set()
            self._task = asyncio.create_task(self._run(), name="zalo-oa-events")

    async def stop(self) -> None:
        """Stop claiming; events in hand are finished first (their leases would expire)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        """Something was recorded: look now rather than at the next poll."""
        self._idle.clear()
        self._wake.set()

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until no recorded event is left unprocessed (for tests and shutdown)."""
        async with asyncio.timeout(timeout):
            while True:
                self._idle.clear()
                async with self.sessionmaker() as session:
                    if await unprocessed(session) == 0:
                        return
                self._wake.set()
                await self._idle.wait()

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                while await self.run_once():
                    pass
                await self.prune_if_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Zalo OA event processing failed; retrying shortly")
                await asyncio.sleep(1.0)
            self._idle.set()

    async def run_once(self) -> int:
        """Claim one batch and process it; how many events were taken."""
        claimed = await self._claim()
        if not claimed:
            return 0
        by_user: dict[str, list[ZaloOAEvent]] = {}
        for row in claimed:
            by_user.setdefault(row.user_id, []).append(row)
        await asyncio.gather(*(self._in_order(rows) for rows in by_user.values()))
        return len(claimed)

    async def prune_if_due(self) -> int:
        """Delete processed events older than `keep`, at most once per PRUNE_EVERY."""
        now = self.clock()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return 0
        self._pruned_at = now
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(delete(ZaloOAEvent).where(
                ZaloOAEvent.processed_at.is_not(None), ZaloOAEvent.received_at < now - self.keep))
        pruned = int(result.rowcount or 0)
        if pruned:
            logger.info("Zalo OA: %d processed events older than %s deleted", pruned, self.keep)
        return pruned

    async def _claim(self) -> list[ZaloOAEvent]:
        """Due events, skipping any user with an earlier event not in this claim."""
        now = self.clock()
        due = and_(ZaloOAEvent.processed_at.is_(None),
                   or_(ZaloOAEvent.claimed_until.is_(None), ZaloOAEvent.claimed_until < now))
        async with self.sessionmaker() as session, session.begin():
            stmt = (select(ZaloOAEvent).where(due).order_by(ZaloOAEvent.id).limit(BATCH)
                    .with_for_update(skip_locked=True))
            rows = list((await session.execute(stmt)).scalars())
            if not rows:
                return []
            first: dict[str, int] = {}
            for row in rows:
                first.setdefault(row.user_id, row.id)
            earlier = select(ZaloOAEvent.user_id).where(
                ZaloOAEvent.processed_at.is_(None),
                ZaloOAEvent.user_id.in_(list(first)),
                or_(*(and_(ZaloOAEvent.user_id == user, ZaloOAEvent.id < lowest)
                      for user, lowest in first.items())),
            )
            blocked = set((await session.execute(earlier)).scalars())
            taken = [row for row in rows if row.user_id not in blocked]
            for row in taken:
                row.claimed_until = now + self.lease
                row.attempts += 1
            await session.flush()
            session.expunge_all()
            return taken

    async def _in_order(self, rows: list[ZaloOAEvent]) -> None:
        for row in rows:
            try:
                await self.handle(row.payload, row.event_key)
            except Exception:
                logger.exception("Zalo OA event %s could not be processed", row.event_key)
                if row.attempts < MAX_ATTEMPTS:
                    return  # the rest of this user's events wait behind it
            await self._done(row)

    async def _done(self, row: ZaloOAEvent) -> None:
        values: dict[str, Any] = {"processed_at": self.clock(), "claimed_until": None}
        if row.event_name in _PERSONAL:
            values["payload"] = outline(row.payload)
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(ZaloOAEvent).where(ZaloOAEvent.id == row.id).values(**values))


def outline(event: dict[str, Any]) -> dict[str, Any]:
    """The event without what the resident shared (name, phone, address)."""
    return {key: value for key, value in event.items() if key != "info"}
