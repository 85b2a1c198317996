"""Hardening over a real `kb serve` (issue #16): connection limits, proxy headers, and logs that hold no text.

The server runs as `kb serve` does (``majakka.cli.main``), with one change made by this test: a question that
starts with ``FAIL`` makes ``ask`` raise a pydantic ValidationError, whose text quotes the question, the way the
500s found in the issue did. Everything the server writes (stdout and stderr, kept apart) and its data folder are
then searched for the question.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kb.config import PROJECT_ROOT
from tests.conftest import copy_fixture_index
from tests.serving import free_port, stop, wait_until_serving

MARKER = "MARKER-91c2-they-lock-us-in"
HISTORY_MARKER = "MARKER-5d0e-history-turn"
TIMEOUT = 2.0  # the header and body deadlines this server gets

SERVE_WITH_A_FAILING_ASK = """
import sys
from pydantic import TypeAdapter
from kb.knowledge_base import KnowledgeBase

original = KnowledgeBase.ask_async

async def ask_async(self, question):
    if question.text.startswith("FAIL"):
        TypeAdapter(int).validate_python(question.text)
    return await original(self, question)

KnowledgeBase.ask_async = ask_async
from majakka.cli import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass
class Server:
    url: str
    port: int
    stdout: Path
    stderr: Path
    data_dir: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fixture_index: Path) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("hardening-server") / "root"
    settings = copy_fixture_index(fixture_index, root)
    port = free_port()
    env = {
        **os.environ,
        "KB_DATA_DIR": str(settings.data_dir),
        "KB_SOURCES": json.dumps([str(p) for p in settings.sources]),
        "KB_EMBEDDING__MODEL": str(settings.embedding.model),
        "KB_API__RATE": "0.01",
        "KB_API__BURST": "20",
        "KB_API__HEADER_TIMEOUT": str(TIMEOUT),
        "KB_API__BODY_TIMEOUT": str(TIMEOUT),
    }
    stdout, stderr = root / "stdout.log", root / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE_WITH_A_FAILING_ASK, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err,
        )
    found = Server(f"http://127.0.0.1:{port}", port, stdout, stderr, settings.data_dir)
    try:
        wait_until_serving(process, found.url, found.output, 120)
        yield found
    finally:
        stop(process)


def exchange(port: int, data: bytes, *, wait: float = 10.0, source: str = "127.0.0.1") -> tuple[bytes, float]:
    """Send ``data`` on a new connection and read until the server closes it; the reply and the seconds taken."""
    with socket.create_connection(("127.0.0.1", port), source_address=(source, 0)) as connection:
        connection.settimeout(wait)
        began = time.monotonic()
        with contextlib.suppress(OSError):  # the server may close before all of a refused request is sent
            connection.sendall(data)
        reply = b""
        try:
            while chunk := connection.recv(65536):
                reply += chunk
        except TimeoutError:
            return reply + b"(still open)", time.monotonic() - began
        except ConnectionResetError:
            pass
        return reply, time.monotonic() - began


def test_hardening_server_an_error_inside_ask_leaves_no_text_in_any_log_or_file(server: Server) -> None:
    failed = httpx.post(f"{server.url}/api/v1/ask", json={"question": f"FAIL {MARKER}"}, timeout=30)
    assert failed.status_code == 500, failed.text
    assert failed.headers["x-content-type-options"] == "nosniff" and failed.headers["cache-control"] == "no-store"
    assert MARKER not in failed.text
    history = [{"question": HISTORY_MARKER, "answer": HISTORY_MARKER}]
    answered = httpx.post(f"{server.url}/api/v1/ask", json={"question": f"And {MARKER}?", "history": history},
                          timeout=30)
    assert answered.status_code == 200
    time.sleep(0.5)
    output = server.output()
    assert "ValidationError at " in output, "the error is logged, by its type and place"
    assert '"event": "ask"' in output, "the request log line is written"
    for secret in (MARKER, HISTORY_MARKER, "they-lock-us-in", "history-turn"):
        assert secret not in output, f"{secret!r} in the server's output:\n{output[-2000:]}"
        for path in server.data_dir.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"{secret!r} written to {path}"


def test_hardening_server_slow_or_silent_clients_are_cut_off(server: Server) -> None:
    partial, seconds = exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: l\r\nX-Slow: ")
    assert partial.startswith(b"HTTP/1.1 408") and seconds < TIMEOUT + 3, (partial[:80], seconds)
    silent, seconds = exchange(server.port, b"")
    assert silent.startswith(b"HTTP/1.1 408") and seconds < TIMEOUT + 3, (silent[:80], seconds)
    body = b"POST /api/v1/ask HTTP/1.1\r\nHost: l\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"
    short, seconds = exchange(server.port, body)
    assert short.startswith(b"HTTP/1.1 408") and seconds < TIMEOUT + 3, (short[:80], seconds)


def test_hardening_server_oversized_headers_are_431(server: Server) -> None:
    big, _ = exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: l\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n")
    assert big.startswith(b"HTTP/1.1 431"), big[:80]
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(1000))
    crowded, _ = exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: l\r\n" + many + b"\r\n")
    assert crowded.startswith(b"HTTP/1.1 431"), crowded[:80]


def test_hardening_server_keep_alive_requests_still_work(server: Server) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: l\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.settimeout(10)
        for _ in range(3):
            connection.sendall(request)
            assert read_response(connection).startswith(b"HTTP/1.1 200")
            time.sleep(TIMEOUT / 2)  # an idle moment shorter than the deadlines between requests


def read_response(connection: socket.socket) -> bytes:
    """Read one whole response (headers and a Content-Length body) from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def test_hardening_server_forwarded_for_from_loopback_makes_no_new_client(server: Server) -> None:
    # From its own loopback address, so no other test's requests count against it.
    def status(extra: bytes = b"") -> bytes:
        reply, _ = exchange(server.port, b"GET /api/v1/search?q=rye HTTP/1.1\r\nHost: l\r\nConnection: close\r\n"
                            + extra + b"\r\n", source="127.0.0.7")
        return reply[9:12]

    codes = [status() for _ in range(25)]
    assert codes[:20] == [b"200"] * 20 and codes[-1] == b"429", codes
    for forwarded in (b"garbage-not-ip", b"203.0.113.9", b"10.1.2.3, 198.51.100.4"):
        assert status(b"X-Forwarded-For: " + forwarded + b"\r\n") == b"429", forwarded
