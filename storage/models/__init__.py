"""Every model, imported here so one metadata holds them all."""

from storage.models import (  # noqa: F401  (one metadata)
    broadcasts,
    dashboard,
    downloads,
    households,
    nominations,
    reminders,
    roles,
    surveys,
    zalo_oa,
)
from storage.models.base import Base
from storage.models.messaging import ChatState, ProcessedUpdate, WebchatMessage
from storage.models.outbox import OutboxMessage
from storage.models.residents import ChannelIdentity, Resident

__all__ = [
    "Base",
    "ChannelIdentity",
    "ChatState",
    "OutboxMessage",
    "ProcessedUpdate",
    "Resident",
    "WebchatMessage",
]
