"""Every scripted conversation, played on the in-memory test channel."""

from __future__ import annotations

import pytest

from tests import transcript
from tests.fake_channel import FakeChannel
from tests.transcript import Seen


class FakeDriver:
    """Plays transcript steps on the FakeChannel."""

    def __init__(self, chat: FakeChannel) -> None:
        self.chat = chat

    def _seen(self) -> Seen:
        return Seen(self.chat.text, self.chat.labels())

    async def say(self, text: str) -> Seen:
        await self.chat.say(text)
        return self._seen()

    async def press(self, label: str) -> Seen:
        await self.chat.press(label)
        return self._seen()

    async def contact(self, phone: str) -> Seen:
        await self.chat.share_contact(phone)
        return self._seen()

    async def photo(self) -> Seen:
        await self.chat.send_photo()
        return self._seen()


@pytest.mark.parametrize("name", transcript.names())
async def test_transcript_on_test_channel(name: str, chat: FakeChannel) -> None:
    await transcript.play(FakeDriver(chat), transcript.load(name))
