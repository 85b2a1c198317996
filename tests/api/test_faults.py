"""Faults: the store locked by another process at start, the store failing while serving, and the pages' CSP.

Each fault gives 503 with a message that says what is wrong, /healthz says not ready, and the server recovers by
itself once the fault is gone, without a restart. The real model and the real embedded Qdrant throughout.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException

from api.app import create_app
from api.routes.pages import PAGE_CSP
from kb.knowledge_base import KnowledgeBase
from kb.models.encoders import Encoder
from tests.conftest import copy_fixture_index, make_settings

RECOVERY_SECONDS = 120
QUESTION = {"question": "Can I call the victims' helpline anonymously?", "language": "en"}

# Another process that opens the embedded Qdrant folder and holds it until its stdin closes.
HOLDER = """
import sys
from qdrant_client import QdrantClient
client = QdrantClient(path=sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
client.close()
"""


def wait_until_ready(client: TestClient) -> float:
    """Seconds until /healthz answers 200; fails the test after ``RECOVERY_SECONDS``."""
    began = time.monotonic()
    while time.monotonic() - began < RECOVERY_SECONDS:
        if client.get("/healthz").status_code == 200:
            return time.monotonic() - began
        time.sleep(0.25)
    pytest.fail(f"the server did not recover by itself within {RECOVERY_SECONDS} s: {client.get('/healthz').json()}")


def test_faults_locked_store_is_503_then_recovers_by_itself(tmp_path: Path, fixture_index: Path) -> None:
    settings = copy_fixture_index(fixture_index, tmp_path / "root")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.qdrant_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"holding\n", "the holder could not open it"
        with TestClient(create_app(settings)) as client:
            for response in (client.post("/api/v1/ask", json=QUESTION),
                             client.get("/api/v1/search", params={"q": "helpline"})):
                assert response.status_code == 503
                assert "in use by another process" in response.json()["detail"]
            health = client.get("/healthz")
            assert health.status_code == 503 and health.json()["status"] != "ok"
            assert "in use by another process" in health.json()["detail"]

            assert holder.stdin is not None
            holder.stdin.close()  # the other process lets go of the folder and exits
            holder.wait(timeout=30)
            wait_until_ready(client)
            answer = client.post("/api/v1/ask", json=QUESTION)
            assert answer.status_code == 200 and answer.json()["citations"]
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def fail_every_call(client: QdrantClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every call of ``client`` fail as a Qdrant that went away does."""

    def unreachable(*_args: Any, **_kwargs: Any) -> Any:
        raise ResponseHandlingException(ConnectionRefusedError("Qdrant went away"))

    for name, _method in inspect.getmembers(QdrantClient, inspect.isfunction):
        if not name.startswith("_") and name != "close":
            monkeypatch.setattr(client, name, unreachable)


@pytest.mark.parametrize("backend", ["qdrant", "memory"])
def test_faults_store_failing_while_serving_is_503_then_recovers(
    tmp_path: Path, fixture_index: Path, encoder: Encoder, backend: str
) -> None:
    settings = copy_fixture_index(fixture_index, tmp_path / "root", retrieval={"backend": backend})
    with KnowledgeBase(settings, encoder=encoder) as kb, TestClient(create_app(settings, kb=kb)) as client:
        assert client.post("/api/v1/ask", json=QUESTION).status_code == 200

        with pytest.MonkeyPatch.context() as monkeypatch:  # undone at the end of the block: the fault goes away
            fail_every_call(kb.store.client, monkeypatch)
            health = client.get("/healthz")
            assert health.status_code == 503 and health.json()["status"] == "unavailable"
            ask = client.post("/api/v1/ask", json={"question": "Is the helpline free of charge?", "language": "en"})
            search = client.get("/api/v1/search", params={"q": "studded tyres on icy roads"})
            for response in (ask, search):
                if backend == "qdrant":  # every query goes to the store
                    assert response.status_code == 503, response.text
                # The in-memory snapshot may still answer; what it must never do is fail with anything but 503.
                assert response.status_code in (200, 503), response.text
                if response.status_code == 503:
                    assert response.json()["detail"].startswith("The knowledge base is unavailable right now")

        wait_until_ready(client)
        ask = client.post("/api/v1/ask", json={"question": "Is the helpline free of charge?", "language": "en"})
        assert ask.status_code == 200 and ask.json()["citations"]
        assert client.get("/api/v1/search", params={"q": "studded tyres on icy roads"}).json()["passages"]


@pytest.mark.parametrize("path", ["/", "/?lang=sv", "/embed?lang=en"])
def test_faults_pages_keep_their_strict_csp_through_the_middleware(tmp_path: Path, path: str) -> None:
    client = TestClient(create_app(make_settings(tmp_path / "data")))  # never started: no index needed
    response = client.get(path)

    assert response.headers.get_list("content-security-policy") == [PAGE_CSP], "exactly one CSP, unchanged"
    assert "x-frame-options" not in response.headers, "frame-ancestors decides; X-Frame-Options would contradict it"
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert response.headers["referrer-policy"] == "no-referrer"


def test_faults_error_responses_carry_the_security_headers(tmp_path: Path) -> None:
    client = TestClient(create_app(make_settings(tmp_path / "data")))  # never started: no index needed
    responses = [
        client.post("/api/v1/ask", content=b"x" * 20_000, headers={"content-type": "application/json"}),  # 413
        client.post("/api/v1/ask", content=b"\xc3(", headers={"content-type": "application/json"}),  # 422
        client.get("/no-such-page"),  # 404
        client.post("/api/v1/ask", json=QUESTION),  # 503: not started
    ]
    assert [r.status_code for r in responses] == [413, 422, 404, 503]
    assert "not valid UTF-8" in responses[1].json()["detail"]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "SAMEORIGIN"
        assert "content-security-policy" not in response.headers
