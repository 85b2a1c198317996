"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api.middleware import BodySizeLimit, JsonBody, SecurityHeaders, ServerErrors
from api.ratelimit import TokenBucketLimiter
from api.routes import admin, ask, documents, feedback, health, pages, search, suggestions
from api.routes.docs import mount_docs
from kb.config import Settings
from kb.environment import configure_environment
from kb.errors import KbError, StoreError
from kb.knowledge_base import KnowledgeBase

log = logging.getLogger("majakka.api")


# How often a server whose store could not be opened tries again (e.g. while another process holds the folder).
STORE_RETRY_SECONDS = 1.0
# Wrong admin tokens: one more allowed a minute once a client's budget (KB_API__ADMIN_FAILURES) is used up.
ADMIN_FAILURE_REFILL = 1 / 60


def create_app(settings: Settings, *, kb: KnowledgeBase | None = None) -> FastAPI:
    """Build the app; it loads (or is given) one KnowledgeBase and closes what it opened on shutdown.

    When the knowledge base cannot be opened at start (the Qdrant folder is locked, the server is down), the app
    answers 503 with the reason and keeps trying in the background until it can, without a restart.
    """
    configure_environment()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.kb = kb
        app.state.startup_error = None
        stopping = asyncio.Event()
        opener: asyncio.Task[None] | None = None
        if kb is None and not await _open_kb(app, settings):
            opener = asyncio.create_task(_keep_opening(app, settings, stopping))
        try:
            yield
        finally:
            stopping.set()
            if opener is not None:
                # Not cancelled: an attempt in progress finishes, so a knowledge base it opens is closed below.
                await opener
            if kb is None and app.state.kb is not None:
                app.state.kb.close()

    app = FastAPI(
        title="Majakka",
        summary="Answers about Finland's work against trafficking in human beings, cited to official material.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # /docs from local assets (api/routes/docs.py); ReDoc needs a CDN and is not served
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.limiter = TokenBucketLimiter(settings.api.rate, settings.api.burst)
    app.state.admin_failures = TokenBucketLimiter(ADMIN_FAILURE_REFILL, settings.api.admin_failures)
    app.state.reindex_job = admin.ReindexJob()

    @app.exception_handler(StoreError)
    async def store_unavailable(_request: Request, exc: StoreError) -> JSONResponse:
        return SafeJSONResponse({"detail": f"The knowledge base is unavailable right now: {exc}"}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and what, never the input itself: it may be a person's question, or a value JSON cannot carry.
        errors = [
            {"type": str(e.get("type", "")), "loc": [_part(p) for p in e.get("loc", ())], "msg": _part(e.get("msg"))}
            for e in exc.errors()
        ]
        return SafeJSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return SafeJSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(ask.router)
    app.include_router(suggestions.router)
    app.include_router(feedback.router)
    app.include_router(pages.router)
    app.include_router(documents.router)
    app.include_router(admin.router)
    mount_docs(app)
    if settings.api.cors_origins:
        # Exactly the configured origins (the sites that embed the widget); none configured: no CORS headers.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        )
    # Outermost last: size limit before anything reads the body, then its checks; unexpected errors as a plain
    # 500 inside the security headers, which every response gets.
    app.add_middleware(JsonBody)
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(ServerErrors)
    app.add_middleware(SecurityHeaders)
    return app


class SafeJSONResponse(JSONResponse):
    """JSON that any text can be written as: non-ASCII escaped (so a lone surrogate cannot fail the encoding)."""

    def render(self, content: object) -> bytes:
        """Encode ``content`` as ASCII JSON (error bodies: strings and locations, never a request's values)."""
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def _part(value: object) -> str | int:
    """Return a location step or message as it may be echoed: an index, or at most 100 characters of text."""
    if isinstance(value, int):
        return value
    text = str(value)
    return text if len(text) <= 100 else text[:100] + "…"


async def _open_kb(app: FastAPI, settings: Settings) -> bool:
    """Try once to open the knowledge base; on failure keep the reason for /healthz and 503 answers."""
    try:
        app.state.kb = await run_in_threadpool(KnowledgeBase, settings)
    except KbError as exc:
        if str(exc) != app.state.startup_error:
            log.error("the knowledge base cannot be opened (retrying every %.0f s): %s", STORE_RETRY_SECONDS, exc)
        app.state.startup_error = str(exc)
        return False
    if app.state.startup_error is not None:
        log.warning("the knowledge base is open; serving again")
    app.state.startup_error = None
    return True


async def _keep_opening(app: FastAPI, settings: Settings, stopping: asyncio.Event) -> None:
    """Retry opening the knowledge base every ``STORE_RETRY_SECONDS`` until it opens or the app stops."""
    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), timeout=STORE_RETRY_SECONDS)
        except TimeoutError:
            if await _open_kb(app, settings):
                return
