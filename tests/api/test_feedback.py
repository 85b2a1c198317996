"""POST /api/v1/feedback and CORS, through the HTTP app over the fixture index (ids are checked against it)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kb.knowledge_base import KnowledgeBase
from kb.models.encoders import Encoder
from tests.conftest import copy_fixture_index

ALLOWED = "https://ministry.example"
QUESTION = "They took my passport and locked me in, help me"
REAL = "<a passage id of the index>"


@pytest.fixture(scope="module")
def feedback_kb(tmp_path_factory: pytest.TempPathFactory, fixture_index: Path, encoder: Encoder
                ) -> Iterator[KnowledgeBase]:
    settings = copy_fixture_index(fixture_index, tmp_path_factory.mktemp("feedback") / "root",
                                  api={"cors_origins": [ALLOWED]})
    with KnowledgeBase(settings, encoder=encoder) as kb:
        yield kb


@pytest.fixture(scope="module")
def passage_ids(feedback_kb: KnowledgeBase) -> list[str]:
    ids = list(dict.fromkeys(p.passage_id for p in feedback_kb.search("bread ferry bicycle helpline", k=20)))
    assert len(ids) >= 10, ids
    return ids


@pytest.fixture
def data_dir(feedback_kb: KnowledgeBase) -> Iterator[Path]:
    """The index's data folder, with no ratings in it when a test starts."""
    path = feedback_kb.settings.data_dir
    (path / "feedback.sqlite3").unlink(missing_ok=True)
    yield path
    (path / "feedback.sqlite3").unlink(missing_ok=True)


@pytest.fixture
def client(feedback_kb: KnowledgeBase, data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(feedback_kb.settings, kb=feedback_kb)) as client:
        yield client


def rows(data_dir: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(data_dir / "feedback.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM feedback ORDER BY id").fetchall()


def test_feedback_stores_the_rating_and_passage_ids_only(
    client: TestClient, data_dir: Path, passage_ids: list[str]
) -> None:
    response = client.post("/api/v1/feedback", json={"passage_ids": passage_ids[:2], "rating": "down"})

    assert response.status_code == 201
    assert response.json() == {"stored": True}
    (row,) = rows(data_dir)
    assert set(row.keys()) == {"id", "created", "rating", "passage_ids"}
    assert row["rating"] == "down"
    assert json.loads(row["passage_ids"]) == passage_ids[:2]
    assert row["created"].endswith(":00:00+00:00"), "the time is kept to the hour only"


def test_feedback_never_stores_question_text(client: TestClient, data_dir: Path) -> None:
    client.post("/api/v1/feedback", json={"passage_ids": [], "rating": "up"})
    response = client.post("/api/v1/feedback", json={"passage_ids": [], "rating": "up", "question": QUESTION})

    assert response.status_code == 422
    assert len(rows(data_dir)) == 1
    assert QUESTION.encode() not in (data_dir / "feedback.sqlite3").read_bytes()


@pytest.mark.parametrize(
    "body",
    [
        {"passage_ids": [REAL], "rating": "up", "answer": "text"},
        {"passage_ids": [REAL], "rating": "meh"},
        {"passage_ids": [REAL]},
        {"rating": "up"},
        {"passage_ids": REAL, "rating": "up"},
        {"passage_ids": [REAL] * 21, "rating": "up"},
        {"passage_ids": ["x" * 65], "rating": "up"},
        {"passage_ids": [""], "rating": "up"},
        {"passage_ids": [REAL, "p-1"], "rating": "up"},  # not a passage of the served index
    ],
)
def test_feedback_rejects_a_bad_body_with_422(
    client: TestClient, data_dir: Path, passage_ids: list[str], body: dict[str, object]
) -> None:
    body = json.loads(json.dumps(body).replace(REAL, passage_ids[0]))
    response = client.post("/api/v1/feedback", json=body)

    assert response.status_code == 422
    assert response.json()["detail"]
    assert not (data_dir / "feedback.sqlite3").exists()


def test_feedback_accepts_twenty_ids_of_the_served_index(
    client: TestClient, data_dir: Path, passage_ids: list[str]
) -> None:
    ids = (passage_ids * 2)[:20]

    assert client.post("/api/v1/feedback", json={"passage_ids": ids, "rating": "up"}).status_code == 201
    assert json.loads(rows(data_dir)[0]["passage_ids"]) == ids


def test_cors_headers_only_for_the_configured_origins(client: TestClient) -> None:
    body = {"passage_ids": [], "rating": "up"}

    allowed = client.post("/api/v1/feedback", json=body, headers={"Origin": ALLOWED})
    other = client.post("/api/v1/feedback", json=body, headers={"Origin": "https://elsewhere.example"})
    preflight = client.options(
        "/api/v1/ask",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    refused = client.options(
        "/api/v1/ask",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )

    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers
    assert "access-control-allow-origin" not in refused.headers


def test_no_cors_headers_without_configured_origins(feedback_kb: KnowledgeBase, data_dir: Path) -> None:
    settings = feedback_kb.settings.model_copy(
        update={"api": feedback_kb.settings.api.model_copy(update={"cors_origins": []})}
    )
    with TestClient(create_app(settings, kb=feedback_kb)) as client:
        response = client.post("/api/v1/feedback", json={"passage_ids": [], "rating": "up"},
                               headers={"Origin": ALLOWED})

    assert response.status_code == 201
    assert not [h for h in response.headers if h.startswith("access-control-")]
