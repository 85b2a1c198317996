"""Admin API: reindex while serving, and stats. Off unless ``KB_API__ADMIN_TOKEN`` is set."""

from __future__ import annotations

import contextlib
import hmac
import os
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import client_key, get_kb, rate_limit, too_many_requests
from api.schemas import ErrorResponse
from ingest.indexer import Indexer
from kb.errors import KbError
from kb.knowledge_base import KnowledgeBase

REINDEX_NICENESS = 10  # how much lower a reindex runs than the threads answering questions

BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="adminToken",
    description="The admin token (KB_API__ADMIN_TOKEN). Without the setting the admin API answers 404.",
)
router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    responses={401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 429: {"model": ErrorResponse},
               503: {"model": ErrorResponse}},
)


def require_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None
) -> None:
    """Require a bearer token equal to the configured one (compared in constant time); no token configured: 404.

    Admin requests count against the client's rate like every other, and wrong tokens against a budget of their
    own (``KB_API__ADMIN_FAILURES``, one more a minute): a client that has used it up gets 429, even with the
    right token, until it refills.
    """
    rate_limit(request)
    token = request.app.state.settings.api.admin_token
    if not token:
        raise HTTPException(status_code=404, detail="Not Found")
    failures = request.app.state.admin_failures
    client = client_key(request)
    wait = failures.wait(client)
    if wait > 0:
        raise too_many_requests(wait)
    given = credentials.credentials.strip() if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        failures.take(client)
        raise HTTPException(
            status_code=401, detail="A valid bearer token is required.", headers={"WWW-Authenticate": "Bearer"}
        )


class ReindexJob:
    """At most one reindex at a time, run in the background; its last result is kept for /stats."""

    def __init__(self) -> None:
        self.running = False
        self.last: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def start(self, kb: KnowledgeBase) -> bool:
        """Start a reindex in a background thread; False when one is already running."""
        with self._lock:
            if self.running:
                return False
            self.running = True
        threading.Thread(target=self._run, args=(kb,), name="majakka-reindex", daemon=True).start()
        return True

    def _run(self, kb: KnowledgeBase) -> None:
        # This thread exists for the reindex alone: it runs at a lower scheduling priority (Linux), so that the
        # threads answering questions get the CPU first (load test during reindex: p95 1.1-1.5 s -> 0.45 s).
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), REINDEX_NICENESS)
        began = time.time()
        try:
            # The configured sources, as they are now: documents gone from them go; documents added elsewhere stay.
            sources = list(kb.settings.sources)
            report = kb.rebuild(lambda store: Indexer(kb.settings, store.client).ingest(sources, prune=True))
            self.last = {
                "ok": True,
                "finished": time.time(),
                "seconds": round(time.time() - began, 1),
                **report.as_dict(),
            }
        except KbError as exc:
            self.last = {"ok": False, "finished": time.time(), "error": str(exc)}
        finally:
            self.running = False


@router.post("/reindex", status_code=202, dependencies=[Depends(require_admin)])
def reindex(request: Request, kb: Annotated[KnowledgeBase, Depends(get_kb)]) -> dict[str, Any]:
    """Start a reindex of the configured sources; the served index is swapped only when the new one is complete."""
    job: ReindexJob = request.app.state.reindex_job
    started = job.start(kb)
    return {"started": started, "running": job.running, "detail": None if started else "A reindex is already running."}


@router.get("/stats", dependencies=[Depends(require_admin)])
def stats(request: Request, kb: Annotated[KnowledgeBase, Depends(get_kb)]) -> dict[str, Any]:
    """Index generation, passage count, cache figures and the last reindex."""
    return {
        **kb.stats(),
        "reindex": {"running": request.app.state.reindex_job.running, "last": request.app.state.reindex_job.last},
    }
