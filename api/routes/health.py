"""GET /healthz: 200 once the server answers queries."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.schemas import HealthResponse
from kb.errors import KbError

router = APIRouter()


@router.get("/healthz", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
def healthz(request: Request) -> JSONResponse:
    """Ready when the model is loaded and an index is served."""
    kb = getattr(request.app.state, "kb", None)
    if kb is None:
        detail = getattr(request.app.state, "startup_error", None) or "loading the model and the index"
        return JSONResponse(HealthResponse(status="starting", detail=detail).model_dump(), status_code=503)
    try:
        served = kb.ready()
        count = kb.stats()["passages"] if served else 0
    except KbError as exc:
        return JSONResponse(HealthResponse(status="unavailable", detail=str(exc)).model_dump(), status_code=503)
    if not served:
        body = HealthResponse(status="unavailable", detail="no index yet; run `kb ingest`")
        return JSONResponse(body.model_dump(), status_code=503)
    return JSONResponse(HealthResponse(status="ok", passages=count).model_dump())
