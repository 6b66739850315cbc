"""A fake of Zalo's OAuth v4 server for an Official Account, on loopback.

- GET /v4/oa/permission?app_id&redirect_uri&code_challenge&state: the officer approves;
  302 to `redirect_uri?code=..&state=..&oa_id=..` (`deny=True` redirects with an error).
- POST /v4/oa/access_token (form, header `secret_key`): `authorization_code` checks the
  PKCE verifier against the challenge of the link, codes are single-use and live 10
  minutes; `refresh_token` spends a refresh token once (reuse -> -14014, the grant is
  dead). Pairs come back with `expires_in` as a string, as Zalo sends them.

Knobs: `fail_status` (answer every token call with that HTTP status), `hang` (never
answer), `delay` (seconds before answering: widens race windows), `error_status` (HTTP
status of error answers; Zalo uses 200), `clock` (for code expiry), `access_ttl`.
Counters: `refreshes`, `exchanges`, `calls`; `issued_access_tokens` for the fake OA API.

    async with FakeZaloOAuth() as fake:
        settings = load_settings(zalo_oa_oauth_url=fake.url, zalo_oa_app_id=fake.app_id,
                                 zalo_oa_app_secret=fake.secret)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from aiohttp import web

CODE_LIFETIME = 600.0
INVALID_REFRESH = (-14014, "Invalid refresh token")
INVALID_CODE = (-14005, "Invalid authorization code")
INVALID_VERIFIER = (-14019, "Invalid code verifier")
INVALID_APP = (-14002, "Invalid app id or secret key")


@dataclass
class _Code:
    challenge: str
    redirect_uri: str
    oa_id: str
    issued_at: float
    used: bool = False


class FakeZaloOAuth:
    """The fake server; use it as an async context manager."""

    def __init__(
        self,
        *,
        app_id: str = "1234567890123456789",
        secret: str = "app-secret-Xyz",
        oa_id: str = "579745863508352884",
        access_ttl: int = 90000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self.secret = secret
        self.oa_id = oa_id
        self.access_ttl = access_ttl
        self.clock = clock
        self.fail_status: int | None = None
        self.hang = False
        self.delay = 0.0
        self.error_status = 200
        self.deny = False
        self.refreshes = 0
        self.exchanges = 0
        self.calls = 0
        self.issued_access_tokens: set[str] = set()
        self.live_refresh_tokens: set[str] = set()
        self._codes: dict[str, _Code] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._unhang = asyncio.Event()
        self.url = ""

    async def __aenter__(self) -> FakeZaloOAuth:
        app = web.Application()
        app.router.add_get("/v4/oa/permission", self._permission)
        app.router.add_post("/v4/oa/access_token", self._access_token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._unhang.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # The officer's side.

    def approve(
        self, *, challenge: str, redirect_uri: str, oa_id: str | None = None
    ) -> str:
        """Mint a code as if the officer pressed Allow on a link with `challenge`."""
        code = f"code-{next(self._ids)}-{hashlib.sha256(challenge.encode()).hexdigest()[:12]}"
        self._codes[code] = _Code(challenge, redirect_uri, oa_id or self.oa_id, self.clock())
        return code

    def approve_link(self, link: str) -> str:
        """Approve a permission link; the address Zalo would send the browser to."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
        code = self.approve(challenge=query["code_challenge"], redirect_uri=query["redirect_uri"])
        params = {"code": code, "state": query.get("state", ""), "oa_id": self.oa_id}
        return f"{query['redirect_uri']}?{urlencode(params)}"

    def grant(self) -> dict[str, str]:
        """A live pair issued directly (a connection made earlier), with `expires_in`."""
        return self._issue()

    def spend_refresh_token(self, refresh_token: str) -> None:
        """Someone else used this refresh token: it no longer works."""
        self.live_refresh_tokens.discard(refresh_token)

    async def _permission(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if query.get("app_id") != self.app_id:
            return web.json_response({"error": INVALID_APP[0], "error_name": INVALID_APP[1]})
        redirect_uri = query.get("redirect_uri", "")
        if self.deny:
            params = {"error": "access_denied", "state": query.get("state", "")}
        else:
            code = self.approve(
                challenge=query.get("code_challenge", ""), redirect_uri=redirect_uri
            )
            params = {"code": code, "state": query.get("state", ""), "oa_id": self.oa_id}
        raise web.HTTPFound(f"{redirect_uri}?{urlencode(params)}")

    # Our server's side.

    async def _access_token(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.hang:
            await self._unhang.wait()
            return web.Response(status=504, text="gave up")
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_status is not None:
            return web.Response(status=self.fail_status, text="upstream error")
        form = await request.post()
        if request.headers.get("secret_key") != self.secret or form.get("app_id") != self.app_id:
            return self._error(INVALID_APP)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange(str(form.get("code", "")), str(form.get("code_verifier", "")))
        if grant_type == "refresh_token":
            token = str(form.get("refresh_token", ""))
            if token not in self.live_refresh_tokens:
                return self._error(INVALID_REFRESH)
            self.live_refresh_tokens.discard(token)
            self.refreshes += 1
            return web.json_response(self._issue())
        return self._error((-14001, "Invalid grant type"))

    def _exchange(self, code: str, verifier: str) -> web.Response:
        found = self._codes.get(code)
        if found is None or found.used or self.clock() - found.issued_at > CODE_LIFETIME:
            return self._error(INVALID_CODE)
        found.used = True
        if _challenge(verifier) != found.challenge:
            return self._error(INVALID_VERIFIER)
        self.exchanges += 1
        return web.json_response(self._issue())

    def _issue(self) -> dict[str, str]:
        serial = next(self._ids)
        access = f"access-{serial}-{hashlib.sha256(str(serial).encode()).hexdigest()[:16]}"
        refresh = f"refresh-{serial}-{hashlib.sha256(access.encode()).hexdigest()[:16]}"
        self.issued_access_tokens.add(access)
        self.live_refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": str(self.access_ttl),
            "refresh_token_expires_in": "7776000",
        }

    def _error(self, error: tuple[int, str]) -> web.Response:
        body: dict[str, Any] = {
            "error": error[0],
            "error_name": error[1],
            "error_description": error[1],
        }
        return web.json_response(body, status=self.error_status)


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
