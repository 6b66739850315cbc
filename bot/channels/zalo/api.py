"""A thin client of the Zalo Bot API: POST {root}/bot{token}/{method} with a JSON body.

Zalo answers in Telegram's envelope, `{"ok": true, "result": ...}` or `{"ok": false,
"error_code": N, "description": "..."}`, and often with HTTP 200 even on errors, so
`ok` is always checked. The token is part of every URL: no message raised from here
contains it.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.channels.http import DEFAULT_TIMEOUT, PooledClient

# Zalo's error table: 401 token invalid or expired, 408 long poll ended empty, 429 quota.
# -216/-220 (token) and -32 (rate) are the Official Account API's, kept in case they appear.
TOKEN_CODES = frozenset({401, -216, -220})
RATE_CODES = frozenset({429, -32})
POLL_EMPTY = 408


class ZaloApiError(Exception):
    """Zalo answered `ok: false` (or something that is not its envelope)."""

    def __init__(
        self, method: str, error_code: int, description: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{method}: {error_code} {description}".strip())
        self.method = method
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    @property
    def bad_token(self) -> bool:
        """The token is wrong, revoked or expired."""
        return self.error_code in TOKEN_CODES

    @property
    def rate_limited(self) -> bool:
        """Zalo says we are sending too much."""
        return self.error_code in RATE_CODES


class ZaloNetworkError(Exception):
    """Zalo could not be reached, or did not answer in time."""


class ZaloApi(PooledClient):
    """One aiohttp session for every call of one bot token."""

    def __init__(self, root: str, token: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(root, timeout=timeout)
        self._token = token

    def redact(self, text: str) -> str:
        """`text` without the token."""
        return text.replace(self._token, "<token>") if self._token else text

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """The `result` of one method call; raises ZaloApiError or ZaloNetworkError."""
        await self.open()
        assert self._session is not None
        url = f"{self.root}/bot{self._token}/{method}"
        limit = aiohttp.ClientTimeout(total=timeout) if timeout is not None else None
        try:
            async with self._session.post(url, json=params or {}, timeout=limit) as response:
                status, raw = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = self.redact(str(exc)) or "no answer in time"
            raise ZaloNetworkError(f"{method}: {type(exc).__name__}: {detail}") from None
        return self._result(method, status, raw)

    def _result(self, method: str, status: int, raw: bytes) -> Any:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            code = status if status >= 400 else 502
            raise ZaloApiError(method, code, f"HTTP {status}, not a Zalo API answer")
        if body.get("ok") is True:
            return body.get("result")
        code = _as_int(body.get("error_code"))
        if code is None:
            code = status if status >= 400 else 0
        description = self.redact(str(body.get("description") or body.get("message") or ""))
        parameters = body.get("parameters")
        retry = parameters.get("retry_after") if isinstance(parameters, dict) else None
        retry_after = _as_float(retry if retry is not None else body.get("retry_after"))
        raise ZaloApiError(method, code, description, retry_after)

    async def get_me(self) -> dict[str, Any]:
        """The bot's own account (id, account_name, ...)."""
        result = await self.call("getMe")
        return result if isinstance(result, dict) else {}

    async def get_updates(self, timeout: int) -> list[dict[str, Any]]:
        """Long-poll for updates: one object, a list, or none (408) all become a list."""
        try:
            result = await self.call(
                "getUpdates", {"timeout": str(timeout)}, timeout=timeout + 10.0
            )
        except ZaloApiError as exc:
            if exc.error_code == POLL_EMPTY:
                return []
            raise
        if isinstance(result, list):
            return [update for update in result if isinstance(update, dict)]
        return [result] if isinstance(result, dict) and result else []

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        """Ask Zalo to POST updates to `url` with `secret_token` in a header."""
        return await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> Any:
        """Go back to getUpdates (which does not work while a webhook is set)."""
        return await self.call("deleteWebhook")

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """Send 1-2,000 characters of plain text."""
        result = await self.call("sendMessage", {"chat_id": chat_id, "text": text})
        return result if isinstance(result, dict) else {}

    async def send_photo(
        self, chat_id: str, photo_url: str, caption: str | None = None
    ) -> dict[str, Any]:
        """Send an image Zalo fetches from `photo_url`."""
        params: dict[str, Any] = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            params["caption"] = caption
        result = await self.call("sendPhoto", params)
        return result if isinstance(result, dict) else {}


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _as_float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None
