"""GET /api/v1/search."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import get_kb, rate_limit
from api.logs import REQUEST_LOGGER
from api.schemas import ErrorResponse, PassageOut, SearchResponse
from kb.knowledge_base import KnowledgeBase

router = APIRouter(prefix="/api/v1", tags=["search"])
log = logging.getLogger(REQUEST_LOGGER)


@router.get(
    "/search",
    response_model=SearchResponse,
    responses={422: {"model": ErrorResponse}, 429: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    dependencies=[Depends(rate_limit)],
)
async def search(
    kb: Annotated[KnowledgeBase, Depends(get_kb)],
    q: Annotated[str, Query(min_length=1, max_length=1000, description="The question or search words.")],
    k: Annotated[int, Query(ge=1, le=50, description="How many passages to return.")] = 5,
    language: Annotated[Literal["fi", "sv", "en"] | None, Query(description="Only passages in this language.")] = None,
    kind: Annotated[
        Literal["official", "guide"] | None,
        Query(
            description="Only official material (statutes, case law, the press release, the action plan) or only "
            "our plain-language guides."
        ),
    ] = None,
) -> SearchResponse:
    """Passages that match the query, best first (hybrid dense + BM25 retrieval)."""
    began = time.perf_counter()
    passages = await kb.search_async(q, k=k, language=language, kind=kind)
    # Never the query text: only what describes the request.
    log.info(
        "search",
        extra={
            "request_id": uuid.uuid4().hex,
            "language": language,
            "kind": kind,
            "k": k,
            "results": len(passages),
            "latency_ms": round((time.perf_counter() - began) * 1000, 1),
        },
    )
    return SearchResponse(passages=[PassageOut(**p.to_dict()) for p in passages])
