"""One pooled aiohttp client session per platform API, opened and closed with the channel."""

from __future__ import annotations

import aiohttp

DEFAULT_TIMEOUT = 30.0
POOL_SIZE = 32


class PooledClient:
    """The HTTP session of one platform API client; subclasses add the calls."""

    def __init__(self, root: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.root = root.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the HTTP session (idempotent)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=POOL_SIZE),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
