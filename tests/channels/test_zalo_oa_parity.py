"""Every scripted conversation on the Zalo OA (signed webhook, fake Open API) leaves the
database as on the test channel. A press taps the `oa.query.show` button, which posts
its payload (the label) as the resident's own message; choices past Zalo's five buttons
are numbered lines, answered by typing the number."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot import keys, texts
from bot.normalize import fold
from tests import transcript
from tests.channels.test_zalo_oa import oa_server
from tests.fakes.zalo_oa_api import FakeZaloOA
from tests.test_parity import Server, outcome
from tests.test_transcripts import FakeDriver
from tests.transcript import Seen

HINTS = {texts.t("zalo.numbered_hint", lang) for lang in texts.LANGUAGES}
NUMBERED = re.compile(r"^(\d+)\. (.+)$")
OWN_NUMBER = re.compile(r"^(\d+)(?!\d)")
INLINE_NUMBERS = re.compile(r"^\d+( · \d+)*$")
TICKS = ("▫️", "✅")


def lines_in(text: str) -> list[tuple[str, str]]:
    """The choices written past the five buttons: (label, what to type)."""
    block = text.rsplit("\n\n", 1)[-1].splitlines()
    if not block or block[-1] not in HINTS:
        return []
    found: list[tuple[str, str]] = []
    for line in block[:-1]:
        if INLINE_NUMBERS.match(line):
            found += [(n, n) for n in line.split(" · ")]
        elif (numbered := NUMBERED.match(line)) is not None:
            label = numbered.group(2)
            typed = numbered.group(1)
            if label.startswith(TICKS):  # one item of a several-choice list: its words
                typed = label.removeprefix(TICKS[0]).removeprefix(TICKS[1]).strip()
            found.append((label, typed))
        elif (own := OWN_NUMBER.match(line)) is not None:
            found.append((line, own.group(1)))
    return found


class OADriver:
    """A follower of the OA: taps buttons, types what they read."""

    photos = True

    def __init__(self, fake: FakeZaloOA, server: Server, user_id: str) -> None:
        self.fake, self.server, self.user = fake, server, user_id
        self.shown: list[tuple[str, str]] = []  # (label, what tapping or typing sends)

    async def _post(self, event: dict[str, Any]) -> Seen:
        before = len(self.fake.sent_to(self.user))
        status, _ = await self.fake.post_event(self.server.base, event)
        assert status == 200
        await self.server.app[keys.CHANNELS]["zalo_oa"].idle()  # type: ignore[attr-defined]
        new = self.fake.sent_to(self.user)[before:]
        labels: list[str] = []
        shown: list[tuple[str, str]] = []
        for call in new:
            found = [(b["title"], b["payload"]) for b in call.buttons]
            if found:
                found += lines_in(call.text)
            if found:
                shown = found
            labels += [label for label, _ in found]
        if shown:
            self.shown = shown
        return Seen("\n".join(call.text for call in new), labels)

    async def say(self, text: str) -> Seen:
        return await self._post(self.fake.text_event(self.user, text))

    async def press(self, label: str) -> Seen:
        wanted = fold(label)
        for shown, sends in self.shown:
            if wanted in fold(shown):
                return await self.say(sends)
        raise AssertionError(f"no button {label!r} among {self.shown}")

    async def contact(self, phone: str) -> Seen:
        return await self.say(phone)  # an OA cannot ask for the contact: it is typed

    async def photo(self) -> Seen:
        return await self._post(self.fake.image_event(self.user))


@pytest.mark.parametrize("name", transcript.names())
async def test_same_conversation_same_outcome_on_the_oa(
    name: str, chat, sessionmaker, clock, tmp_path
) -> None:
    script = transcript.load(name)
    await transcript.play(FakeDriver(chat), script)
    expected = await outcome(sessionmaker)

    async with FakeZaloOA(now=clock()) as fake, oa_server(
        f"sqlite+aiosqlite:///{tmp_path}/oa.db", fake
    ) as (server, _):
        await transcript.play(OADriver(fake, server, "8412345678901234567"), script)
        got = await outcome(server.app[keys.SESSIONMAKER])
    assert got == expected, f"{name} on the Zalo OA"
