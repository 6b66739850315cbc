"""Granting and revoking roles, and invites: every change goes to the audit log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repos import audit, roles

ROLES = ("leader", "officer", "admin")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone


class RoleError(Exception):
    """A role change that cannot be made; `key` names the catalogue text."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params


@dataclass(frozen=True)
class Claimed:
    """What a claimed invite gave."""

    role: str
    group_code: str | None


def new_code() -> str:
    """A 10-character code, about 50 bits, shown like ABCDE-FGHJK."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _check(role: str, group_code: str | None) -> None:
    if role not in ROLES:
        raise RoleError("roles.unknown_role", role=role)
    if role == "leader" and not group_code:
        raise RoleError("roles.leader_needs_group")


async def grant(
    session: AsyncSession,
    *,
    resident_id: int,
    role: str,
    group_code: str | None,
    actor: str,
    at: datetime,
    label: str | None = None,
) -> bool:
    """Give a role and audit it; True if it was new."""
    _check(role, group_code)
    added = await roles.grant(
        session,
        resident_id=resident_id,
        role=role,
        group_code=group_code if role == "leader" else None,
        granted_by=actor,
        at=at,
        label=label,
    )
    if added:
        await audit.record(
            session,
            actor=actor,
            action="role_granted",
            target=f"resident:{resident_id}",
            at=at,
            role=role,
            group=group_code,
        )
    return added


async def revoke(
    session: AsyncSession,
    *,
    resident_id: int,
    role: str,
    group_code: str | None,
    actor: str,
    at: datetime,
) -> bool:
    """Take a role away and audit it; True if there was one."""
    removed = await roles.revoke(
        session, resident_id=resident_id, role=role, group_code=group_code
    )
    if removed:
        await audit.record(
            session,
            actor=actor,
            action="role_revoked",
            target=f"resident:{resident_id}",
            at=at,
            role=role,
            group=group_code,
        )
    return removed


async def invite(
    session: AsyncSession,
    *,
    role: str,
    group_code: str | None,
    actor: str,
    at: datetime,
    valid_for: timedelta = timedelta(hours=72),
) -> tuple[str, datetime]:
    """Create a one-time code; returns it (shown once, stored hashed) and its expiry."""
    _check(role, group_code)
    code = new_code()
    expires = at + valid_for
    await roles.create_invite(
        session,
        code=code,
        role=role,
        group_code=group_code,
        created_by=actor,
        at=at,
        expires_at=expires,
    )
    await audit.record(
        session,
        actor=actor,
        action="invite_created",
        at=at,
        role=role,
        group=group_code,
        expires=expires.isoformat(),
    )
    return code, expires


async def claim(
    session: AsyncSession,
    *,
    code: str,
    resident_id: int,
    at: datetime,
    label: str | None = None,
) -> Claimed:
    """Use an invite: once, before it expires."""
    found = await roles.invite_by_code(session, code)
    actor = f"resident:{resident_id}"
    problem = None
    if found is None:
        problem = "roles.code_unknown"
    elif found.claimed_at is not None:
        problem = "roles.code_used"
    elif found.expires_at <= at:
        problem = "roles.code_expired"
    if problem is not None or found is None:
        await audit.record(session, actor=actor, action="invite_refused", at=at, reason=problem)
        raise RoleError(problem or "roles.code_unknown")
    found.claimed_at = at
    found.claimed_by_resident_id = resident_id
    await grant(
        session,
        resident_id=resident_id,
        role=found.role,
        group_code=found.group_code,
        actor=f"invite:{found.id}",
        at=at,
        label=label,
    )
    return Claimed(found.role, found.group_code)
