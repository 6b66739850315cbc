"""An in-memory channel for conversation tests: say things, press buttons, read replies."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.dispatcher import Dispatcher
from bot.events import Capabilities, DeliveryResult, Incoming, MediaRef, Reply
from bot.normalize import fold, split_command

_update_ids = itertools.count(1)


@dataclass
class FakeChannel:
    """A resident's chat with the bot, driven by a test."""

    dispatcher: Dispatcher
    user_id: str = "u1"
    chat_id: str | None = None
    channel: str = "test"
    buttons: bool = True
    photos: bool = True
    user_info_form: bool = False
    history: list[Reply] = field(default_factory=list)
    last: list[Reply] = field(default_factory=list)
    sent: list[tuple[str, Reply]] = field(default_factory=list)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            buttons=self.buttons,
            contact_request=True,
            documents=True,
            max_text=4096,
            photos=self.photos,
            user_info_form=self.user_info_form,
        )

    def _incoming(self, **payload: object) -> Incoming:
        return Incoming(
            channel=self.channel,  # type: ignore[arg-type]
            update_id=str(next(_update_ids)),
            chat_id=self.chat_id or self.user_id,
            user_id=self.user_id,
            received_at=datetime.now(UTC),
            **payload,  # type: ignore[arg-type]
        )

    async def deliver(self, incoming: Incoming) -> list[Reply]:
        self.last = await self.dispatcher.dispatch(incoming, self.capabilities)
        self.history.extend(self.last)
        return self.last

    async def say(self, text: str) -> list[Reply]:
        """Type a message (a /command when it starts with a slash)."""
        command = split_command(text)
        if command is not None:
            return await self.deliver(
                self._incoming(kind="command", command=command[0], args=command[1])
            )
        return await self.deliver(self._incoming(kind="text", text=text))

    async def press(self, label: str, replies: list[Reply] | None = None) -> list[Reply]:
        """Press the button whose label contains `label` (diacritics ignored)."""
        data = self.button_data(label, replies)
        return await self.deliver(self._incoming(kind="button", button=data))

    async def press_data(self, data: str) -> list[Reply]:
        """Press a button by its raw data (e.g. one kept from an older message)."""
        return await self.deliver(self._incoming(kind="button", button=data))

    async def share_contact(self, phone: str) -> list[Reply]:
        """Share one's own phone number through the platform's button."""
        return await self.deliver(self._incoming(kind="contact", contact_phone=phone))

    async def share_info(self, **info: str) -> list[Reply]:
        """Answer the platform's form (name, phone, address) where it has one."""
        return await self.deliver(self._incoming(kind="user_info", user_info=info))

    async def send_photo(self) -> list[Reply]:
        """Send a photo."""
        media = MediaRef(kind="photo", file_ref="photo-1", mime="image/jpeg", size=1000)
        return await self.deliver(self._incoming(kind="media", media=media))

    def button_data(self, label: str, replies: list[Reply] | None = None) -> str:
        """The data of the button with this label in the last replies."""
        wanted = fold(label)
        for reply in reversed(replies if replies is not None else self.last):
            for button in reply.all_buttons():
                if wanted in fold(button.label):
                    return button.data
        shown = [b.label for r in self.last for b in r.all_buttons()]
        raise AssertionError(f"no button {label!r} among {shown}")

    @property
    def text(self) -> str:
        """All text of the last replies, joined."""
        return "\n".join(reply.text for reply in self.last)

    def labels(self) -> list[str]:
        """Labels of the buttons in the last replies."""
        return [b.label for r in self.last for b in r.all_buttons()]

    async def join(self, group: str = "Tổ dân phố 5") -> None:
        """Walk through onboarding: agree, choose the group."""
        await self.say("/batdau")
        await self.press("Tôi đồng ý")
        await self.press(group)
        assert "đã tham gia" in self.text, self.text

    async def send(self, chat_id: str, reply: Reply) -> DeliveryResult:
        """The Channel protocol's send: record what the outbox would deliver."""
        self.sent.append((chat_id, reply))
        return DeliveryResult("sent", message_id=str(len(self.sent)))


async def give_role(sessionmaker, chat: FakeChannel, role: str, group: str | None = None) -> None:
    """Make a joined test chat's resident a leader (of `group`), an officer or an admin."""
    from handlers import role_service
    from storage.repos import roles

    async with sessionmaker() as session, session.begin():
        resident_id = await roles.resident_by_account(session, chat.channel, chat.user_id)
        assert resident_id is not None, "join first"
        await role_service.grant(
            session, resident_id=resident_id, role=role, group_code=group, actor="test",
            at=datetime.now(UTC),
        )
