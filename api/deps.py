"""Dependencies shared by the routes."""

from __future__ import annotations

import math

from fastapi import HTTPException, Request

from kb.knowledge_base import KnowledgeBase


def get_kb(request: Request) -> KnowledgeBase:
    """Return the loaded knowledge base, or answer 503 while it is not ready."""
    kb: KnowledgeBase | None = getattr(request.app.state, "kb", None)
    if kb is None:
        error = getattr(request.app.state, "startup_error", None)
        raise HTTPException(status_code=503, detail=error or "Majakka is starting; try again in a few seconds.")
    return kb


def rate_limit(request: Request) -> None:
    """429 with Retry-After when this client has used up its tokens."""
    wait = client_wait(request)
    if wait > 0:
        raise too_many_requests(wait)


def too_many_requests(wait: float) -> HTTPException:
    """Return the 429 for a client that must wait ``wait`` seconds."""
    return HTTPException(
        status_code=429,
        detail="Too many requests; please wait a moment and try again.",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


def client_wait(request: Request) -> float:
    """Take a token for this client; the seconds to wait, 0 when allowed."""
    limiter = request.app.state.limiter
    client = request.client.host if request.client else "unknown"
    return float(limiter.take(client))
