"""POST /api/v1/ask."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.deps import client_wait, get_kb, too_many_requests
from api.logs import REQUEST_LOGGER
from api.schemas import AskRequest, AskResponse, ErrorResponse
from kb.knowledge_base import KnowledgeBase
from kb.safety.detector import DangerDetector

router = APIRouter(prefix="/api/v1", tags=["answers"])
log = logging.getLogger(REQUEST_LOGGER)


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={422: {"model": ErrorResponse}, 429: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def ask(request: AskRequest, http: Request, kb: Annotated[KnowledgeBase, Depends(get_kb)]) -> AskResponse:
    """Answer a question with sentences from the official material, each cited; or say it is not covered.

    A client over its rate limit gets 429, except when the message reads as someone in danger: then the help
    block is returned at once, without retrieval.
    """
    began = time.perf_counter()
    help_only = False
    wait = client_wait(http)
    if wait > 0:
        if not DangerDetector.lexicon_hit(request.question):
            raise too_many_requests(wait)
        answer = kb.help_only(request.question, language=request.language, audience=request.audience)
        help_only = True
    else:
        answer = await kb.ask_async(request.question, language=request.language, audience=request.audience)
    # Never the question text: only what describes the request.
    log.info(
        "ask",
        extra={
            "request_id": uuid.uuid4().hex,
            "language": answer.language,
            "audience": answer.audience,
            "latency_ms": round((time.perf_counter() - began) * 1000, 1),
            "urgent": answer.urgent,
            "abstained": answer.abstained,
            "citations": len(answer.citations),
            "help_only": help_only,
        },
    )
    body = answer.to_dict()
    body.pop("flags", None)
    return AskResponse.model_validate(body)
