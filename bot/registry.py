"""Declaring commands on handlers, and the registry the dispatcher looks them up in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.normalize import fold

if TYPE_CHECKING:
    from bot.context import Context
    from bot.events import Reply
    from bot.flows import Flow

HandlerResult = "Reply | list[Reply] | None"
Handler = Callable[["Context"], Awaitable["Reply | list[Reply] | None"]]

GUEST = "guest"
RESIDENT = "resident"
LEADER = "leader"
OFFICER = "officer"
ADMIN = "admin"
RANK = (GUEST, RESIDENT, LEADER, OFFICER, ADMIN)
EVERYONE = frozenset(RANK)
JOINED = EVERYONE - {GUEST}
STAFF = frozenset({LEADER, OFFICER, ADMIN})
OFFICERS = frozenset({OFFICER, ADMIN})


@dataclass(frozen=True)
class Command:
    """A command with its Vietnamese name first, aliases, free-text phrases and roles."""

    names: tuple[str, ...]
    handler: Handler
    roles: frozenset[str] = JOINED
    phrases: tuple[str, ...] = ()
    menu_label: str | None = None
    menu_order: int = 100

    @property
    def name(self) -> str:
        """The Vietnamese name, shown as /name."""
        return self.names[0]


@dataclass
class Router:
    """What one handlers module declares; decorators only record, they do not wrap."""

    commands: list[Command] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)

    def command(
        self,
        *names: str,
        roles: Iterable[str] = JOINED,
        phrases: Iterable[str] = (),
        menu: str | None = None,
        order: int = 100,
    ) -> Callable[[Handler], Handler]:
        """Declare `handler` as the command `names` (first is the Vietnamese one)."""

        def register(handler: Handler) -> Handler:
            self.commands.append(
                Command(
                    names=tuple(n.lower() for n in names),
                    handler=handler,
                    roles=frozenset(roles),
                    phrases=tuple(fold(p) for p in phrases),
                    menu_label=menu,
                    menu_order=order,
                )
            )
            return handler

        return register

    def flow(self, flow: Flow) -> Flow:
        """Declare a conversation flow this module owns."""
        self.flows.append(flow)
        return flow


class Registry:
    """Every command and flow, indexed once at start."""

    def __init__(self, routers: Iterable[Router]) -> None:
        self._by_name: dict[str, Command] = {}
        self._by_phrase: dict[str, Command] = {}
        self.flows: dict[str, Flow] = {}
        self.commands: list[Command] = []
        for router in routers:
            for command in router.commands:
                self.commands.append(command)
                for name in command.names:
                    self._claim(self._by_name, name, command)
                    self._claim(self._by_phrase, fold(name), command)
                for phrase in command.phrases:
                    self._claim(self._by_phrase, phrase, command)
            for flow in router.flows:
                if flow.name in self.flows:
                    raise ValueError(f"flow {flow.name!r} declared twice")
                self.flows[flow.name] = flow

    @staticmethod
    def _claim(index: dict[str, Command], key: str, command: Command) -> None:
        existing = index.get(key)
        if existing is not None and existing is not command:
            raise ValueError(f"{key!r} is claimed by /{existing.name} and /{command.name}")
        index[key] = command

    def by_name(self, name: str) -> Command | None:
        """The command called /name (any alias)."""
        return self._by_name.get(name.lower())

    def by_phrase(self, text: str) -> Command | None:
        """The command whose phrase equals this free text, diacritics and case ignored."""
        return self._by_phrase.get(fold(text))

    def menu(self, role: str) -> list[Command]:
        """Commands shown in the menu for a role, in menu order."""
        shown = [c for c in self.commands if c.menu_label and role in c.roles]
        return sorted(shown, key=lambda c: c.menu_order)
