"""POST /api/v1/ask."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.deps import client_wait, get_kb, too_many_requests
from api.logs import REQUEST_LOGGER
from api.routes.documents import document_url
from api.schemas import AskRequest, AskResponse, ErrorResponse
from kb.answers.conversation import Turn
from kb.asking import Question
from kb.knowledge_base import KnowledgeBase

router = APIRouter(prefix="/api/v1", tags=["answers"])
log = logging.getLogger(REQUEST_LOGGER)


def question_of(request: AskRequest) -> Question:
    """Return the library's question for an API request (the history as the client sent it)."""
    return Question(
        text=request.question,
        language=request.language,
        audience=request.audience or "public",
        ui_language=request.ui_language,
        card_id=request.card_id,
        history=tuple(
            Turn(t.question, t.answer, t.card_id, tuple(t.document_ids)) for t in request.history
        ),
    )


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 429: {"model": ErrorResponse},
               503: {"model": ErrorResponse}},
)
async def ask(request: AskRequest, http: Request, kb: Annotated[KnowledgeBase, Depends(get_kb)]) -> AskResponse:
    """Answer a question from the official material, each sentence cited; or say it is not covered.

    A message that reads as someone in danger gets the help block first. A client over its rate limit gets 429,
    except when its message reads as someone in danger: the danger check still runs, and the help comes at once.
    """
    began = time.perf_counter()
    help_only = False
    wait = client_wait(http)
    if wait > 0:
        answer = kb.assess(request.question, request.language)
        if answer is None:
            raise too_many_requests(wait)
        help_only = True
    else:
        answer = await kb.ask_async(question_of(request))
    # Never the question text or the history: only what describes the request.
    log.info(
        "ask",
        extra={
            "request_id": uuid.uuid4().hex,
            "language": answer.language,
            "audience": answer.audience,
            "latency_ms": round((time.perf_counter() - began) * 1000, 1),
            "answer_kind": answer.answer_kind,
            "urgent": answer.urgent,
            "urgency": answer.urgency,
            "indicators": answer.indicators,
            "abstained": answer.abstained,
            "citations": len(answer.citations),
            "turns": len(request.history),
            "help_only": help_only,
        },
    )
    body = answer.to_dict()
    body.pop("flags", None)
    for citation in body["citations"]:
        # A document with no public address opens on its own page here, at the quoted span.
        if not citation.get("url"):
            citation["url"] = document_url(citation["document_id"], citation["passage_id"], citation["start"],
                                           citation["end"])
    return AskResponse.model_validate(body)
