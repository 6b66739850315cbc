"""Reviewing nominations: the allowed status changes, the history, telling the nominator.

    submitted ──> under_review ──> approved ──> honoured (only once the nominee agreed)
        │   └────────────────────────┘  │
        └──────────> rejected <─────────┘   (a reason is required)

Officers' chat and dashboard call these functions; each change is recorded as a
NominationEvent and the nominator is told through the outbox, in their own language.
The outbox key (nomination, status) means a repeated change never messages twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.events import Button, Reply
from bot.outbox import notify_resident
from storage.models.nominations import (
    APPROVED,
    HONOURED,
    REJECTED,
    STATUSES,
    SUBMITTED,
    UNDER_REVIEW,
    Nomination,
)
from storage.repos import nominations as repo

TRANSITIONS: dict[str, frozenset[str]] = {
    SUBMITTED: frozenset({UNDER_REVIEW, APPROVED, REJECTED}),
    UNDER_REVIEW: frozenset({APPROVED, REJECTED}),
    APPROVED: frozenset({HONOURED, REJECTED}),
}


class ReviewError(ValueError):
    """A review action that cannot be done; `key` names the catalogue text that says why."""

    key = "nominations.review.error"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.params = params


class NominationNotFound(ReviewError):
    """No nomination has this id."""

    key = "nominations.review.not_found"


class InvalidTransition(ReviewError):
    """The nomination cannot go from its status to the one asked for."""

    key = "nominations.review.invalid_transition"


class ReasonRequired(ReviewError):
    """A rejection must say why."""

    key = "nominations.review.reason_required"


class NomineeAgreementMissing(ReviewError):
    """Honouring (publishing) needs the nominee's recorded agreement."""

    key = "nominations.review.agreement_missing"


def status_text(status: str, lang: str = texts.DEFAULT_LANG) -> str:
    """A status as residents read it, e.g. "đã duyệt"."""
    return texts.t(f"nominations.status.{status}", lang)


async def change_status(
    session: AsyncSession,
    nomination_id: int,
    new_status: str,
    *,
    actor_resident_id: int | None = None,
    reason: str | None = None,
    now: datetime,
) -> Nomination:
    """Move a nomination to `new_status`, record it, and queue a message to the nominator."""
    nomination = await repo.get(session, nomination_id, for_update=True)
    if nomination is None:
        raise NominationNotFound(f"no nomination {nomination_id}", id=nomination_id)
    reason = (reason or "").strip() or None
    if nomination.status == new_status:
        # A repeated change (a double tap, a retry) is already done; the keyed
        # notification is not queued a second time.
        await _tell_nominator(session, nomination)
        return nomination
    if new_status not in TRANSITIONS.get(nomination.status, frozenset()):
        raise InvalidTransition(
            f"{nomination.code}: cannot go from {nomination.status} to {new_status}",
            code=nomination.code,
            current=status_text(nomination.status),
            wanted=status_text(new_status) if new_status in STATUSES else new_status,
        )
    if new_status == REJECTED and reason is None:
        raise ReasonRequired(f"{nomination.code}: a rejection needs a reason",
                             code=nomination.code)
    if new_status == HONOURED and nomination.nominee_agreed_at is None:
        raise NomineeAgreementMissing(
            f"{nomination.code}: record the nominee's agreement before honouring",
            code=nomination.code,
        )
    await repo.set_status(
        session, nomination, new_status, reason=reason,
        actor_resident_id=actor_resident_id, now=now,
    )
    await _tell_nominator(session, nomination)
    return nomination


async def record_nominee_agreement(
    session: AsyncSession, nomination_id: int, now: datetime
) -> Nomination:
    """Note that the nominee agreed to be published; the first recorded time is kept."""
    nomination = await repo.get(session, nomination_id, for_update=True)
    if nomination is None:
        raise NominationNotFound(f"no nomination {nomination_id}", id=nomination_id)
    await repo.record_agreement(session, nomination, now)
    return nomination


async def _tell_nominator(session: AsyncSession, nomination: Nomination) -> int:
    lang = await repo.nominator_lang(session, nomination)
    if lang is None or nomination.nominator_resident_id is None:
        return 0
    status = nomination.status
    lines = [
        texts.t(
            f"nominations.notify.{status}",
            lang,
            code=nomination.code,
            name=nomination.nominee_name,
            status=status_text(status, lang),
        )
    ]
    if nomination.status_reason:
        lines.append(texts.t("nominations.notify.reason", lang, reason=nomination.status_reason))
    button = Button(texts.t("nominations.menu_mine", lang), "cmd:decucuatoi")
    reply = Reply(text="\n".join(lines), buttons=((button,),))
    return await notify_resident(
        session,
        nomination.nominator_resident_id,
        reply,
        key=f"nomination:{nomination.id}:{status}",
        kind="notification",
    )
