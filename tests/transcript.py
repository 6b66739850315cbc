"""Scripted conversations (tests/transcripts/*.toml), replayable on every channel.

A transcript is a list of steps; each step does one thing a resident does and names
what the bot's answer must show:

    join = "Tổ dân phố 5"     # optional: onboard into this group first
    [[steps]]
    say = "/dangky"           # or: press = "label", contact = "0912345678", photo = true
    expect = ["Họ và tên"]    # fragments that must appear in the answer's text
    buttons = ["Tôi đồng ý"]  # optional: labels (fragments) that must be offered
    absent = ["Lỗi"]          # optional: fragments that must not appear

A channel that cannot take photos (the web chat) skips an optional photo question, so
a step may say `only_with_photos = true` (done only where photos are taken), and
`expect_with_photos` / `expect_without_photos` for what differs.

A driver plays the steps on one channel; `play` checks the answers the same way for all.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.normalize import fold

FOLDER = Path(__file__).parent / "transcripts"


@dataclass(frozen=True)
class Seen:
    """What the bot showed after one step, whatever the channel."""

    text: str
    labels: list[str]


class Driver(Protocol):
    """One channel's way of doing what a step says."""

    photos: bool

    async def say(self, text: str) -> Seen: ...

    async def press(self, label: str) -> Seen: ...

    async def contact(self, phone: str) -> Seen: ...

    async def photo(self) -> Seen: ...


def load(name: str) -> dict[str, Any]:
    """A transcript by file stem."""
    with (FOLDER / f"{name}.toml").open("rb") as handle:
        return tomllib.load(handle)


def names() -> list[str]:
    """Every transcript's name."""
    return sorted(path.stem for path in FOLDER.glob("*.toml"))


async def play(driver: Driver, transcript: dict[str, Any]) -> list[Seen]:
    """Do each step and check the answer; returns what was seen."""
    seen: list[Seen] = []
    if "join" in transcript:
        await driver.say("/batdau")
        await driver.press("Tôi đồng ý")
        joined = await driver.press(transcript["join"])
        assert "đã tham gia" in joined.text, joined.text
    photos = getattr(driver, "photos", True)
    for number, step in enumerate(transcript["steps"], start=1):
        if step.get("only_with_photos") and not photos:
            continue
        if "say" in step:
            result = await driver.say(step["say"])
        elif "press" in step:
            result = await driver.press(step["press"])
        elif "contact" in step:
            result = await driver.contact(step["contact"])
        elif "photo" in step:
            result = await driver.photo()
        else:
            raise AssertionError(f"step {number} does nothing: {step}")
        where = f"step {number} ({step})"
        extra = step.get("expect_with_photos" if photos else "expect_without_photos", [])
        for fragment in [*step.get("expect", []), *extra]:
            assert fragment in result.text, f"{where}: {fragment!r} not in:\n{result.text}"
        for fragment in step.get("absent", []):
            assert fragment not in result.text, f"{where}: {fragment!r} shown:\n{result.text}"
        for label in step.get("buttons", []):
            assert any(fold(label) in fold(shown) for shown in result.labels), (
                f"{where}: no button {label!r} among {result.labels}"
            )
        seen.append(result)
    return seen
