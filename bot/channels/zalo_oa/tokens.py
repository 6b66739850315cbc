"""The OA's access token, refreshed before it expires, one refresh at a time everywhere.

Zalo's refresh tokens are single-use: if two processes spend the same one, the second is
refused and the grant is dead. So a refresh takes a lease on the token row first; whoever
gets it calls Zalo and stores the new pair as the next version, and everyone else waits
for that version. Inside one process an asyncio.Lock keeps callers from even racing for
the lease. A refused refresh is written down as `failed`, logged once and told once to the
officers in chat; a network problem is retried a few times and never marks the grant.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.channels.zalo_oa.oauth import OAuthClient, OAuthRefused, OAuthUnavailable, TokenPair
from bot.events import Reply
from bot.outbox import reply_to_payload
from bot.settings import Settings
from storage.models.zalo_oa import ZaloOAToken
from storage.repos import outbox
from storage.repos import zalo_oa_tokens as repo

logger = logging.getLogger(__name__)

CONNECT_HINT = "run `thidua zalo-oa connect`"
MAX_MARGIN = timedelta(hours=1)
NOTICE_KIND = "notification"


class TokenUnavailable(Exception):
    """No usable access token: never connected, the grant was refused, or Zalo is down."""


@dataclass(frozen=True)
class _Seen:
    """The token row as this process last read it."""

    oa_id: str
    access_token: str
    access_expires_at: datetime
    issued_at: datetime
    version: int
    status: str
    last_error: str | None


class TokenManager:
    """Hands out the OA's access token; the only code that spends the refresh token."""

    # Class attributes so a test (or an operator's tuning) can shorten them per instance.
    lease_seconds: float = 60.0
    poll_seconds: float = 0.2
    retry_delays: tuple[float, ...] = (1.0, 3.0, 9.0)
    http_timeout: float = 15.0
    # After a failed early refresh, keep using the still-valid token this long before trying.
    early_retry_after = timedelta(minutes=2)

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._clock = clock or (lambda: datetime.now(UTC))
        self._http = session
        self._client: OAuthClient | None = None
        self._lock = asyncio.Lock()
        self._seen: _Seen | None = None
        self._next_early_try: datetime | None = None

    async def access_token(self) -> str:
        """A valid access token, refreshed first when it is about to expire."""
        seen = self._seen
        if seen is not None and seen.status == repo.OK and not self._due(seen):
            return seen.access_token
        async with self._lock:
            seen = await self._read()
            if not self._due(seen):
                return seen.access_token
            return await self._refresh(seen, rejected=False)

    async def refresh_after_rejection(self, rejected: str) -> str:
        """Zalo refused `rejected` (-216/-220): a newer stored token, or a refresh now."""
        async with self._lock:
            seen = await self._read()
            if seen.access_token != rejected:
                return seen.access_token
            return await self._refresh(seen, rejected=True)

    async def close(self) -> None:
        """Close the OAuth client's HTTP session (not a shared one)."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _due(self, seen: _Seen) -> bool:
        """True when the access token expires within the margin: 10% of its life, max 1 h."""
        life = seen.access_expires_at - seen.issued_at
        margin = min(MAX_MARGIN, max(life, timedelta(0)) / 10)
        return self._clock() >= seen.access_expires_at - margin

    async def _read(self) -> _Seen:
        """The current row; TokenUnavailable when there is none or it failed."""
        async with self._sessionmaker() as session:
            row = await repo.get(session, self._settings.zalo_oa_id)
        if row is None:
            self._seen = None
            raise TokenUnavailable(f"the Zalo OA is not connected: {CONNECT_HINT}")
        self._seen = seen = _snapshot(row)
        if seen.status == repo.FAILED:
            raise TokenUnavailable(
                f"the Zalo OA connection was refused by Zalo ({seen.last_error}): {CONNECT_HINT}"
            )
        return seen

    async def _refresh(self, seen: _Seen, *, rejected: bool) -> str:
        """Refresh `seen`'s version, or wait for whoever is refreshing it."""
        now = self._clock()
        still_valid = not rejected and now < seen.access_expires_at
        if still_valid and self._next_early_try is not None and now < self._next_early_try:
            return seen.access_token
        self._oauth()  # missing app settings fail here, before anyone waits on a lease
        failures = 0
        deadline = time.monotonic() + self.lease_seconds * 2 + sum(self.retry_delays)
        while True:
            if await self._take_lease(seen, self._clock()):
                try:
                    return await self._spend(seen)
                except OAuthUnavailable as exc:
                    await self._release(seen)
                    failures += 1
                    if still_valid:
                        logger.warning("Zalo OA token refresh postponed: %s", exc)
                        self._next_early_try = self._clock() + self.early_retry_after
                        return seen.access_token
                    if failures > len(self.retry_delays):
                        logger.warning("Zalo OA token refresh failed %d times: %s", failures, exc)
                        raise TokenUnavailable(f"Zalo OAuth is unreachable: {exc}") from None
                    await asyncio.sleep(self.retry_delays[failures - 1])
            else:
                newer = await self._wait_for_other(seen, deadline)
                if newer is not None:
                    return newer
                if time.monotonic() > deadline:
                    raise TokenUnavailable("the Zalo OA token refresh did not finish in time")
            fresh = await self._read()
            if fresh.version != seen.version:
                return fresh.access_token
            seen = fresh

    async def _take_lease(self, seen: _Seen, now: datetime) -> bool:
        until = now + timedelta(seconds=self.lease_seconds)
        async with self._sessionmaker() as session, session.begin():
            return await repo.take_refresh_lease(
                session, oa_id=seen.oa_id, version=seen.version, now=now, until=until
            )

    async def _release(self, seen: _Seen) -> None:
        async with self._sessionmaker() as session, session.begin():
            await repo.release_lease(session, oa_id=seen.oa_id, version=seen.version)

    async def _spend(self, seen: _Seen) -> str:
        """Call Zalo with the stored refresh token (we hold the lease) and store the answer."""
        async with self._sessionmaker() as session:
            row = await repo.get(session, seen.oa_id)
        if row is None or row.version != seen.version:
            await self._release(seen)
            return (await self._read()).access_token  # reconnected meanwhile
        try:
            pair = await self._oauth().refresh(row.refresh_token)
        except OAuthRefused as exc:
            await self._fail(seen, str(exc))
            raise TokenUnavailable(
                f"Zalo refused the OA's refresh token ({exc}): {CONNECT_HINT}"
            ) from None
        now = self._clock()
        async with self._sessionmaker() as session, session.begin():
            stored = await repo.finish_refresh(
                session, oa_id=seen.oa_id, version=seen.version, pair=new_pair(pair, now), now=now
            )
        if not stored:
            # Only possible if our lease ran out and someone else stored a version first.
            logger.error("Zalo OA refreshed pair not stored: version %d moved on", seen.version)
            return (await self._read()).access_token
        self._next_early_try = None
        logger.info("Zalo OA access token refreshed (version %d)", seen.version + 1)
        self._seen = _Seen(
            oa_id=seen.oa_id,
            access_token=pair.access_token,
            access_expires_at=pair.access_expires_at(now),
            issued_at=now,
            version=seen.version + 1,
            status=repo.OK,
            last_error=None,
        )
        return pair.access_token

    async def _wait_for_other(self, seen: _Seen, deadline: float) -> str | None:
        """Poll until another refresher stores a new version (its token) or gives up (None)."""
        while time.monotonic() < deadline:
            await asyncio.sleep(self.poll_seconds)
            async with self._sessionmaker() as session:
                row = await repo.get(session, seen.oa_id)
            if row is None:
                raise TokenUnavailable(f"the Zalo OA is not connected: {CONNECT_HINT}")
            if row.status == repo.FAILED:
                self._seen = _snapshot(row)
                raise TokenUnavailable(
                    f"the Zalo OA connection was refused by Zalo ({row.last_error}): "
                    f"{CONNECT_HINT}"
                )
            if row.version != seen.version:
                self._seen = _snapshot(row)
                return row.access_token
            lease = row.refreshing_until
            if lease is None or lease < self._clock():
                return None  # the refresher gave up or died: try for the lease ourselves
        return None

    async def _fail(self, seen: _Seen, error: str) -> None:
        """Mark the grant dead and, the first time only, tell the logs and the officers."""
        async with self._sessionmaker() as session, session.begin():
            first = await repo.mark_failed(
                session, oa_id=seen.oa_id, version=seen.version, error=error
            )
            queued = await _tell_staff(session, seen) if first else 0
        self._seen = None
        if first:
            logger.error(
                "Zalo OA %s: Zalo refused the refresh token (%s); messages through the OA are "
                "on hold until an officer runs `thidua zalo-oa connect` (%d staff chats told)",
                seen.oa_id,
                error,
                queued,
            )

    def _oauth(self) -> OAuthClient:
        if self._client is None:
            app_id = self._settings.zalo_oa_app_id
            secret = self._settings.zalo_oa_app_secret
            if not app_id or secret is None:
                raise TokenUnavailable(
                    "THIDUA_ZALO_OA_APP_ID and THIDUA_ZALO_OA_APP_SECRET must be set"
                )
            self._client = OAuthClient(
                self._settings.zalo_oa_oauth_url,
                app_id=app_id,
                app_secret=secret.get_secret_value(),
                timeout=self.http_timeout,
                session=self._http,
            )
        return self._client


