"""The channel adapters enabled by the settings, by name."""

from __future__ import annotations

from bot.dispatcher import Dispatcher
from bot.events import Channel
from bot.settings import Settings


def build_channels(settings: Settings, dispatcher: Dispatcher) -> dict[str, Channel]:
    """Web chat unless switched off; Telegram, Zalo and the Zalo OA when configured."""
    channels: dict[str, Channel] = {}
    if settings.webchat_enabled:
        from bot.channels.webchat import WebchatChannel

        channels["webchat"] = WebchatChannel(dispatcher)
    if settings.telegram_token is not None:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(settings, dispatcher)
    if settings.zalo_token is not None:
        from bot.channels.zalo import ZaloChannel

        channels["zalo"] = ZaloChannel(settings, dispatcher)
    if settings.zalo_oa_app_id and settings.zalo_oa_app_secret is not None:
        from bot.channels.zalo_oa import ZaloOAChannel

        channels["zalo_oa"] = ZaloOAChannel(settings, dispatcher)
    return channels
