"""Nominations: create with a reference code, read, move through review, forget."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from storage.models import Resident
from storage.models.nominations import (
    APPROVED,
    SUBMITTED,
    UNDER_REVIEW,
    Nomination,
    NominationEvent,
)

NOT_FINAL = (SUBMITTED, UNDER_REVIEW, APPROVED)


def reference_code(year: int, nomination_id: int) -> str:
    """The code a nominator is told, e.g. ND-2026-0042."""
    return f"ND-{year}-{nomination_id:04d}"


async def create(
    session: AsyncSession,
    *,
    nominator_resident_id: int,
    kind: str,
    nominee_name: str,
    group_code: str,
    field_code: str,
    description: str,
    photo_channel: str | None,
    photo_ref: str | None,
    year: int,
    now: datetime,
) -> Nomination:
    """Store a confirmed nomination as submitted, with its code and first history event."""
    nomination = Nomination(
        # The code needs the id; a unique placeholder fills the column until the flush.
        code=f"pending-{uuid.uuid4().hex}",
        nominator_resident_id=nominator_resident_id,
        kind=kind,
        nominee_name=nominee_name,
        group_code=group_code,
        field_code=field_code,
        description=description,
        photo_channel=photo_channel,
        photo_ref=photo_ref,
        status=SUBMITTED,
        created_at=now,
        updated_at=now,
    )
    session.add(nomination)
    await session.flush()
    nomination.code = reference_code(year, nomination.id)
    session.add(
        NominationEvent(
            nomination_id=nomination.id,
            status=SUBMITTED,
            actor_resident_id=nominator_resident_id,
            at=now,
        )
    )
    await session.flush()
    return nomination


async def get(session: AsyncSession, nomination_id: int, *, for_update: bool = False) -> (
    Nomination | None
):
    """The nomination with this id; `for_update` locks its row until the transaction ends."""
    stmt = select(Nomination).where(Nomination.id == nomination_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_code(session: AsyncSession, code: str) -> Nomination | None:
    """The nomination with this reference code."""
    stmt = select(Nomination).where(Nomination.code == code.strip().upper())
    return (await session.execute(stmt)).scalar_one_or_none()


async def set_status(
    session: AsyncSession,
    nomination: Nomination,
    status: str,
    *,
    reason: str | None,
    actor_resident_id: int | None,
    now: datetime,
) -> NominationEvent:
    """Move a nomination to `status` and record the move in its history."""
    nomination.status = status
    nomination.status_reason = reason
    _touch(nomination, now)
    event = NominationEvent(
        nomination_id=nomination.id,
        status=status,
        reason=reason,
        actor_resident_id=actor_resident_id,
        at=now,
    )
    session.add(event)
    await session.flush()
    return event


async def record_agreement(session: AsyncSession, nomination: Nomination, now: datetime) -> None:
    """Note when the nominee agreed to be published; the first time recorded is kept."""
    if nomination.nominee_agreed_at is None:
        nomination.nominee_agreed_at = now
        _touch(nomination, now)
        await session.flush()


def _touch(nomination: Nomination, now: datetime) -> None:
    nomination.updated_at = now
    # Without this an unchanged value is left out of the UPDATE and onupdate writes wall time.
    flag_modified(nomination, "updated_at")


async def history(session: AsyncSession, nomination_id: int) -> list[NominationEvent]:
    """A nomination's events, oldest first."""
    stmt = (
        select(NominationEvent)
        .where(NominationEvent.nomination_id == nomination_id)
        .order_by(NominationEvent.at, NominationEvent.id)
    )
    return list((await session.execute(stmt)).scalars())


async def for_resident(session: AsyncSession, resident_id: int) -> list[Nomination]:
    """Every nomination a resident made, newest first."""
    stmt = (
        select(Nomination)
        .where(Nomination.nominator_resident_id == resident_id)
        .order_by(Nomination.created_at.desc(), Nomination.id.desc())
    )
    return list((await session.execute(stmt)).scalars())


async def forget_resident(session: AsyncSession, resident_id: int) -> tuple[int, int]:
    """Delete a resident's nominations not yet reviewed; detach the rest. (deleted, detached)."""
    deleted = await session.execute(
        delete(Nomination).where(
            Nomination.nominator_resident_id == resident_id, Nomination.status == SUBMITTED
        )
    )
    detached = await session.execute(
        update(Nomination)
        .where(Nomination.nominator_resident_id == resident_id)
        .values(nominator_resident_id=None)
    )
    await session.execute(
        update(NominationEvent)
        .where(NominationEvent.actor_resident_id == resident_id)
        .values(actor_resident_id=None)
    )
    return deleted.rowcount or 0, detached.rowcount or 0


async def nominator_lang(session: AsyncSession, nomination: Nomination) -> str | None:
    """The language the nominator chose, or None when the nomination is detached."""
    if nomination.nominator_resident_id is None:
        return None
    stmt = select(Resident.lang).where(Resident.id == nomination.nominator_resident_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def page(
    session: AsyncSession,
    *,
    statuses: Collection[str] | None = None,
    groups: Collection[str] | None = None,
    field_code: str | None = None,
    newest_first: bool = False,
    offset: int = 0,
    limit: int = 5,
) -> tuple[list[Nomination], int]:
    """One page of nominations (oldest first unless asked) and how many match in all.

    `statuses` and `groups` narrow the list when given; `field_code` picks one field.
    """
    conditions = []
    if statuses is not None:
        conditions.append(Nomination.status.in_(list(statuses)))
    if groups is not None:
        conditions.append(Nomination.group_code.in_(list(groups)))
    if field_code is not None:
        conditions.append(Nomination.field_code == field_code)
    total = (
        await session.execute(select(func.count()).select_from(Nomination).where(*conditions))
    ).scalar_one()
    order = (
        (Nomination.created_at.desc(), Nomination.id.desc())
        if newest_first
        else (Nomination.created_at, Nomination.id)
    )
    stmt = select(Nomination).where(*conditions).order_by(*order).offset(offset).limit(limit)
    return list((await session.execute(stmt)).scalars()), int(total)


async def histories(
    session: AsyncSession, nomination_ids: Collection[int]
) -> dict[int, list[NominationEvent]]:
    """The events of several nominations in one query, each oldest first."""
    found: dict[int, list[NominationEvent]] = {i: [] for i in nomination_ids}
    if not found:
        return found
    stmt = (
        select(NominationEvent)
        .where(NominationEvent.nomination_id.in_(list(found)))
        .order_by(NominationEvent.at, NominationEvent.id)
    )
    for event in (await session.execute(stmt)).scalars():
        found[event.nomination_id].append(event)
    return found
