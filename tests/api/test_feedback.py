"""POST /api/v1/feedback and CORS, through the HTTP app (no model needed: the app's lifespan is not entered)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import make_settings

ALLOWED = "https://ministry.example"
QUESTION = "They took my passport and locked me in, help me"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(data_dir: Path) -> TestClient:
    return TestClient(create_app(make_settings(data_dir, api={"cors_origins": [ALLOWED]})))


def rows(data_dir: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(data_dir / "feedback.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM feedback ORDER BY id").fetchall()


def test_feedback_stores_the_rating_and_passage_ids_only(client: TestClient, data_dir: Path) -> None:
    response = client.post("/api/v1/feedback", json={"passage_ids": ["p-1", "p-2"], "rating": "down"})

    assert response.status_code == 201
    assert response.json() == {"stored": True}
    (row,) = rows(data_dir)
    assert set(row.keys()) == {"id", "created", "rating", "passage_ids"}
    assert row["rating"] == "down"
    assert json.loads(row["passage_ids"]) == ["p-1", "p-2"]
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
        {"passage_ids": ["p-1"], "rating": "up", "answer": "text"},
        {"passage_ids": ["p-1"], "rating": "meh"},
        {"passage_ids": ["p-1"]},
        {"rating": "up"},
        {"passage_ids": "p-1", "rating": "up"},
        {"passage_ids": [f"p-{i}" for i in range(21)], "rating": "up"},
        {"passage_ids": ["x" * 65], "rating": "up"},
        {"passage_ids": [""], "rating": "up"},
    ],
)
def test_feedback_rejects_a_bad_body_with_422(client: TestClient, data_dir: Path, body: dict[str, object]) -> None:
    response = client.post("/api/v1/feedback", json=body)

    assert response.status_code == 422
    assert response.json()["detail"]
    assert not (data_dir / "feedback.sqlite3").exists()


def test_feedback_accepts_twenty_ids_of_64_characters(client: TestClient, data_dir: Path) -> None:
    ids = [f"{i:02d}".ljust(64, "x") for i in range(20)]

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


def test_no_cors_headers_without_configured_origins(tmp_path: Path) -> None:
    client = TestClient(create_app(make_settings(tmp_path / "data")))

    response = client.post("/api/v1/feedback", json={"passage_ids": [], "rating": "up"}, headers={"Origin": ALLOWED})

    assert response.status_code == 201
    assert not [h for h in response.headers if h.startswith("access-control-")]
