"""Cross-site request forgery: every form carries the session's token, and a POST coming
from another site's page (its Origin or Referer names another site) is refused."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import web

from bot import keys
from bot.downloads import base_url

FIELD = "csrf"


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins(request: web.Request) -> set[str]:
    """This server as the browser reaches it: directly, or through its public address."""
    found = {f"{request.scheme}://{request.host}".lower()}
    public = _origin_of(base_url(request.config_dict[keys.SETTINGS]))
    if public:
        found.add(public)
    return found


def same_site(request: web.Request) -> bool:
    """False when the browser says the request comes from another site's page."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.lower() in own_origins(request)
    referer = request.headers.get("Referer")
    if referer:
        return _origin_of(referer) in own_origins(request)
    # Neither header (an old browser, or a privacy setting): the form token decides.
    return True


async def valid_form(request: web.Request, expected: str) -> bool:
    """The POST comes from this site and its form carries the session's token."""
    if not same_site(request):
        return False
    form = await request.post()
    sent = form.get(FIELD)
    return isinstance(sent, str) and hmac.compare_digest(sent, expected)
