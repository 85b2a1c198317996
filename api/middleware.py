"""ASGI middleware: request size limit, JSON bodies checked before parsing, errors without values, safe headers.

Order, outermost first: ``SecurityHeaders`` (on every response), ``ServerErrors`` (an unexpected exception becomes
a 500 that says nothing of the request, logged by type and place only), ``BodySizeLimit``, ``JsonBody``.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import describe_exception

log = logging.getLogger("majakka.api")

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


# What a JSON body may hold. Our deepest request is history[].document_ids[] (4 levels); numbers are small counts.
MAX_DEPTH = 16
MAX_NUMBER_DIGITS = 30
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadJson(ValueError):
    """A JSON body that parses but cannot be taken: the message says what and where, never the value."""


class JsonBody:
    r"""Answers 422 to a JSON (or untyped) request body that no route should see, saying what is wrong and where.

    - not UTF-8: without this, the JSON parser reports some undecodable bodies as 400 "error parsing the body" and
      guesses UTF-16 for others; JSON between systems is UTF-8 (RFC 8259);
    - ``NaN``, ``Infinity`` or a number too large for a float, and numbers of more than ``MAX_NUMBER_DIGITS`` digits
      (not JSON numbers a client means, and values an error message could not echo);
    - a lone surrogate (``"\ud800"``) in any string or key: not a character, so no text can contain it;
    - nesting deeper than ``MAX_DEPTH``.
    A body that is not JSON at all passes on, and the route's parser answers 422 with its position.
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
        try:
            check_json(body)
        except BadJson as exc:
            await _send_json(send, 422, {"detail": str(exc)})
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def check_json(body: bytes) -> None:
    """Raise ``BadJson`` when a body parses as JSON but holds what ``JsonBody`` refuses; other bodies pass."""
    try:
        value = json.loads(body, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except BadJson:
        raise
    except RecursionError:
        raise BadJson(f"The request body is nested more than {MAX_DEPTH} levels deep.") from None
    except ValueError:  # not JSON: the route's parser says where
        return
    _walk(value, "body", 0)


def _constant(name: str) -> float:
    raise BadJson(f"The request body has {name}, which is not a JSON number; send a finite number.")


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise BadJson(f"The request body has a number of more than {MAX_NUMBER_DIGITS} characters.")
    value = float(text)
    if not math.isfinite(value):
        raise BadJson("The request body has a number too large for a float; send a finite number.")
    return value


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise BadJson(f"The request body has a number of more than {MAX_NUMBER_DIGITS} digits.")
    return int(text)


def _walk(value: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise BadJson(f"The request body is nested more than {MAX_DEPTH} levels deep (at {where}).")
    if isinstance(value, str):
        _text(value, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{where}[{index}]", depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _text(key, f"a key in {where}")
            _walk(item, f"{where}.{_printable(key)}", depth + 1)


def _text(text: str, where: str) -> None:
    found = _SURROGATE.search(text)
    if found:
        raise BadJson(f"The request body has a lone surrogate (\\u{ord(found.group()):04x}) in {where}; "
                      "send text as valid Unicode (UTF-8).")


def _printable(key: str) -> str:
    """Return a key as it may appear in a message: at most 40 characters, nothing that cannot be encoded."""
    short = key if len(key) <= 40 else key[:40] + "…"
    return _SURROGATE.sub("?", short)


class ServerErrors:
    """Turns an exception no handler caught into a plain 500, inside ``SecurityHeaders``, and logs it without values.

    Starlette's own last-resort handler sits outside every middleware (so its 500 had none of our headers), and
    the server then logs the traceback with the exception's text, which may quote the request (a validation
    error's ``input``). Here the log line has the exception's type and where it was raised, nothing else.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; on an unexpected exception answer 500 (if nothing was sent yet) and log it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception as exc:
            log.error("unexpected error in %s %s: %s", scope.get("method"), scope.get("path"), describe_exception(exc))
            if not started:
                await _send_json(send, 500, {"detail": "Something went wrong on our side; please try again. "
                                                       "What you sent was not kept."})


async def _send_json(send: Send, status: int, content: dict[str, str]) -> None:
    body = json.dumps(content).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds nosniff, no-referrer and frame options to every response; drops any server banner.

    A response with its own Content-Security-Policy (our pages) keeps it untouched and gets no X-Frame-Options.
    API answers get ``Cache-Control: no-store`` (a shared computer's browser or a proxy keeps no one's answer);
    a redirect's ``Location`` is made relative, so the request's ``Host`` header never chooses where it points.
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
                if str(scope.get("path", "")).startswith("/api/") and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                headers = [(n, relative(v) if n.lower() == b"location" else v) for n, v in headers]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_ABSOLUTE = re.compile(rb"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//[^/?#]*")


def relative(location: bytes) -> bytes:
    """Drop the scheme and host of a redirect target: ``http://evil.example/embed?x`` → ``/embed?x``.

    Every redirect we send stays on this site (the trailing-slash redirect builds its address from ``Host``).
    """
    path = _ABSOLUTE.sub(b"", location, count=1)
    return path if path.startswith(b"/") else b"/" + path
