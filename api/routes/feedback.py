"""POST /api/v1/feedback: a thumbs up or down on an answer, kept as the cited passage ids only.

Bounded: ids must be passages of the served index (at most 20, each at most 64 characters), requests count
against the client's rate, and only the newest ``KB_API__FEEDBACK_ROWS`` ratings are kept, so the file stays
under about rows × 1.5 KB however many are sent.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status

from api.deps import get_kb, rate_limit
from api.schemas import ErrorResponse, FeedbackRequest, FeedbackResponse
from kb.knowledge_base import KnowledgeBase

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

    def __init__(self, path: Path, max_rows: int) -> None:
        self.path = path
        self.max_rows = max_rows

    def add(self, rating: str, passage_ids: list[str]) -> int:
        """Store one rating and drop the oldest beyond ``max_rows``.

        The time is kept to the hour only, so that a rating cannot be tied to a visit.
        """
        created = datetime.now(UTC).replace(minute=0, second=0, microsecond=0).isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as connection, connection:
            connection.execute(SCHEMA)
            cursor = connection.execute(
                "INSERT INTO feedback (created, rating, passage_ids) VALUES (?, ?, ?)",
                (created, rating, json.dumps(passage_ids)),
            )
            row = int(cursor.lastrowid or 0)
            connection.execute("DELETE FROM feedback WHERE id <= ?", (row - self.max_rows,))
            return row


@router.post(
    "/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackResponse,
    responses={413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 429: {"model": ErrorResponse},
               503: {"model": ErrorResponse}},
    dependencies=[Depends(rate_limit)],
)
def feedback(
    body: FeedbackRequest, request: Request, kb: Annotated[KnowledgeBase, Depends(get_kb)]
) -> FeedbackResponse:
    """Rate an answer by the passages it cited; the question and the answer are never sent nor stored."""
    unknown = kb.unknown_passages(body.passage_ids)
    if unknown:
        shown = ", ".join(unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"Not passages of the served index: {shown}. Send the passage_id values of the answer's "
                            "citations.")
    settings = request.app.state.settings
    store = FeedbackStore(settings.data_dir / "feedback.sqlite3", settings.api.feedback_rows)
    try:
        store.add(body.rating, body.passage_ids)
    except (sqlite3.Error, OSError) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Feedback cannot be stored right now: {exc}") from exc
    return FeedbackResponse(stored=True)
