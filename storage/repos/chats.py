"""Per-chat state: language, the flow in progress, the choices last offered.

The dispatcher reads a chat's state, the resident behind the account and their roles in
one query (`load_turn`) and writes the state back once, at the end, only if it changed
(`save_turn`). The state object is kept out of the session meanwhile, so a handler's
own queries never flush it half-way (that was an INSERT then an UPDATE for a new chat,
and two UPDATEs when a handler flushed). See docs/performance.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, bindparam, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, ChatState, Resident
from storage.models.base import utcnow
from storage.models.roles import RoleGrant

_TABLE = ChatState.__table__
_STATE = _TABLE.c
_SAVED = ("lang", "flow", "step", "seq", "data", "offered")


async def load(session: AsyncSession, channel: str, chat_id: str) -> ChatState:
    """The chat's state row, created (not yet flushed) if the chat is new."""
    state = await session.get(ChatState, (channel, chat_id))
    if state is None:
        state = ChatState(channel=channel, chat_id=chat_id, seq=0, data={}, offered=[])
        session.add(state)
    return state


@dataclass
class Turn:
    """What the core knows before a handler runs: the chat, who writes, their roles."""

    state: ChatState
    resident: Resident | None
    grants: list[tuple[str, str | None]] = field(default_factory=list)
    stored: tuple[Any, ...] | None = None  # the state as read; None for a new chat


def _turn_statement() -> Select[Any]:
    """Built once: building and hashing this statement for every update cost more than
    running it (SQLAlchemy caches the compiled form by the statement's cache key)."""
    one = select(literal(1).label("one")).subquery()
    channel = bindparam("channel")
    return (
        select(*(_STATE[name] for name in _SAVED), Resident, RoleGrant.role,
               RoleGrant.group_code)
        .select_from(one)
        .outerjoin(ChatState, and_(ChatState.channel == channel,
                                   ChatState.chat_id == bindparam("chat_id")))
        .outerjoin(ChannelIdentity, and_(ChannelIdentity.channel == channel,
                                         ChannelIdentity.user_id == bindparam("user_id")))
        .outerjoin(Resident, Resident.id == ChannelIdentity.resident_id)
        .outerjoin(RoleGrant, RoleGrant.resident_id == Resident.id)
    )


_TURN = _turn_statement()
# PostgreSQL: two workers may hold updates of one chat at once (the per-chat lock is per
# process). Locking the chat's row first makes the second wait, then read what the first
# committed, as one worker would. SQLite's BEGIN IMMEDIATE already serializes writers.
_LOCK = (select(literal(1)).select_from(_TABLE)
         .where(_STATE.channel == bindparam("channel"), _STATE.chat_id == bindparam("chat_id"))
         .with_for_update())
_UPDATE = update(_TABLE).where(_STATE.channel == bindparam("at_channel"),
                               _STATE.chat_id == bindparam("at_chat_id"))
_UPSERTS = {
    dialect: (lambda stmt: stmt.on_conflict_do_update(
        index_elements=["channel", "chat_id"],
        set_={name: stmt.excluded[name] for name in (*_SAVED, "updated_at")},
    ))(insert(_TABLE))
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


async def load_turn(session: AsyncSession, channel: str, chat_id: str, user_id: str) -> Turn:
    """The chat's state (outside the session), the account's resident and (role, group)
    grants, in one statement: one row per grant, or one row of NULLs where none. On
    PostgreSQL the chat's row is locked first, until the transaction ends."""
    params = {"channel": channel, "chat_id": chat_id, "user_id": user_id}
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK, params)
    rows = (await session.execute(_TURN, params)).all()
    first = rows[0]
    if first.seq is None:  # seq is NOT NULL: no row for this chat yet
        state = ChatState(channel=channel, chat_id=chat_id, seq=0, data={}, offered=[])
        stored = None
    else:
        values = {name: getattr(first, name) for name in _SAVED}
        state = ChatState(channel=channel, chat_id=chat_id, **values)
        stored = _fingerprint(state)
    grants = [(row.role, row.group_code) for row in rows if row.role is not None]
    return Turn(state, first.Resident, grants, stored)


async def save_turn(session: AsyncSession, turn: Turn) -> None:
    """Write the chat's state back: one INSERT for a new chat, one UPDATE if it changed."""
    state = turn.state
    if turn.stored is not None and turn.stored == _fingerprint(state):
        return
    values = {name: getattr(state, name) for name in _SAVED}
    values["updated_at"] = utcnow()
    if turn.stored is not None:
        await session.execute(
            _UPDATE, {**values, "at_channel": state.channel, "at_chat_id": state.chat_id}
        )
        return
    # Another worker may have written this chat's first update meanwhile: last one wins,
    # as with any other change of the state.
    upsert = _UPSERTS[session.get_bind().dialect.name]
    await session.execute(upsert, {**values, "channel": state.channel, "chat_id": state.chat_id})


def _fingerprint(state: ChatState) -> tuple[Any, ...]:
    """The saved fields, JSON ones as text: a handler may change a nested list in place."""
    return (state.lang, state.flow, state.step, state.seq,
            json.dumps(state.data), json.dumps(state.offered))
