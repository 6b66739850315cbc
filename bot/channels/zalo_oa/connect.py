"""Connecting the ward's OA: a pending request with a PKCE verifier, then Zalo's code for it.

Both ways a code comes back (Zalo's redirect to our callback, or an officer pasting it in
the terminal) end in `finish`, which claims the pending request first, so a replayed or
doubled redirect exchanges the code at most once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.zalo_oa import oauth
from bot.channels.zalo_oa.tokens import new_pair
from bot.settings import Settings
from storage.repos import audit
from storage.repos import zalo_oa_tokens as repo

logger = logging.getLogger(__name__)


class ConnectError(Exception):
    """The connection did not complete; `key` names the text to show the officer."""

    def __init__(self, key: str, status: int = 400, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.status = status
        self.params = params


@dataclass(frozen=True)
class Started:
    """A pending connection: the link to open and until when it works."""

    state: str
    link: str
    expires_at: datetime


@dataclass(frozen=True)
class Connected:
    """A stored connection."""

    oa_id: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None = field(default=None)


def _now(clock: Callable[[], datetime] | None) -> datetime:
    return clock() if clock is not None else datetime.now(UTC)


async def start(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    redirect_uri: str,
    clock: Callable[[], datetime] | None = None,
) -> Started:
    """Store a pending request (state + verifier, 10 minutes) and build its link."""
    if not settings.zalo_oa_app_id:
        raise ValueError("THIDUA_ZALO_OA_APP_ID is not set")
    now = _now(clock)
    state, verifier = oauth.new_state(), oauth.new_verifier()
    expires_at = now + oauth.CODE_LIFETIME
    async with sessionmaker() as session, session.begin():
        await repo.create_auth_request(
            session,
            state=state,
            verifier=verifier,
            redirect_uri=redirect_uri,
            now=now,
            expires_at=expires_at,
        )
    link = oauth.permission_link(
        settings.zalo_oa_oauth_url,
        app_id=settings.zalo_oa_app_id,
        redirect_uri=redirect_uri,
        verifier=verifier,
        state=state,
    )
    return Started(state=state, link=link, expires_at=expires_at)


async def finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    state: str,
    code: str,
    oa_id: str | None,
    actor: str,
    via: str,
    clock: Callable[[], datetime] | None = None,
    http: aiohttp.ClientSession | None = None,
) -> Connected:
    """Exchange `code` for the pending request `state` and store the pair (audited)."""
    now = _now(clock)
    async with sessionmaker() as session, session.begin():
        request = await repo.claim_auth_request(session, state, now=now)
        if request is not None and not oa_id:
            known = settings.zalo_oa_id or getattr(await repo.get(session), "oa_id", None)
            oa_id = known
    if request is None:
        raise ConnectError("oauth.link_unusable")
    if not oa_id or not code or settings.zalo_oa_app_secret is None or not settings.zalo_oa_app_id:
        await _close(sessionmaker, state, repo.FAILED, "no code, OA id or app secret")
        raise ConnectError("oauth.not_approved")
    client = oauth.OAuthClient(
        settings.zalo_oa_oauth_url,
        app_id=settings.zalo_oa_app_id,
        app_secret=settings.zalo_oa_app_secret.get_secret_value(),
        session=http,
    )
    try:
        pair = await client.exchange_code(code, request.code_verifier)
    except oauth.OAuthRefused as exc:
        await _close(sessionmaker, state, repo.FAILED, str(exc))
        raise ConnectError("oauth.code_refused", reason=exc.name or str(exc.error)) from None
    except oauth.OAuthUnavailable as exc:
        await _close(sessionmaker, state, repo.PENDING, str(exc))
        raise ConnectError("oauth.zalo_unreachable", status=503) from None
    finally:
        await client.close()
    now = _now(clock)
    stored = new_pair(pair, now)
    async with sessionmaker() as session, session.begin():
        await repo.store_pair(session, oa_id=oa_id, pair=stored, now=now)
        await repo.complete_auth_request(session, state, status=repo.CONNECTED, oa_id=oa_id)
        await audit.record(
            session, actor=actor, action="zalo_oa.connect", at=now, target=f"oa:{oa_id}", via=via
        )
    if settings.zalo_oa_id and settings.zalo_oa_id != oa_id:
        logger.warning(
            "connected Zalo OA %s, but THIDUA_ZALO_OA_ID is %s: the channel uses the setting's",
            oa_id,
            settings.zalo_oa_id,
        )
    return Connected(oa_id, stored.access_expires_at, stored.refresh_expires_at)


async def decline(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    state: str,
    error: str,
    clock: Callable[[], datetime] | None = None,
) -> bool:
    """The officer did not grant access: close the pending request; False if it was unusable."""
    async with sessionmaker() as session, session.begin():
        request = await repo.claim_auth_request(session, state, now=_now(clock))
        if request is None:
            return False
        await repo.complete_auth_request(session, state, status=repo.FAILED, error=error)
    return True


async def _close(
    sessionmaker: async_sessionmaker[AsyncSession], state: str, status: str, error: str
) -> None:
    async with sessionmaker() as session, session.begin():
        await repo.complete_auth_request(session, state, status=status, error=error)
