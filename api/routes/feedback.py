"""POST /api/v1/feedback: a thumbs up or down on an answer, kept as the cited passage ids only."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, status

from api.schemas import ErrorResponse, FeedbackRequest, FeedbackResponse

router = APIRouter(prefix="/api/v1", tags=["feedback"])

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    passage_ids TEXT NOT NULL
)
"""


class FeedbackStore:
    """Ratings in <data dir>/feedback.sqlite3; one connection per call, so any thread may use it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, rating: str, passage_ids: list[str]) -> int:
        """Store one rating; the time is kept to the hour only, so that a rating cannot be tied to a visit."""
        created = datetime.now(UTC).replace(minute=0, second=0, microsecond=0).isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as connection, connection:
            connection.execute(SCHEMA)
            cursor = connection.execute(
                "INSERT INTO feedback (created, rating, passage_ids) VALUES (?, ?, ?)",
                (created, rating, json.dumps(passage_ids)),
            )
            return int(cursor.lastrowid or 0)


@router.post(
    "/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackResponse,
    responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
def feedback(body: FeedbackRequest, request: Request) -> FeedbackResponse:
    """Rate an answer by the passages it cited; the question and the answer are never sent nor stored."""
    store = FeedbackStore(request.app.state.settings.data_dir / "feedback.sqlite3")
    try:
        store.add(body.rating, body.passage_ids)
    except (sqlite3.Error, OSError) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Feedback cannot be stored right now: {exc}") from exc
    return FeedbackResponse(stored=True)
