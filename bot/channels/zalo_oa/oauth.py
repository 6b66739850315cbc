"""Zalo's OAuth v4 for an Official Account: PKCE, the permission link, the token endpoint.

The token endpoint takes a form-encoded POST with the app's secret in a `secret_key`
header and answers `{access_token, refresh_token, expires_in: "90000"}` (a string).
Errors come as JSON with a negative `error` and `error_name`/`error_description`, with
HTTP 200 or 4xx. They are sorted into two kinds: `OAuthRefused` (Zalo looked at the
grant and said no: a human must connect again) and `OAuthUnavailable` (network, 5xx,
timeouts, unreadable answers: try again later). No message raised here holds a token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp

DEFAULT_TIMEOUT = 15.0
# Zalo's authorization code lives 10 minutes; a pending connection no longer.
CODE_LIFETIME = timedelta(minutes=10)


class OAuthError(Exception):
    """The token endpoint did not give a token pair."""


class OAuthRefused(OAuthError):
    """Zalo refused the code or refresh token: the grant is dead until someone reconnects."""

    def __init__(self, error: int, name: str, description: str) -> None:
        super().__init__(f"{error} {name}: {description}".strip(": "))
        self.error = error
        self.name = name
        self.description = description


class OAuthUnavailable(OAuthError):
    """Zalo could not be reached or answered with a server error; try again later."""


@dataclass(frozen=True)
class TokenPair:
    """What the token endpoint gives: lifetimes in seconds from when it answered."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int | None = None

    def access_expires_at(self, now: datetime) -> datetime:
        """When the access token stops working."""
        return now + timedelta(seconds=self.expires_in)

    def refresh_expires_at(self, now: datetime) -> datetime | None:
        """When the refresh token stops working, if Zalo said."""
        if self.refresh_expires_in is None:
            return None
        return now + timedelta(seconds=self.refresh_expires_in)


def new_verifier() -> str:
    """A PKCE code verifier: 64 URL-safe characters (RFC 7636 wants 43-128)."""
    return secrets.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    """base64url(sha256(verifier)) without padding, as Zalo checks it."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> str:
    """An unguessable state that ties Zalo's redirect to one pending connection."""
    return secrets.token_urlsafe(24)


def permission_link(
    oauth_url: str, *, app_id: str, redirect_uri: str, verifier: str, state: str
) -> str:
    """The page where the OA's administrator grants our app access."""
    query = urlencode(
        {
            "app_id": app_id,
            "redirect_uri": redirect_uri,
            "code_challenge": code_challenge(verifier),
            "state": state,
        }
    )
    return f"{oauth_url.rstrip('/')}/v4/oa/permission?{query}"


class OAuthClient:
    """The token endpoint of one Zalo app, on an aiohttp session (its own or a shared one)."""

    def __init__(
        self,
        oauth_url: str,
        *,
        app_id: str,
        app_secret: str,
        timeout: float = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = f"{oauth_url.rstrip('/')}/v4/oa/access_token"
        self.app_id = app_id
        self._secret = app_secret
        self.timeout = timeout
        self._session = session
        self._own_session = session is None

    async def exchange_code(self, code: str, verifier: str) -> TokenPair:
        """Trade the code from the redirect (and our verifier) for a token pair."""
        return await self._post(
            {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
        )

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Spend a refresh token (single-use) on a new pair."""
        return await self._post({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, form: dict[str, str]) -> TokenPair:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        body = {"app_id": self.app_id, **form}
        headers = {"secret_key": self._secret}
        try:
            async with self._session.post(
                self.url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError:
            raise OAuthUnavailable(f"Zalo OAuth gave no answer in {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise OAuthUnavailable(f"cannot reach Zalo OAuth: {type(exc).__name__}") from None
        return parse_answer(status, raw)


def parse_answer(status: int, raw: bytes) -> TokenPair:
    """The token pair in an answer, or the right error for it."""
    data = _json(raw)
    error = _error_code(data) if data is not None else 0
    if error:
        assert data is not None
        if status >= 500 or status == 429:
            raise OAuthUnavailable(f"Zalo OAuth answered HTTP {status} (error {error})")
        name = str(data.get("error_name") or data.get("message") or "")
        description = str(data.get("error_description") or data.get("error_reason") or "")
        raise OAuthRefused(error, name, description)
    if status >= 500 or status == 429:
        raise OAuthUnavailable(f"Zalo OAuth answered HTTP {status}")
    if data is None:
        raise OAuthUnavailable(f"Zalo OAuth answered HTTP {status} with no JSON")
    try:
        return TokenPair(
            access_token=_text(data["access_token"]),
            refresh_token=_text(data["refresh_token"]),
            expires_in=int(data["expires_in"]),
            refresh_expires_in=(
                int(data["refresh_token_expires_in"])
                if data.get("refresh_token_expires_in") not in (None, "")
                else None
            ),
        )
    except (KeyError, TypeError, ValueError):
        if status >= 400:
            raise OAuthRefused(-status, f"HTTP {status}", "no token pair") from None
        raise OAuthUnavailable("Zalo OAuth answered without a usable token pair") from None


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _error_code(data: dict[str, Any]) -> int:
    try:
        return int(data.get("error") or 0)
    except (TypeError, ValueError):
        return -1  # an error given as words: still an error


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("empty token")
    return value
