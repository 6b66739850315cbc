"""Reply -> Bot API calls: plain-text messages, keyboards, documents, button acknowledgement."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from pathlib import Path

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot import textsplit
from bot.channels.telegram.transport import RawBot
from bot.events import Attachment, DeliveryResult, Reply
from bot.textsplit import fitting, utf16_len

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CONTACT_BUTTON = "📱 Gửi số điện thoại của tôi"
PRESSED_MARK = "➜"

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def reply_markup(reply: Reply) -> Markup | None:
    """The keyboard a reply asks for: contact request, inline buttons, removal, or none."""
    if reply.request_contact:
        rows = [[KeyboardButton(reply.contact_label or CONTACT_BUTTON, request_contact=True)]]
        rows += [[KeyboardButton(button.label) for button in row] for row in reply.buttons]
        return ReplyKeyboardMarkup(rows, one_time_keyboard=True, resize_keyboard=True)
    if reply.buttons:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(button.label, callback_data=button.data) for button in row]
                for row in reply.buttons
            ]
        )
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


async def send_reply(bot: RawBot, chat_id: str, reply: Reply) -> str:
    """Send one reply as text pieces then its document; the keyboard rides on the last text.

    Returns the id of the last message sent (the answers stay JSON: nothing else of
    them is used).
    """
    markup = reply_markup(reply)
    pieces = split_text(reply.text)
    last: str | None = None
    for index, piece in enumerate(pieces):
        final = index == len(pieces) - 1
        sent = await bot.call(
            "sendMessage", chat_id=chat_number(chat_id), text=piece,
            reply_markup=markup if final else None,
        )
        last = str(sent["message_id"])
    if reply.attachment is not None:
        document = await send_attachment(
            bot, chat_id, reply.attachment, markup if not pieces else None
        )
        last = str(document.message_id)
    if last is None:
        raise ValueError("a reply needs text or an attachment")
    return last


async def send_attachment(
    bot: RawBot, chat_id: str, attachment: Attachment, markup: Markup | None = None
) -> Message:
    """Upload a file with its caption (cut to Telegram's 1024)."""
    caption = attachment.caption
    if caption is not None and utf16_len(caption) > CAPTION_LIMIT:
        caption = caption[: fitting(caption, CAPTION_LIMIT - 1)] + "…"
    if isinstance(attachment.content, Path):
        with attachment.content.open("rb") as handle:
            document = InputFile(handle, filename=attachment.filename)
    else:
        document = InputFile(attachment.content, filename=attachment.filename)
    document.mimetype = attachment.mime
    return await bot.send_document(
        chat_id=chat_id, document=document, caption=caption, reply_markup=markup
    )


def chat_number(chat_id: str) -> int | str:
    """Telegram's chat ids are integers: sent as JSON numbers, as Telegram gives them."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


def delivery_failure(exc: Exception) -> DeliveryResult:
    """What a failed send means for the delivery worker."""
    if isinstance(exc, RetryAfter):
        return DeliveryResult("retry_after", retry_after=retry_seconds(exc), reason=str(exc))
    if isinstance(exc, Forbidden):
        return DeliveryResult("blocked", reason=exc.message)
    if isinstance(exc, BadRequest):
        return DeliveryResult("failed", reason=exc.message)
    if isinstance(exc, NetworkError):
        return DeliveryResult("retry_after", retry_after=None, reason=f"network: {exc.message}")
    if isinstance(exc, TelegramError):
        return DeliveryResult("failed", reason=f"{type(exc).__name__}: {exc.message}")
    return DeliveryResult("failed", reason=f"{type(exc).__name__}: {exc}")


def retry_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds, whichever type this PTB version returns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def pressed_label(message: Message, data: str | None) -> str | None:
    """The label of the inline button carrying `data` in a message's keyboard."""
    markup = message.reply_markup
    if markup is None or data is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


async def answer_press(bot: RawBot, callback: CallbackQuery) -> None:
    """Stop the pressed button's spinner; a failure only costs the spinner."""
    try:
        await bot.call("answerCallbackQuery", callback_query_id=callback.id)
    except TelegramError as exc:
        logger.warning("answerCallbackQuery %s failed: %s", callback.id, exc)


async def mark_pressed(bot: RawBot, callback: CallbackQuery) -> None:
    """Best effort: drop the inline keyboard and add a last line naming the choice."""
    message = callback.message
    if not isinstance(message, Message):
        return
    label = pressed_label(message, callback.data)
    if label is None:
        return
    try:
        text = f"{message.text}\n{PRESSED_MARK} {label}" if message.text else None
        if text is not None and utf16_len(text) <= TEXT_LIMIT:
            await bot.call(
                "editMessageText", chat_id=message.chat.id, message_id=message.message_id,
                text=text,
            )
        else:
            await bot.call(
                "editMessageReplyMarkup", chat_id=message.chat.id,
                message_id=message.message_id,
            )
    except BadRequest as exc:
        logger.debug("pressed message %s not edited: %s", message.message_id, exc)
    except TelegramError as exc:
        logger.warning("pressed message %s not edited: %s", message.message_id, exc)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Telegram-sized pieces (4,096 units), cut at natural boundaries."""
    return textsplit.split_text(text, limit)
