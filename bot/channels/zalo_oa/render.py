"""Reply -> the `message` objects of the OA's consultation API (/v3.0/oa/message/cs).

Text goes in pieces of at most 2,000 characters. Buttons are `oa.query.show` buttons
under the last piece, and their payload is the button's label: tapping one posts the
label into the chat as the resident's own message, so officers reading the OA inbox see
readable answers, and the core reads it exactly as if it were typed (a typed label or
number picks a choice: bot.inputs `match_option`, the dispatcher's `_typed_choice`).

Zalo shows at most five buttons under a message; past five, the rest are numbered lines
in the text (numbered in reading order, as the core counts them). Buttons the core will
not remember (an outbox message, or a reply before the last one with buttons) carry the
command they stand for (`/tatnhac`) when they have one, since a label alone would then
mean nothing. `Reply.request_user_info` adds the OA's "share your information" form.
"""

from __future__ import annotations

from typing import Any

from bot import texts, textsplit
from bot.channels.zalo.render import is_nav, number_line, plain
from bot.events import Button, Reply
from bot.inputs import ALL, DONE_PICKING

TEXT_LIMIT = 2000
MAX_BUTTONS = 5
TITLE_LIMIT = 100
PAYLOAD_LIMIT = 1000
FORM_TITLE_LIMIT = 100
FORM_SUBTITLE_LIMIT = 500
_LIST_ENDS = frozenset({ALL, DONE_PICKING})


def render(
    reply: Reply, lang: str, *, remembered: bool = True, form_image_url: str | None = None
) -> list[dict[str, Any]]:
    """The messages to send for one reply, in order (without its attachment)."""
    shown, rest = split_buttons(reply.all_buttons())
    text = reply.text
    if rest:
        block = overflow(rest, len(shown) - sum(map(_kept, shown)), lang)
        text = f"{text}\n\n{block}" if text.strip() else block
    pieces = split_text(text)
    if shown and not pieces:
        pieces = [texts.t("zalo_oa.choose", lang)]
    messages: list[dict[str, Any]] = [{"text": piece} for piece in pieces]
    if shown:
        messages[-1]["attachment"] = {
            "type": "template",
            "payload": {"buttons": [button_json(b, remembered=remembered) for b in shown]},
        }
    if reply.request_user_info:
        messages.append(user_info_form(lang, form_image_url))
    return messages


def split_buttons(buttons: list[Button]) -> tuple[list[Button], list[Button]]:
    """(shown as buttons, written as lines). "Back" and "skip" stay buttons (a number typed
    beside a typed question is an answer, not a choice), and so do "all" and "done" of a
    several-choice list (a number typed there picks one item and ends the list)."""
    if len(buttons) <= MAX_BUTTONS:
        return buttons, []
    nav = [b for b in buttons if _kept(b)]
    own = [b for b in buttons if not _kept(b)]
    slots = MAX_BUTTONS - len(nav)
    return [*own[:slots], *nav], own[slots:]


def _kept(button: Button) -> bool:
    return is_nav(button) or button.data.rpartition(":")[2] in _LIST_ENDS


def overflow(rest: list[Button], before: int, lang: str) -> str:
    """The choices past the buttons: `6 · 7 · 8` for quick numbers, else numbered lines
    (counted on from the buttons, as the core counts them)."""
    if all(plain(b.label).isdigit() for b in rest):
        lines = [" · ".join(plain(b.label) for b in rest)]
    else:
        lines = [number_line(n, b.label) for n, b in enumerate(rest, start=before + 1)]
    return "\n".join([*lines, texts.t("zalo.numbered_hint", lang)])


def button_json(button: Button, *, remembered: bool = True) -> dict[str, Any]:
    """One `oa.query.show` button whose payload is what the resident would type."""
    title = cut(button.label.strip(), TITLE_LIMIT)
    return {"title": title, "type": "oa.query.show",
            "payload": cut(typed_payload(button, remembered=remembered), PAYLOAD_LIMIT)}


def typed_payload(button: Button, *, remembered: bool = True) -> str:
    """The label; for a button the core will not remember, the command it stands for."""
    tag, _, rest = button.data.partition(":")
    if not remembered and tag == "cmd" and rest:
        name, _, argument = rest.partition(":")
        return f"/{name} {argument}".rstrip()
    return button.label.strip()


def user_info_form(lang: str, image_url: str | None) -> dict[str, Any]:
    """The `request_user_info` template: one card the resident taps to share their details."""
    element: dict[str, Any] = {
        "title": cut(texts.t("zalo_oa.form_title", lang), FORM_TITLE_LIMIT),
        "subtitle": cut(texts.t("zalo_oa.form_subtitle", lang), FORM_SUBTITLE_LIMIT),
    }
    if image_url:
        element["image_url"] = image_url
    return {"attachment": {"type": "template", "payload": {
        "template_type": "request_user_info", "elements": [element]}}}


def media_message(attachment_id: str, caption: str | None = None) -> dict[str, Any]:
    """An uploaded image (its attachment id), with an optional caption."""
    message: dict[str, Any] = {"attachment": {"type": "template", "payload": {
        "template_type": "media",
        "elements": [{"media_type": "image", "attachment_id": attachment_id}]}}}
    if caption:
        message["text"] = cut(caption, TEXT_LIMIT)
    return message


def cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` UTF-16 units with an ellipsis."""
    if textsplit.utf16_len(text) <= limit:
        return text
    return text[: textsplit.fitting(text, limit - 1)] + "…"


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most 2,000 units, cut at natural boundaries; none for blank text."""
    if not text.strip():
        return []
    return textsplit.split_text(text, limit)
