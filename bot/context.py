"""What a handler is given: the incoming event, the open session, who is asking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.events import Capabilities, Incoming
from bot.settings import Settings
from bot.ward import WardConfig
from storage.models import ChatState, Resident

if TYPE_CHECKING:
    from bot.registry import Registry


@dataclass
class Context:
    """One per incoming update; handlers read it and return replies."""

    incoming: Incoming
    session: AsyncSession
    ward: WardConfig
    registry: Registry
    state: ChatState
    resident: Resident | None
    role: str
    capabilities: Capabilities
    clock: Callable[[], datetime]
    groups: frozenset[str] = frozenset()
    settings: Settings | None = None

    @property
    def actor(self) -> str:
        """How the audit log names the asker."""
        if self.resident is not None:
            return f"resident:{self.resident.id}"
        return f"{self.incoming.channel}:{self.incoming.user_id}"

    def may_act_on(self, group_code: str) -> bool:
        """Officers act on every group; a leader only on their own."""
        return self.role in ("officer", "admin") or group_code in self.groups

    @property
    def lang(self) -> str:
        """The chat's language: its own choice, else the resident's, else Vietnamese."""
        if self.state.lang:
            return self.state.lang
        if self.resident is not None:
            return self.resident.lang
        return texts.DEFAULT_LANG

    def t(self, key: str, **params: Any) -> str:
        """A catalogue text in the chat's language; on a channel without buttons (Zalo's
        bot) the key's `_no_buttons` wording where the catalogue has one: nothing to tap there."""
        if not self.capabilities.buttons and texts.has(f"{key}_no_buttons"):
            key = f"{key}_no_buttons"
        return texts.t(key, self.lang, **params)

    def now(self) -> datetime:
        """The current time (a controllable clock in tests)."""
        return self.clock()
