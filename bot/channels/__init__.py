"""The channel adapters enabled by the settings, by name."""

from __future__ import annotations

from bot.dispatcher import Dispatcher
from bot.events import Channel
from bot.settings import Settings


def build_channels(settings: Settings, dispatcher: Dispatcher) -> dict[str, Channel]:
    """Web chat unless switched off; Telegram when a token is set."""
    channels: dict[str, Channel] = {}
    if settings.webchat_enabled:
        from bot.channels.webchat import WebchatChannel

        channels["webchat"] = WebchatChannel(dispatcher)
    if settings.telegram_token is not None:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(settings, dispatcher)
    return channels
