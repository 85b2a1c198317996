"""Serving over HTTP: uvicorn with connection limits it does not have itself, and logs that hold no request text.

Uvicorn (httptools) waits forever for a request's headers and body and accepts headers of any size and number:
a client that sends half a request, or nothing, holds a connection open for as long as it likes. The protocol
below adds, per request:

- a deadline for the request line and headers (``header_timeout``) from the first byte of the request, or from
  the connection when nothing comes: a slow drip of header bytes does not extend it;
- a deadline for the body (``body_timeout``) once the headers are in;
- at most ``max_header_bytes`` bytes of request line and headers (else 431) and ``max_headers`` headers (else 431).

Idle keep-alive connections are closed by uvicorn's own ``timeout_keep_alive``. Client addresses are the TCP
peer's: uvicorn's proxy-header handling (which trusts ``X-Forwarded-For`` from 127.0.0.1) is off, and
``api.deps.client_key`` reads the header only from ``KB_API__TRUSTED_PROXIES``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.logs import server_log_config
from kb.config import ApiSettings

# Keep-alive connections (the widget's, a proxy's) stay open through a busy moment such as a reindex.
KEEP_ALIVE_SECONDS = 30


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol with header and body deadlines and header size and count limits."""

    limits: ApiSettings = ApiSettings()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._reading_headers = True
        self._header_bytes = 0
        self._header_count = 0
        self._refusal: tuple[int, str] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the connection; the headers must arrive within ``header_timeout``."""
        super().connection_made(transport)
        self._arm(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline of a connection that is gone."""
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser; count what arrives before the headers end, and refuse too much of it."""
        if self._refusal is not None:
            return
        super().data_received(data)
        if self._reading_headers and self._refusal is None and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse(431, f"The request headers are larger than {self.limits.max_header_bytes} bytes.")

    def on_message_begin(self) -> None:
        """Start counting a new request's headers (on a kept-alive connection, with its own deadline)."""
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.limits.header_timeout)
        self._reading_headers = True
        self._header_count = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count the header; refuse the request when there are more than ``max_headers``."""
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._refusal = (431, f"The request has more than {self.limits.max_headers} headers.")
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """Take the headers; the body (if any) must arrive within ``body_timeout``."""
        self._reading_headers = False
        self._header_bytes = 0
        self._arm(self.limits.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """Take the whole request; the keep-alive timeout (uvicorn's) takes over after the response."""
        self._disarm()
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        """Send the refusal a parser callback asked for (431), else uvicorn's 400."""
        if self._refusal is None:
            super().send_400_response(msg)
            return
        status, detail = self._refusal
        self._send_and_close(status, detail)

    def _refuse(self, status: int, detail: str) -> None:
        self._refusal = (status, detail)
        self._send_and_close(status, detail)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self._reading_headers and self.cycle.response_started:
            self.transport.close()  # the app has answered already; nothing more to say
            return
        part = "headers" if self._reading_headers else "body"
        self._refusal = (408, f"The request {part} did not arrive in time.")
        self._send_and_close(408, self._refusal[1])

    def _send_and_close(self, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n"
        )
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(head.encode() + body)
            self.transport.close()


_REASONS = {408: "Request Timeout", 431: "Request Header Fields Too Large"}


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a refused request (httptools reports it as a parser error)."""


def server_config(app: FastAPI, settings: ApiSettings, host: str, port: int) -> uvicorn.Config:
    """Return the uvicorn configuration `kb serve` runs with (tests start the same one)."""

    class Protocol(GuardedHttpToolsProtocol):
        limits = settings

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=Protocol,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        proxy_headers=False,
        log_config=server_log_config(),
        log_level="info",
        server_header=False,
        access_log=False,
    )
