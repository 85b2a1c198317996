"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.middleware import BodySizeLimit, SecurityHeaders
from api.ratelimit import TokenBucketLimiter
from api.routes import admin, ask, feedback, health, pages, search
from kb.config import Settings
from kb.errors import KbError, StoreError
from kb.knowledge_base import KnowledgeBase

log = logging.getLogger("majakka.api")


def create_app(settings: Settings, *, kb: KnowledgeBase | None = None) -> FastAPI:
    """Build the app; it loads (or is given) one KnowledgeBase and closes what it opened on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = kb is None
        app.state.kb = kb
        app.state.startup_error = None
        if owned:
            try:
                app.state.kb = await run_in_threadpool(KnowledgeBase, settings)
            except KbError as exc:
                log.error("startup failed: %s", exc)
                app.state.startup_error = str(exc)
        try:
            yield
        finally:
            if owned and app.state.kb is not None:
                app.state.kb.close()

    app = FastAPI(
        title="Majakka",
        summary="Answers about Finland's work against trafficking in human beings, cited to official material.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.limiter = TokenBucketLimiter(settings.api.rate, settings.api.burst)
    app.state.reindex_job = admin.ReindexJob()

    @app.exception_handler(StoreError)
    async def store_unavailable(_request: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": f"The knowledge base is unavailable right now: {exc}"}, status_code=503)

    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(ask.router)
    app.include_router(feedback.router)
    app.include_router(pages.router)
    app.include_router(admin.router)
    if settings.api.cors_origins:
        # Exactly the configured origins (the sites that embed the widget); none configured: no CORS headers.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        )
    # Outermost last: size limit before anything reads the body; headers on every response, errors included.
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
