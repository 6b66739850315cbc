"""Reply -> the text a Zalo user reads: the Zalo Bot API has no buttons.

Choices become numbered lines in reading order, with one line saying "Trả lời bằng số
hoặc gõ chữ" — the numbers the core accepts (bot.flows `_answer`, bot.inputs
`match_option`, the dispatcher's offered buttons). Where a typed number would not mean
the button, the button is offered as words instead:
- "back" and "skip" beside a typed answer (name, phone, number of people): "1" there
  is an answer, so they read "Hoặc gõ: “Quay lại”";
- quick numbers (1 · 2 · 3 ...): the number typed is the answer itself;
- a message sent later through the outbox, or a reply before the last one with buttons:
  the core remembers only the last buttons shown, so these read as the command the
  button stands for, "Bạn có thể gõ: /tatnhac (Tắt nhắc nhở)".
Long texts are split at paragraph, line, sentence or word boundaries.
"""

from __future__ import annotations

import re
import unicodedata

from bot import texts, textsplit
from bot.events import Button, Reply
from bot.flows import BACK, SKIP

TEXT_LIMIT = 2000
_NAV = frozenset({BACK, SKIP})
_DROPPED = frozenset({"So", "Sk", "Cf", "Cs", "Co"})
_KEYCAP_AND_VARIANTS = {"\ufe0e", "\ufe0f", "\u20e3", "\u200d"}
_SPACES = re.compile(r"\s+")


def render(reply: Reply, lang: str, *, numbered: bool = True) -> str:
    """The reply's text with its buttons written out (numbered, or as words to type)."""
    buttons = reply.all_buttons()
    if not buttons:
        return reply.text
    block = choices(buttons, lang, numbered=numbered)
    return f"{reply.text}\n\n{block}" if reply.text.strip() else block


def choices(buttons: list[Button], lang: str, *, numbered: bool = True) -> str:
    """The lines that stand for a row of buttons."""
    if not numbered:
        return texts.t("zalo.words_hint", lang, words=quoted(buttons))
    nav = [button for button in buttons if is_nav(button)]
    own = [button for button in buttons if not is_nav(button)]
    if own and not all(plain(button.label).isdigit() for button in own):
        lines = [number_line(n, button.label) for n, button in enumerate(buttons, start=1)]
        return "\n".join([*lines, texts.t("zalo.numbered_hint", lang)])
    lines = [" · ".join(plain(button.label) for button in own)] if own else []
    if nav:
        lines.append(texts.t("zalo.typed_hint", lang, words=quoted(nav)))
    return "\n".join(lines)


def number_line(number: int, label: str) -> str:
    """`2. Không đồng ý`; a label that already starts with its number is kept as it is."""
    stripped = label.strip()
    if re.match(rf"{number}(?!\d)", stripped):
        return stripped
    return f"{number}. {stripped}"


def is_nav(button: Button) -> bool:
    """A flow's "back" or "skip" button (typed as words on a typed question)."""
    return button.data.rpartition(":")[2] in _NAV


def quoted(buttons: list[Button]) -> str:
    """`“Quay lại”, “Bỏ qua”`: what a resident types for buttons that have no number."""
    return ", ".join(typed_form(button) for button in buttons)


def typed_form(button: Button) -> str:
    """A command button as its /command (words could name another command), else its words."""
    tag, _, rest = button.data.partition(":")
    if tag == "cmd" and rest:
        name, _, argument = rest.partition(":")
        return f"/{name} {argument}".rstrip() + f" ({plain(button.label)})"
    return f"“{plain(button.label)}”"


def plain(label: str) -> str:
    """The label without emoji and symbols: what a resident would type."""
    kept = "".join(
        ch
        for ch in unicodedata.normalize("NFC", label)
        if unicodedata.category(ch) not in _DROPPED and ch not in _KEYCAP_AND_VARIANTS
    )
    tidy = _SPACES.sub(" ", kept).strip(" -–—·•:")
    return tidy or label.strip()









def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Zalo-sized pieces (2,000 units), cut at natural boundaries."""
    return textsplit.split_text(text, limit)
