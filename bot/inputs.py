"""How a flow step reads its answer: choices, text, numbers, phone numbers, photos."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.events import Incoming
from bot.normalize import fold
from bot.phones import normalize_phone

if TYPE_CHECKING:
    from bot.context import Context

ALL, DONE_PICKING = "~all", "~done"


class Invalid(Exception):
    """An answer that cannot be used; carries the catalogue key that says why."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Stay:
    """Not an answer yet: keep these updates and ask the same step again (a toggle)."""

    updates: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """What the resident gave at a step: a pressed button's value or the incoming itself."""

    incoming: Incoming
    button: str | None = None

    @property
    def text(self) -> str | None:
        """Typed text, stripped; None when the answer is not text."""
        if self.incoming.kind == "text" and self.incoming.text is not None:
            return self.incoming.text.strip()
        return None


class Input(Protocol):
    """How a step reads its answer."""

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """Rows of (label, value) to offer; empty when the answer is typed."""

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> Any:
        """The value to save, a Stay, or raise Invalid."""


@dataclass(frozen=True)
class Option:
    """One choice: a stable value, the label a resident sees, and words that also pick it."""

    value: str
    label: str
    aliases: tuple[str, ...] = ()


Options = Callable[["Context", dict[str, Any]], Sequence[Option]]


def match_option(options: Sequence[Option], text: str) -> Option | None:
    """The option a typed answer names: its number, its label, its value or an alias."""
    folded = fold(text)
    if folded.isdigit():
        index = int(folded) - 1
        return options[index] if 0 <= index < len(options) else None
    for option in options:
        names = {fold(option.label), fold(option.value), *(fold(a) for a in option.aliases)}
        if folded in names:
            return option
    if len(folded) < 3:
        return None
    # "an ninh" for "An ninh - Trật tự": the words begin one label, or stand in just one.
    padded = f" {folded} "
    for test in (
        lambda label: label.startswith(folded + " "),
        lambda label: padded in f" {label} ",
    ):
        hits = [o for o in options if test(fold(o.label).replace(" - ", " "))]
        if len(hits) == 1:
            return hits[0]
    return None


def _rows(items: list[tuple[str, str]], columns: int) -> list[list[tuple[str, str]]]:
    return [items[i : i + columns] for i in range(0, len(items), columns)]


def _refuse_non_text(answer: Answer, key: str, **params: Any) -> str:
    if answer.button is not None:
        raise Invalid("flow.stale_button")
    if answer.text is None:
        raise Invalid(key, **params)
    return answer.text


@dataclass(frozen=True)
class Choice:
    """Pick one option by button, by its number, or by typing its label."""

    options: Options
    columns: int = 1

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """Options in rows of `columns`."""
        return _rows([(o.label, o.value) for o in self.options(ctx, data)], self.columns)

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """Accept the button, a number 1..n, or the label/value with or without diacritics."""
        options = list(self.options(ctx, data))
        if answer.button is not None:
            if any(o.value == answer.button for o in options):
                return answer.button
            raise Invalid("flow.stale_button")
        text = answer.text
        if text is None:
            raise Invalid("flow.expect_choice", count=len(options))
        picked = match_option(options, text)
        if picked is None:
            raise Invalid("flow.not_an_option", count=len(options))
        return picked.value


