"""Dependencies shared by the routes."""

from __future__ import annotations

from fastapi import HTTPException, Request

from kb.knowledge_base import KnowledgeBase


def get_kb(request: Request) -> KnowledgeBase:
    """The loaded knowledge base, or 503 while it is not ready."""
    kb: KnowledgeBase | None = getattr(request.app.state, "kb", None)
    if kb is None:
        error = getattr(request.app.state, "startup_error", None)
        raise HTTPException(status_code=503, detail=error or "Majakka is starting; try again in a few seconds.")
    return kb
