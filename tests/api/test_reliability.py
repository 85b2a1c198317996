"""Bad input, limits, admin access, headers, and a reindex while serving: nothing crashes, leaks or is lost."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kb.knowledge_base import KnowledgeBase
from kb.models.encoders import Encoder
from tests.conftest import FIXTURE_CORPUS, ingest_into, make_settings

TOKEN = "s3cret-admin-token"


@pytest.fixture(scope="module")
def fixture_kb(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder, model_dir: Path) -> Iterator[KnowledgeBase]:
    root = tmp_path_factory.mktemp("reliability")
    corpus = root / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    settings = make_settings(root / "data", sources=[corpus], api={"admin_token": TOKEN, "rate": 1000, "burst": 1000})
    ingest_into(settings, [corpus])
    kb = KnowledgeBase(settings, encoder=encoder)
    yield kb
    kb.close()


@pytest.fixture(scope="module")
def client(fixture_kb: KnowledgeBase) -> Iterator[TestClient]:
    with TestClient(create_app(fixture_kb.settings, kb=fixture_kb)) as client:
        yield client


def test_reliability_oversized_body_is_413(client: TestClient) -> None:
    response = client.post("/api/v1/ask", content=b'{"question": "' + b"a" * 20_000 + b'"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and "larger than" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\xff\xfe not utf-8", 422),
        (b'{"question": "\\u0000\\u0001\\u0002"}', 422),
        (b'{"question": ["a list"]}', 422),
        (b"[]", 422),
        (b'{"question": "ok", "k": 3}', 422),
    ],
)
def test_reliability_bad_bodies_are_4xx_with_a_message(client: TestClient, body: bytes, status: int) -> None:
    response = client.post("/api/v1/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status and response.json()["detail"]


def test_reliability_control_characters_are_removed_not_fatal(client: TestClient) -> None:
    question = "Can I call the victims'\u0000 line anonymously\u0007 at night?"
    response = client.post("/api/v1/ask", json={"question": question})
    assert response.status_code == 200 and response.json()["citations"]


def test_reliability_headers_and_no_server_banner(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "server" not in {k.lower() for k in response.headers}


def test_reliability_admin_needs_the_token(client: TestClient) -> None:
    assert client.get("/api/v1/admin/stats").status_code == 401
    assert client.get("/api/v1/admin/stats", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/api/v1/admin/stats", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["passages"] > 0


def test_reliability_admin_is_off_without_a_token(tmp_path: Path, fixture_kb: KnowledgeBase) -> None:
    api = fixture_kb.settings.api.model_copy(update={"admin_token": None})
    settings = fixture_kb.settings.model_copy(update={"api": api})
    with TestClient(create_app(settings, kb=fixture_kb)) as client:
        assert client.post("/api/v1/admin/reindex", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


def test_reliability_rate_limit_429_but_danger_still_gets_help(fixture_kb: KnowledgeBase) -> None:
    api = fixture_kb.settings.api.model_copy(update={"rate": 0.01, "burst": 2})
    settings = fixture_kb.settings.model_copy(update={"api": api})
    with TestClient(create_app(settings, kb=fixture_kb)) as client:
        codes = [client.get("/api/v1/search", params={"q": "library"}).status_code for _ in range(4)]
        assert codes[:2] == [200, 200] and codes[-1] == 429
        limited = client.get("/api/v1/search", params={"q": "library"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        danger = client.post("/api/v1/ask", json={"question": "Help me, they took my passport and lock me in"})
        assert danger.status_code == 200
        body = danger.json()
        assert body["urgent"] is True and "112" in [c["phone"] for c in body["help"]["contacts"]]


def test_reliability_reindex_while_serving_swaps_atomically(client: TestClient, fixture_kb: KnowledgeBase) -> None:
    corpus = fixture_kb.settings.sources[0]
    (corpus / "en" / "new-topic.md").write_text(
        "---\nid: fixture-ferry-en\ntitle: Ferry timetable\nlanguage: en\n---\n\n"
        "The island ferry leaves the harbour every two hours between six in the morning and ten at night.\n",
        encoding="utf-8",
    )
    failures: list[Any] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            r = client.post(
                "/api/v1/ask", json={"question": "Can I call the victims' line anonymously?", "language": "en"}
            )
            if r.status_code != 200 or not r.json()["citations"]:
                failures.append((r.status_code, r.text[:200]))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/api/v1/admin/reindex", headers=headers).status_code == 202
    deadline = time.time() + 120
    while time.time() < deadline:
        state = client.get("/api/v1/admin/stats", headers=headers).json()["reindex"]
        if not state["running"] and state["last"]:
            break
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert state["last"]["ok"], state
    assert failures == []
    top = client.get("/api/v1/search", params={"q": "When does the ferry leave?", "k": 1}).json()["passages"][0]
    assert top["document_id"] == "fixture-ferry-en"
