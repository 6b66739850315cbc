"""The seam between channels and the core: incoming events, replies, delivery results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from aiohttp import web

ChannelName = Literal["telegram", "zalo", "zalo_oa", "webchat", "test"]
IncomingKind = Literal["command", "text", "button", "contact", "media", "user_info", "other"]


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A reference to a photo or file held by the platform; never the bytes."""

    kind: Literal["photo", "document", "sticker", "audio", "video", "other"]
    file_ref: str
    mime: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """One normalized update from any channel; exactly one payload field is set."""

    channel: ChannelName
    update_id: str
    chat_id: str
    user_id: str
    received_at: datetime
    kind: IncomingKind
    display_name: str | None = None
    lang_hint: str | None = None
    command: str | None = None
    args: tuple[str, ...] = ()
    text: str | None = None
    button: str | None = None
    contact_phone: str | None = None
    media: MediaRef | None = None
    # kind "user_info": what the resident shared in the platform's form, as given
    # (keys name, phone, address, city, district, ward); validated by the flow.
    user_info: Mapping[str, str] | None = None
    raw: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Button:
    """A choice shown under a message; `data` is opaque to channels (at most 64 bytes)."""

    label: str
    data: str

    def __post_init__(self) -> None:
        if not 1 <= len(self.data.encode()) <= 64:
            raise ValueError(f"button data must be 1-64 bytes: {self.data!r}")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to send with a reply (exports, charts)."""

    filename: str
    mime: str
    content: bytes | Path
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What the core says back; channels render it in their own way."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    request_contact: bool = False
    contact_label: str | None = None
    attachment: Attachment | None = None
    remove_keyboard: bool = False
    # Offer the platform's "share name, phone and address" form (where
    # capabilities.user_info_form); channels without it show the text alone.
    request_user_info: bool = False

    def all_buttons(self) -> list[Button]:
        """Buttons in reading order, as numbered when a channel cannot show them."""
        return [button for row in self.buttons for button in row]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can show, so the core can adapt wording."""

    buttons: bool
    contact_request: bool
    documents: bool
    max_text: int
    photos: bool = True
    # The platform can ask for name, phone and address in one form (Zalo OA's
    # request_user_info); the answers come back as Incoming(kind="user_info").
    user_info_form: bool = False


# "held": the platform would refuse it now (Zalo OA outside its messaging window); it
# waits in the outbox for the resident's next message instead of being lost.
DeliveryStatus = Literal["sent", "retry_after", "blocked", "held", "failed"]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The only thing a channel's send returns; the delivery worker needs nothing else."""

    status: DeliveryStatus
    message_id: str | None = None
    retry_after: float | None = None
    reason: str | None = None


class Channel(Protocol):
    """A messaging platform adapter."""

    name: ChannelName
    capabilities: Capabilities

    def setup(self, app: web.Application) -> None:
        """Register routes and start/stop hooks on the shared aiohttp app."""

    async def send(self, chat_id: str, reply: Reply) -> DeliveryResult:
        """Deliver one reply to one chat."""
