"""Reply -> Zalo Bot API calls, and what a failed call means for the delivery worker.

Text goes as sendMessage pieces of at most 2,000 characters. Zalo's bot cannot send
files: an image (a chart) is stored behind a download link and sent with sendPhoto,
which Zalo fetches by URL; any other file becomes a link in a message.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot import texts
from bot.channels.zalo.api import ZaloApi, ZaloApiError, ZaloNetworkError
from bot.channels.zalo.render import TEXT_LIMIT, split_text
from bot.events import Attachment, DeliveryResult
from bot.textsplit import fitting, utf16_len

# Zalo may fetch a photo when a resident opens it rather than once at sending.
PHOTO_TTL = timedelta(hours=24)
PHOTO_MIMES = frozenset({"image/png", "image/jpeg", "image/gif"})
TRANSIENT_CODES = frozenset({403, 408})  # Zalo's table: 403 is its internal server error
# No "user cannot be reached" code is published for the Bot API; these are the Official
# Account API's (not following, blocked, inactive, no interaction, restricted).
UNREACHABLE_CODES = frozenset({-213, -217, -227, -230, -232, -244})
_UNREACHABLE = re.compile(
    r"block|chặn|unreachable|not (?:a )?follow|not interact|chưa tương tác"
    r"|(?:user|chat|recipient|người dùng)\b.{0,40}?(?:not found|not exist|does ?n[o']t exist"
    r"|deactivated|inactive|banned|can ?not receive|can't receive|không tồn tại)"
    r"|(?:not found|no such|unknown)\W{0,3}(?:user|chat|recipient)",
    re.IGNORECASE,
)

Publish = Callable[[Attachment, timedelta | None], Awaitable[str]]


async def send_reply(
    api: ZaloApi,
    chat_id: str,
    text: str,
    attachment: Attachment | None,
    *,
    publish: Publish,
    lang: str,
    link_minutes: int,
) -> str | None:
    """Send the rendered text in pieces, then the attachment; the last message's id."""
    pieces = split_text(text)
    if not pieces and attachment is None:
        raise ValueError("a reply needs text or an attachment")
    message_id: str | None = None
    for piece in pieces:
        message_id = _message_id(await api.send_message(chat_id, piece)) or message_id
    if attachment is not None:
        sent = await send_attachment(
            api, chat_id, attachment, publish=publish, lang=lang, link_minutes=link_minutes
        )
        message_id = sent or message_id
    return message_id


async def send_attachment(
    api: ZaloApi,
    chat_id: str,
    attachment: Attachment,
    *,
    publish: Publish,
    lang: str,
    link_minutes: int,
) -> str | None:
    """A photo by URL, or a download link for any other file."""
    if attachment.mime in PHOTO_MIMES:
        url = await publish(attachment, PHOTO_TTL)
        result = await api.send_photo(chat_id, url, cut(attachment.caption, TEXT_LIMIT))
        return _message_id(result)
    url = await publish(attachment, None)
    link = texts.t(
        "zalo.download", lang, filename=attachment.filename, url=url, minutes=link_minutes
    )
    body = f"{attachment.caption}\n\n{link}" if attachment.caption else link
    message_id: str | None = None
    for piece in split_text(body):
        message_id = _message_id(await api.send_message(chat_id, piece)) or message_id
    return message_id


def cut(text: str | None, limit: int) -> str | None:
    """`text` shortened to `limit` units with an ellipsis; None stays None."""
    if not text or utf16_len(text) <= limit:
        return text or None
    return text[: fitting(text, limit - 1)] + "…"


def delivery_failure(exc: Exception) -> DeliveryResult:
    """What a failed send means for the delivery worker."""
    if isinstance(exc, ZaloNetworkError):
        return DeliveryResult("retry_after", retry_after=None, reason=f"network: {exc}")
    if not isinstance(exc, ZaloApiError):
        return DeliveryResult("failed", reason=f"{type(exc).__name__}: {exc}")
    reason = f"Zalo error {exc.error_code}: {exc.description or 'no description'}"
    if exc.rate_limited:
        return DeliveryResult("retry_after", retry_after=exc.retry_after, reason=reason)
    if exc.bad_token:
        return DeliveryResult("failed", reason=f"{reason} (check THIDUA_ZALO_TOKEN)")
    if unreachable(exc):
        return DeliveryResult("blocked", reason=reason)
    if exc.error_code in TRANSIENT_CODES or exc.error_code >= 500:
        return DeliveryResult("retry_after", retry_after=None, reason=reason)
    return DeliveryResult("failed", reason=reason)


def unreachable(exc: ZaloApiError) -> bool:
    """Zalo says this user cannot get messages from the bot (by code or in plain words)."""
    return exc.error_code in UNREACHABLE_CODES or bool(_UNREACHABLE.search(exc.description))


def _message_id(result: dict[str, object]) -> str | None:
    value = result.get("message_id")
    return str(value) if value not in (None, "") else None
