"""GET /api/v1/suggestions: the questions offered when a chat opens."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import get_kb, rate_limit
from api.schemas import SuggestionsResponse
from kb.knowledge_base import KnowledgeBase

router = APIRouter(prefix="/api/v1", tags=["answers"])


@router.get("/suggestions", response_model=SuggestionsResponse, dependencies=[Depends(rate_limit)])
def suggestions(
    kb: Annotated[KnowledgeBase, Depends(get_kb)],
    language: Annotated[Literal["fi", "sv", "en"], Query(description="The interface's language.")] = "en",
) -> SuggestionsResponse:
    """Return 2-4 questions a curated answer answers, to start a conversation with."""
    return SuggestionsResponse.model_validate({"suggestions": [s.__dict__ for s in kb.asker.starters(language)]})