@dataclass(frozen=True)
class MultiChoice:
    """Pick several: each press toggles a ✅; "all" or "done" answers. Typed: "1, 3, 5"."""

    options: Options
    key: str
    minimum: int = 1
    offer_all: bool = True

    def _selected(self, data: dict[str, Any]) -> list[str]:
        return list(data.get(f"_picked_{self.key}", data.get(self.key) or []))

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """One row per option with its tick, then "all" and "done"."""
        selected = set(self._selected(data))
        rows = [[(("✅ " if o.value in selected else "▫️ ") + o.label, o.value)]
                for o in self.options(ctx, data)]
        tail = [(ctx.t("flow.pick_all"), ALL)] if self.offer_all else []
        tail.append((ctx.t("flow.pick_done", count=len(selected)), DONE_PICKING))
        return [*rows, tail]

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> Any:
        """A toggle (Stay) or the final list."""
        options = list(self.options(ctx, data))
        values = [o.value for o in options]
        selected = self._selected(data)
        if answer.button is not None:
            if answer.button == ALL:
                return values
            if answer.button == DONE_PICKING:
                return self._finish(selected, values)
            if answer.button not in values:
                raise Invalid("flow.stale_button")
            return self._toggle(selected, answer.button, values)
        text = _refuse_non_text(answer, "flow.expect_choice", count=len(options))
        folded = fold(text)
        if folded in ("tat ca", "all", "chon tat ca", "select all"):
            return values
        # A tapped "Xong (2 đã chọn)" arrives as its label (Zalo OA buttons send their label).
        if re.sub(r"\s*\([^)]*\)?$", "", folded) in ("xong", "done", "ok"):
            return self._finish(selected, values)
        if folded.isdigit() and int(folded) in (len(options) + 1, len(options) + 2):
            tail = [ALL, DONE_PICKING] if self.offer_all else [DONE_PICKING]
            position = int(folded) - len(options) - 1
            if position < len(tail):
                return values if tail[position] == ALL else self._finish(selected, values)
        numbers = re.findall(r"\d+", folded)
        if numbers and not re.sub(r"[\d\s,;.và&]+|va", "", folded):
            picked = {int(n) - 1 for n in numbers}
            if not all(0 <= i < len(options) for i in picked):
                raise Invalid("flow.not_an_option", count=len(options))
            typed = [values[i] for i in sorted(picked)]
            if selected and ctx.capabilities.buttons:
                # Ticks already made with buttons (Zalo OA shows some items as numbered
                # lines): typed numbers add to them, and "Xong" still ends the list.
                chosen = set(selected) ^ set(typed)
                return Stay({f"_picked_{self.key}": [v for v in values if v in chosen]})
            return self._finish(typed, values)
        option = match_option(options, text)
        if option is None:
            raise Invalid("flow.not_an_option", count=len(options))
        return self._toggle(selected, option.value, values)

    def _toggle(self, selected: list[str], value: str, values: list[str]) -> Stay:
        chosen = set(selected) ^ {value}
        return Stay({f"_picked_{self.key}": [v for v in values if v in chosen]})

    def _finish(self, selected: list[str], values: list[str]) -> list[str]:
        if len(selected) < self.minimum:
            raise Invalid("flow.pick_at_least", count=self.minimum)
        return [v for v in values if v in set(selected)]


@dataclass(frozen=True)
class Text:
    """Free text between `minimum` and `maximum` characters."""

    minimum: int = 1
    maximum: int = 2000
    too_short: str = "flow.text_too_short"
    too_long: str = "flow.text_too_long"

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """Typed answers have no buttons."""
        return []

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """The text, spaces tidied, if its length fits."""
        text = _refuse_non_text(answer, "flow.expect_text")
        tidy = re.sub(r"[ \t]+", " ", text).strip()
        if len(tidy) < self.minimum:
            raise Invalid(self.too_short, minimum=self.minimum, length=len(tidy))
        if len(tidy) > self.maximum:
            raise Invalid(self.too_long, maximum=self.maximum, length=len(tidy))
        return tidy


@dataclass(frozen=True)
class Integer:
    """A whole number in a range, typed or tapped from `quick` buttons."""

    minimum: int
    maximum: int
    quick: tuple[int, ...] = ()
    columns: int = 4
    invalid: str = "flow.number_invalid"

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """The quick picks."""
        return _rows([(str(n), str(n)) for n in self.quick], self.columns)

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> int:
        """The number, if it is one and in range."""
        raw = answer.button if answer.button is not None else _refuse_non_text(
            answer, self.invalid, minimum=self.minimum, maximum=self.maximum
        )
        digits = re.sub(r"\s*(nguoi|người|thanh vien|thành viên)\s*$", "", raw.strip().lower())
        if not digits.isdigit() or not self.minimum <= int(digits) <= self.maximum:
            raise Invalid(self.invalid, minimum=self.minimum, maximum=self.maximum)
        return int(digits)


@dataclass(frozen=True)
class Phone:
    """A Vietnamese phone number: shared through the platform's button or typed."""

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """The contact button is the channel's job (Reply.request_contact)."""
        return []

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> str:
        """The number in E.164 form (+84...)."""
        incoming = answer.incoming
        if incoming.kind == "contact" and incoming.contact_phone:
            raw = incoming.contact_phone
        else:
            raw = _refuse_non_text(answer, "phone.invalid")
        normalized = normalize_phone(raw)
        if normalized is None:
            raise Invalid("phone.invalid")
        return normalized


@dataclass(frozen=True)
class Photo:
    """A photo sent in the chat; kept as the platform's reference, never downloaded."""

    def buttons(self, ctx: Context, data: dict[str, Any]) -> list[list[tuple[str, str]]]:
        """Photos are sent, not tapped."""
        return []

    async def parse(self, ctx: Context, data: dict[str, Any], answer: Answer) -> dict[str, str]:
        """The channel and file reference of the photo."""
        media = answer.incoming.media
        if answer.incoming.kind != "media" or media is None or media.kind != "photo":
            raise Invalid("flow.expect_photo")
        return {"channel": answer.incoming.channel, "file_ref": media.file_ref}