def new_pair(pair: TokenPair, now: datetime) -> repo.NewPair:
    """What to store for a pair Zalo gave at `now`."""
    return repo.NewPair(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        access_expires_at=pair.access_expires_at(now),
        refresh_expires_at=pair.refresh_expires_at(now),
    )


def _snapshot(row: ZaloOAToken) -> _Seen:
    return _Seen(
        oa_id=row.oa_id,
        access_token=row.access_token,
        access_expires_at=row.access_expires_at,
        issued_at=row.updated_at,
        version=row.version,
        status=row.status,
        last_error=row.last_error,
    )


async def _tell_staff(session: AsyncSession, seen: _Seen) -> int:
    """Queue one notice per officer/admin chat (not through the OA that just stopped)."""
    queued = 0
    for chat in await repo.staff_chats(session):
        if chat.channel == "zalo_oa":
            continue
        reply = Reply(text=texts.t("oauth.refresh_failed", chat.lang))
        queued += await outbox.enqueue(
            session,
            key=f"zalo_oa:refused:{seen.oa_id}:{seen.version}:{chat.channel}:{chat.chat_id}",
            kind=NOTICE_KIND,
            channel=chat.channel,
            chat_id=chat.chat_id,
            payload=reply_to_payload(reply),
        )
    return queued
