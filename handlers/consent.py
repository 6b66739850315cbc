"""Yes/no questions of flows: the consent step, and the last "are you sure?".

Consent is asked per purpose, in plain words, never pre-ticked: "agree" records the
moment in the flow's data (`consent_at`); anything else ends the flow with `declined`
set, and the flow's finish stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.context import Context
from bot.flows import DONE, Step
from bot.inputs import Choice, Option

YES_WORDS = ("đồng ý", "có", "ok", "yes", "agree", "ừ", "vâng", "dạ", "đồng ý ạ", "co dong y")
NO_WORDS = (
    "không",
    "không đồng ý",
    "no",
    "ko",
    "k",
    "từ chối",
    "để sau",
    "not now",
    "later",
    "chưa",
    "thôi",
)


def consent_step(
    prompt: Callable[[Context, dict[str, Any]], str], agree_key: str, decline_key: str
) -> Step:
    """A CONSENT step with an agree and a decline button."""

    def options(ctx: Context, data: dict[str, Any]) -> list[Option]:
        return [
            Option("yes", ctx.t(agree_key), aliases=YES_WORDS),
            Option("no", ctx.t(decline_key), aliases=NO_WORDS),
        ]

    def save(ctx: Context, data: dict[str, Any], value: str) -> str | None:
        if value != "yes":
            data["declined"] = True
            return DONE
        data["consent_at"] = ctx.now().isoformat()
        return None

    return Step("CONSENT", prompt, Choice(options), save=save)


def confirm_step(
    prompt: Callable[[Context, dict[str, Any]], str],
    yes_key: str,
    no_key: str,
    *,
    yes_words: tuple[str, ...] = ("có", "đồng ý", "yes", "ok"),
) -> Step:
    """A last CONFIRM step that ends the flow with data["confirmed"] True or False."""

    def options(ctx: Context, data: dict[str, Any]) -> list[Option]:
        return [
            Option("yes", ctx.t(yes_key), aliases=yes_words),
            Option("no", ctx.t(no_key), aliases=("không", "ko", "no")),
        ]

    def save(ctx: Context, data: dict[str, Any], value: str) -> str:
        data["confirmed"] = value == "yes"
        return DONE

    return Step("CONFIRM", prompt, Choice(options), save=save)
