"""A thin client of the Zalo Official Account Open API (https://openapi.zalo.me).

Every call carries the OA's access token in an `access_token` header (not Bearer). POST
bodies are JSON; GET calls take one URL-encoded JSON `data` query parameter. Zalo answers
`{"data": ..., "error": 0, "message": "Success"}`, and a failure comes as a non-zero
`error` with HTTP 200: the envelope is always checked. A rejected token (-216/-220) is
refreshed through the token source and the call made once more.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import aiohttp

from bot.channels.http import DEFAULT_TIMEOUT, PooledClient

logger = logging.getLogger(__name__)

TOKEN_CODES = frozenset({-216, -220, -124})
RATE_CODES = frozenset({-32})
QUOTA_CODES = frozenset({-211, -218, -144, -305, -311})
WINDOW_CODES = frozenset({-230, -232})
UNREACHABLE_CODES = frozenset({-213, -217, -227, -244})


class TokenSource(Protocol):
    """Where the access token comes from (bot.channels.zalo_oa.tokens.TokenManager)."""

    async def access_token(self) -> str:
        """A token believed valid now."""

    async def refresh_after_rejection(self, rejected: str) -> str:
        """A fresh token after Zalo refused `rejected` (refreshed once for all callers)."""


class OAApiError(Exception):
    """Zalo answered with a non-zero `error` (or something that is not its envelope)."""

    def __init__(self, code: int, message: str, endpoint: str = "") -> None:
        super().__init__(f"{endpoint}: {code} {message}".strip(": "))
        self.code = code
        self.message = message
        self.endpoint = endpoint

    @property
    def token_rejected(self) -> bool:
        """The access token is invalid, expired or lacks a permission."""
        return self.code in TOKEN_CODES

    @property
    def rate_limited(self) -> bool:
        """Too many calls this minute."""
        return self.code in RATE_CODES

    @property
    def quota(self) -> bool:
        """A quota (the OA's or this user's) is used up."""
        return self.code in QUOTA_CODES

    @property
    def outside_window(self) -> bool:
        """The user has not interacted recently enough for a consultation message."""
        return self.code in WINDOW_CODES

    @property
    def server_error(self) -> bool:
        """Zalo failed on its side (HTTP 5xx without its envelope): worth a retry."""
        return -599 <= self.code <= -500

    @property
    def unreachable(self) -> bool:
        """The user does not follow, blocked the OA, is banned or refuses this message type."""
        return self.code in UNREACHABLE_CODES


class OANetworkError(Exception):
    """Zalo could not be reached, or did not answer in time."""


class OAApi(PooledClient):
    """One aiohttp session for every call of one OA."""

    def __init__(
        self, root: str, tokens: TokenSource, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        super().__init__(root, timeout=timeout)
        self.tokens = tokens

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        form: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """The `data` of one call; a rejected token is refreshed and the call made once more."""
        token = await self.tokens.access_token()
        try:
            return await self._once(method, path, token, body, query, form)
        except OAApiError as exc:
            if not exc.token_rejected:
                raise
            logger.info("Zalo OA refused the access token (%s); refreshing once", exc.code)
        token = await self.tokens.refresh_after_rejection(token)
        return await self._once(method, path, token, body, query, form)

    async def _once(
        self,
        method: str,
        path: str,
        token: str,
        body: dict[str, Any] | None,
        query: dict[str, Any] | None,
        form: dict[str, tuple[str, bytes, str]] | None,
    ) -> Any:
        await self.open()
        assert self._session is not None
        url = f"{self.root}{path}"
        params = {"data": json.dumps(query, ensure_ascii=False)} if query is not None else None
        data: aiohttp.FormData | None = None
        if form is not None:
            data = aiohttp.FormData()
            for field, (filename, content, mime) in form.items():
                data.add_field(field, content, filename=filename, content_type=mime)
        try:
            async with self._session.request(
                method, url, headers={"access_token": token}, params=params,
                json=body if data is None and method == "POST" else None, data=data,
            ) as response:
                status, raw = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = str(exc).replace(token, "<token>") or "no answer in time"
            raise OANetworkError(f"{path}: {type(exc).__name__}: {detail}") from None
        return _data(path, status, raw)

    async def send_cs(self, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """A consultation message (text, buttons, media, form) to one user."""
        return _dict(await self.call("POST", "/v3.0/oa/message/cs", body={
            "recipient": {"user_id": user_id}, "message": message}))

    async def send_template(
        self, user_id: str, template_id: str, template_data: dict[str, Any]
    ) -> dict[str, Any]:
        """An approved template message (ZBS) to one user, outside the CS window."""
        return _dict(await self.call("POST", "/v3.0/oa/message/template", body={
            "user_id": user_id, "template_id": template_id, "template_data": template_data}))

    async def upload_image(self, filename: str, content: bytes, mime: str) -> str:
        """Upload a jpg/png (≤ 1 MB); its `attachment_id`."""
        data = await self.call("POST", "/v2.0/oa/upload/image",
                               form={"file": (filename, content, mime)})
        return str(_dict(data).get("attachment_id") or "")

    async def upload_file(self, filename: str, content: bytes, mime: str) -> str:
        """Upload a PDF/DOC/CSV (≤ 5 MB); its `token`."""
        data = await self.call("POST", "/v2.0/oa/upload/file",
                               form={"file": (filename, content, mime)})
        return str(_dict(data).get("token") or "")

    async def user_detail(self, user_id: str) -> dict[str, Any]:
        """What Zalo tells the OA about a user (name, follower, last interaction...)."""
        return _dict(await self.call("GET", "/v3.0/oa/user/detail", query={"user_id": user_id}))

    async def quota(self, user_id: str) -> dict[str, Any]:
        """The user's messaging quota and last interaction (epoch ms)."""
        return _dict(await self.call("POST", "/v3.0/oa/quota/message", body={"user_id": user_id}))


def _data(path: str, status: int, raw: bytes) -> Any:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict) or "error" not in body and "data" not in body:
        code = -status if status >= 400 else -502
        raise OAApiError(code, f"HTTP {status}, not a Zalo OA answer", path)
    code = _as_int(body.get("error")) or 0
    if code != 0:
        raise OAApiError(code, str(body.get("message") or ""), path)
    return body.get("data")


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None
