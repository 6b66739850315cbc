"""POST /zalo-oa/webhook: check Zalo's signature, record the event, answer 200 at once.

`X-ZEvent-Signature: mac=<hex>`, hex = SHA-256 (a plain digest, not HMAC) of
first + raw body + timestamp + key, over the raw bytes as received, `timestamp` being
the body's own field as sent. Sources disagree on `first` (the app id or the OA id) and
on `key` (the OA secret key or the app secret): every documented variant is accepted,
and the one that matched is logged once. A forged call gets 401 and nothing is stored.

Zalo waits 2 seconds for the 200, so the handling happens after it (bot.channels.zalo_oa
.events); the event is committed first, so an acknowledged event is never lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot import metrics
from bot.channels.zalo_oa import inbound
from bot.settings import Settings

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/zalo-oa/webhook"
SIGNATURE_HEADER = "X-ZEvent-Signature"

Record = Callable[[dict[str, Any], str], Awaitable[bool]]


def signature(first: str, raw: bytes, timestamp: str, key: str) -> str:
    """The hex digest Zalo puts after `mac=`."""
    return hashlib.sha256(first.encode() + raw + timestamp.encode() + key.encode()).hexdigest()


def timestamp_as_sent(body: dict[str, Any]) -> str:
    """The body's `timestamp` as text (Zalo sends it as a string of milliseconds)."""
    value = body.get("timestamp")
    if isinstance(value, bool) or value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


class SignatureCheck:
    """Which (first, key) pairs are accepted, and which one matched first."""

    def __init__(self, settings: Settings, oa_id: Callable[[], str | None]) -> None:
        self.settings = settings
        self.oa_id = oa_id
        self.matched: str | None = None

    def variants(self) -> list[tuple[str, str, str]]:
        """(name, first, key) for every configured combination."""
        firsts = [("app_id", self.settings.zalo_oa_app_id), ("oa_id", self.oa_id())]
        keys = [
            ("oa_secret_key", self.settings.zalo_oa_secret_key),
            ("app_secret", self.settings.zalo_oa_app_secret),
        ]
        found = []
        for first_name, first in firsts:
            for key_name, key in keys:
                if first and key is not None and key.get_secret_value():
                    found.append((f"{first_name}+{key_name}", first, key.get_secret_value()))
        return found

    def verify(self, header: str, raw: bytes, body: dict[str, Any]) -> bool:
        """True if the header matches one variant (compared in constant time)."""
        given = header.strip()
        if given.lower().startswith("mac="):
            given = given[4:]
        given_bytes = given.strip().lower().encode("ascii", "replace")
        timestamp = timestamp_as_sent(body)
        ok = None
        for name, first, key in self.variants():
            expected = signature(first, raw, timestamp, key).encode()
            if hmac.compare_digest(given_bytes, expected) and ok is None:
                ok = name
        if ok is not None and self.matched is None:
            self.matched = ok
            logger.info("Zalo OA webhook signatures match the %s variant", ok)
        return ok is not None


class Webhook:
    """The aiohttp handler; `record` stores one event and says whether it was new."""

    def __init__(
        self,
        settings: Settings,
        check: SignatureCheck,
        record: Record,
        clock: Callable[[], datetime],
        oa_id: Callable[[], str | None],
    ) -> None:
        self.settings = settings
        self.check = check
        self.record = record
        self.clock = clock
        self.oa_id = oa_id

    async def handle(self, request: web.Request) -> web.Response:
        """Verify, drop what needs no handling, record the rest; 200 unless forged."""
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        header = request.headers.get(SIGNATURE_HEADER, "")
        if not header and not (isinstance(body, dict) and body.get("event_name")):
            # Saving the webhook address in Zalo's console calls it once, unsigned and
            # without an event, and expects 200. Nothing is read or stored.
            logger.info("Zalo OA webhook checked (an unsigned call without an event)")
            return web.Response(text="ok")
        if not isinstance(body, dict) or not self.check.verify(header, raw, body):
            metrics.REJECTED.labels("zalo_oa", "signature").inc()
            logger.warning("Zalo OA webhook call with a bad signature from %s", request.remote)
            return web.Response(status=401, text="unauthorized")
        name = str(body.get("event_name") or "")
        if inbound.is_echo(body, self.oa_id()):
            return web.Response(text="echo")
        if name in inbound.IGNORED:
            return web.Response(text="ignored")
        at = inbound.moment(body)
        limit = timedelta(seconds=self.settings.zalo_oa_max_event_age_seconds)
        if at is not None and self.clock() - at > limit:
            metrics.REJECTED.labels("zalo_oa", "old").inc()
            logger.warning("Zalo OA %s event from %s is too old; ignored (a replay?)", name,
                           at.isoformat())
            return web.Response(text="too old")
        if not inbound.user_of(body):
            logger.info("Zalo OA %s event without a user ignored", name)
            return web.Response(text="ignored")
        if not await self.record(body, inbound.event_key(body)):
            return web.Response(text="duplicate")
        return web.Response(text="ok")
