"""ASGI middleware: request size limit, UTF-8 request bodies, and security headers on every response."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"SAMEORIGIN"),
]


class BodySizeLimit:
    """Answers 413 to a request whose body exceeds ``max_bytes`` (declared or streamed), before any route runs."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its body counted, or answer 413 when it is (or grows) too large."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._reject(send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        await _send_json(send, 413, {"detail": f"The request body is larger than {self.max_bytes} bytes."})


class _TooLarge(Exception):
    pass


class Utf8JsonBody:
    """Answers 422 to a JSON (or untyped) request body that is not UTF-8, saying where, before any route parses it.

    Without this, the JSON parser reports some undecodable bodies as 400 "error parsing the body" and guesses
    UTF-16 for others; JSON between systems is UTF-8 (RFC 8259), so every other encoding gets the same answer.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read a JSON (or untyped) body whole and pass it on when it is UTF-8; answer 422 when it is not."""
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
        if scope["type"] != "http" or (content_type and b"json" not in content_type):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:  # the body is bounded by BodySizeLimit, which runs first
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            detail = (f"The request body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at offset {exc.start}); "
                      "send JSON encoded as UTF-8.")
            await _send_json(send, 422, {"detail": detail})
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _send_json(send: Send, status: int, content: dict[str, str]) -> None:
    body = json.dumps(content).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds nosniff, no-referrer and frame options to every response; drops any server banner.

    A response with its own Content-Security-Policy (our pages) keeps it untouched and gets no X-Frame-Options.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and add the security headers to its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = [(n, v) for n, v in message.get("headers", []) if n.lower() != b"server"]
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                if b"content-security-policy" in present:
                    # The page's own CSP decides framing (frame-ancestors: /embed is meant for other sites' iframes).
                    headers = [(n, v) for n, v in headers if n.lower() != b"x-frame-options"]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
