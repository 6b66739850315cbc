"""Every command tried by every role: refused exactly when the role lacks it, and logged.

The matrix is built from the registry, so a new command is covered the day it is added.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.registry import ADMIN, GUEST, LEADER, OFFICER, RESIDENT, Registry
from handlers import ROUTERS
from storage.models.roles import AuditEntry
from tests.fake_channel import give_role

ROLES = (GUEST, RESIDENT, LEADER, OFFICER, ADMIN)
COMMANDS = sorted(Registry(ROUTERS).commands, key=lambda c: c.name)
STAFF_ONLY = [c for c in COMMANDS if RESIDENT not in c.roles]


def test_every_staff_command_is_in_the_matrix() -> None:
    assert {c.name for c in STAFF_ONLY} >= {"phanquyen", "moitotruong", "thuhoi"}


async def as_role(make_chat, sessionmaker, role: str):
    chat = make_chat(f"user-{role}")
    if role != GUEST:
        await chat.join("Tổ dân phố 5")
        if role != RESIDENT:
            await give_role(sessionmaker, chat, role, "05" if role == LEADER else None)
    return chat


@pytest.mark.parametrize("role", ROLES)
async def test_staff_commands_by_role(role: str, make_chat, sessionmaker) -> None:
    chat = await as_role(make_chat, sessionmaker, role)
    refused: list[str] = []
    for command in STAFF_ONLY:
        await chat.say("/huy")
        await chat.say(f"/{command.name}")
        if "chỉ dành cho cán bộ" in chat.text:
            refused.append(command.name)
    expected = [c.name for c in STAFF_ONLY if role not in c.roles]
    assert refused == expected
    async with sessionmaker() as session:
        denied = [
            e.target for e in await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "denied").order_by(AuditEntry.id)
            )
        ]
    assert denied == [f"/{name}" for name in expected]
