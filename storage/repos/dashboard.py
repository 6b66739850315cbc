"""The web dashboard: sign-in links, sessions, the cookie key, and figures only it shows."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Resident
from storage.models.dashboard import DashboardKey, DashboardLink, DashboardSession
from storage.models.surveys import SurveyResponse


def hash_token(token: str) -> str:
    """Tokens are kept hashed: the table alone opens no session."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_link(
    session: AsyncSession,
    *,
    token: str,
    resident_id: int,
    role: str,
    now: datetime,
    expires_at: datetime,
) -> DashboardLink:
    """Store a one-time sign-in link."""
    link = DashboardLink(
        token_hash=hash_token(token),
        resident_id=resident_id,
        role=role,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(link)
    await session.flush()
    return link


async def link_for_claim(session: AsyncSession, token: str) -> DashboardLink | None:
    """The link a token stands for, locked until the transaction ends (one claim wins)."""
    stmt = (
        select(DashboardLink)
        .where(DashboardLink.token_hash == hash_token(token))
        .with_for_update()
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def peek_link(session: AsyncSession, token: str) -> DashboardLink | None:
    """The link a token stands for, to say whether it can still be used."""
    return await session.get(DashboardLink, hash_token(token))


async def mark_used(session: AsyncSession, link: DashboardLink, now: datetime) -> None:
    """A link signs in once."""
    link.used_at = now
    await session.flush()


async def create_session(
    session: AsyncSession,
    *,
    token: str,
    resident_id: int,
    role: str,
    groups: Collection[str],
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> DashboardSession:
    """Store a new signed-in session."""
    found = DashboardSession(
        token_hash=hash_token(token),
        resident_id=resident_id,
        role=role,
        groups=sorted(groups),
        csrf_token=csrf_token,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
    )
    session.add(found)
    await session.flush()
    return found


async def session_by_token(session: AsyncSession, token: str) -> DashboardSession | None:
    """The session a cookie's token stands for (ended or not)."""
    stmt = select(DashboardSession).where(DashboardSession.token_hash == hash_token(token))
    return (await session.execute(stmt)).scalar_one_or_none()


async def session_by_id(session: AsyncSession, session_id: int) -> DashboardSession | None:
    """The session with this id."""
    return await session.get(DashboardSession, session_id)


async def touch(
    session: AsyncSession, found: DashboardSession, now: datetime, expires_at: datetime
) -> None:
    """Note activity: the inactivity window starts again."""
    found.last_seen_at = now
    found.expires_at = expires_at
    await session.flush()


async def end_session(session: AsyncSession, found: DashboardSession, now: datetime) -> None:
    """Sign a session out; its cookie opens nothing any more."""
    if found.ended_at is None:
        found.ended_at = now
        await session.flush()


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete links and sessions past their expiry; returns how many rows went."""
    links = await session.execute(delete(DashboardLink).where(DashboardLink.expires_at <= now))
    sessions = await session.execute(
        delete(DashboardSession).where(
            or_(DashboardSession.expires_at <= now, DashboardSession.ended_at.is_not(None))
        )
    )
    return (links.rowcount or 0) + (sessions.rowcount or 0)


async def signing_key(session: AsyncSession, name: str, candidate: str, now: datetime) -> str:
    """The shared secret called `name`; `candidate` becomes it if none exists yet."""
    dialect = session.bind.dialect.name if session.bind else ""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(DashboardKey)
        .values(name=name, secret=candidate, created_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    stmt = select(DashboardKey.secret).where(DashboardKey.name == name)
    return (await session.execute(stmt)).scalar_one()


async def resident(session: AsyncSession, resident_id: int) -> Resident | None:
    """The resident behind a session (None once they deleted their data)."""
    return await session.get(Resident, resident_id)


async def answer_counts(
    session: AsyncSession,
    survey_id: int,
    code: str,
    groups: Collection[str] | None = None,
) -> tuple[Counter[Any], int]:
    """How many responses gave each answer to one question, and how many answered it.

    A list answer (several choices) counts once for each item it holds.

    Answers are grouped in the database; only the distinct answers come back, so the
    cost does not grow with the number of rows sent to Python.
    """
    value = SurveyResponse.answers[code]
    stmt = (
        select(value.as_string(), func.count())
        .where(SurveyResponse.survey_id == survey_id)
        .group_by(value.as_string())
    )
    if groups is not None:
        stmt = stmt.where(SurveyResponse.group_code.in_(list(groups)))
    counts: Counter[Any] = Counter()
    answered = 0
    for answer, count in (await session.execute(stmt)).all():
        if isinstance(answer, str):
            try:
                answer = json.loads(answer)
            except ValueError:
                pass
        if answer is None:
            continue
        answered += int(count)
        for item in answer if isinstance(answer, list) else [answer]:
            counts[item] += int(count)
    return counts, answered
