"""python-telegram-bot's HTTP layer on aiohttp, and Bot API calls that skip PTB's objects.

PTB lets a bot bring its own HTTP layer (`telegram.request.BaseRequest`). Its default,
`HTTPXRequest`, spent ~0.95 ms of CPU per Bot API call in the ingest benchmark against
~0.27 ms for the same call through aiohttp, which the server already runs on
(docs/performance.md). Everything else stays PTB: `Bot`, its methods, its errors.
Long polls (`getUpdates`) keep PTB's own transport: one call at a time, rarely.

`RawBot.call` returns the Bot API's JSON result as it is: a reply's only use of the sent
message is its id, and building a `Message` from every answer was 7.6 % of the time.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram import Bot
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_HEADERS = {"User-Agent": BaseRequest.USER_AGENT}
_JSON_HEADERS = {**_HEADERS, "Content-Type": "application/json"}


class RawBot(Bot):
    """A `telegram.Bot` that can also call a method and keep the answer as JSON."""

    async def call(self, endpoint: str, **params: Any) -> Any:
        """One Bot API call (`sendMessage`, ...); the `result` field, unparsed.

        None values are dropped and PTB objects (keyboards) serialized, as PTB's own
        methods do; failures raise PTB's errors (`RetryAfter`, `Forbidden`, ...).
        """
        return await self._post(endpoint, params)


class AiohttpRequest(BaseRequest):
    """PTB's request interface over one aiohttp ClientSession (keep-alive pool)."""

    def __init__(self, connection_pool_size: int = 32, *, read_timeout: float = 5.0,
                 write_timeout: float = 5.0, connect_timeout: float = 5.0,
                 media_write_timeout: float = 20.0) -> None:
        self._pool_size = connection_pool_size
        self._read, self._write, self._connect = read_timeout, write_timeout, connect_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout in seconds."""
        return self._read

    async def initialize(self) -> None:
        """Open the session (and its connection pool)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        """Close the session."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP call; status and body back, transport failures as PTB's errors."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        headers = _JSON_HEADERS if request_data and not files else _HEADERS
        body: Any = _form(request_data, files) if files else (
            _json(request_data) if request_data else None)
        default_write = self._media_write if files else self._write
        timeout = aiohttp.ClientTimeout(
            sock_connect=_value(connect_timeout, self._connect),
            sock_read=_value(read_timeout, self._read),
            total=None if files else _total(read_timeout, write_timeout, self._read,
                                             default_write, self._connect),
        )
        try:
            async with self._session.request(
                method, url, data=body, timeout=timeout, headers=headers
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _json(request_data: RequestData) -> bytes:
    """The parameters as one JSON body (the Bot API takes JSON): one `json.dumps` instead
    of one per field and then percent-encoding every Vietnamese letter of a form."""
    return json.dumps(request_data.parameters, ensure_ascii=False).encode()


def _form(request_data: RequestData | None, files: dict[str, Any]) -> aiohttp.FormData:
    """Multipart body: the parameters as fields, the files as file parts."""
    form = aiohttp.FormData()
    for name, value in (request_data.json_parameters if request_data else {}).items():
        form.add_field(name, value)
    for name, part in files.items():
        filename, content, *mime = part
        if not isinstance(content, bytes | bytearray):
            content = content.read()
        form.add_field(name, content, filename=filename,
                       content_type=mime[0] if mime else "application/octet-stream")
    return form


def _value(given: ODVInput[float], default: float) -> float | None:
    return default if isinstance(given, DefaultValue) else given


def _total(read: ODVInput[float], write: ODVInput[float], default_read: float,
           default_write: float, connect: float) -> float | None:
    parts = [_value(read, default_read), _value(write, default_write), connect]
    return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
