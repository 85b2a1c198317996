"""The HTTP API over real HTTP semantics (TestClient) with the real index."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kb.knowledge_base import KnowledgeBase

PASSAGE_FIELDS = {
    "passage_id": str,
    "document_id": str,
    "title": str,
    "section": (str, type(None)),
    "language": str,
    "url": (str, type(None)),
    "source": str,
    "text": str,
    "score": float,
}


@pytest.fixture(scope="module")
def client(sources_kb: KnowledgeBase) -> Iterator[TestClient]:
    with TestClient(create_app(sources_kb.settings, kb=sources_kb)) as client:
        yield client


def test_healthz_is_ready_with_an_index(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["passages"] > 100


def test_search_returns_contract_passages_best_first(client: TestClient) -> None:
    response = client.get("/api/v1/search", params={"q": "Vem beslutar om betänketid?", "k": 4})
    assert response.status_code == 200
    passages = response.json()["passages"]
    assert len(passages) == 4
    for passage in passages:
        for name, kind in PASSAGE_FIELDS.items():
            assert isinstance(passage[name], kind), (name, passage[name])
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True)


def test_search_language_filter(client: TestClient) -> None:
    passages = client.get("/api/v1/search", params={"q": "harkinta-aika", "language": "sv"}).json()["passages"]
    assert passages and all(p["language"] == "sv" for p in passages)


def test_search_kind_filter_separates_the_statutes_from_our_guides(client: TestClient) -> None:
    question = "Kuka päättää harkinta-ajasta?"
    mixed = client.get("/api/v1/search", params={"q": question, "k": 20}).json()["passages"]
    assert {p["kind"] == "guide" for p in mixed} == {True, False}, "the unfiltered results should hold both kinds"
    official = client.get("/api/v1/search", params={"q": question, "kind": "official", "k": 10}).json()["passages"]
    guides = client.get("/api/v1/search", params={"q": question, "kind": "guide", "k": 10}).json()["passages"]
    assert len(official) == 10 and all(p["kind"] != "guide" for p in official)
    assert len(guides) == 10 and all(p["kind"] == "guide" for p in guides)
    assert any(p["kind"] in ("statute", "consolidated-statute") for p in official)
    both = client.get("/api/v1/search", params={"q": question, "kind": "official", "language": "sv"}).json()
    assert both["passages"] and all(p["kind"] != "guide" and p["language"] == "sv" for p in both["passages"])


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""}, {"q": "x", "k": 0}, {"q": "x", "k": 1000}, {"q": "x", "language": "de"}, {"q": "x" * 1001}, {},
        {"q": "x", "kind": "law"},
    ],
)
def test_search_rejects_bad_parameters_with_422(client: TestClient, params: dict[str, object]) -> None:
    response = client.get("/api/v1/search", params=params)
    assert response.status_code == 422
    assert response.json()["detail"]
