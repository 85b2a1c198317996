"""Request and response models of the HTTP API (see ../shared/CONTRACT.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PassageOut(BaseModel):
    """A retrieved passage."""

    passage_id: str
    document_id: str
    title: str
    section: str | None
    language: str
    url: str | None
    source: str
    text: str
    score: float


class SearchResponse(BaseModel):
    """Passages, best first."""

    passages: list[PassageOut]


class HealthResponse(BaseModel):
    """Readiness of the server."""

    status: Literal["ok", "starting", "unavailable"]
    detail: str | None = None
    passages: int | None = None


class ErrorResponse(BaseModel):
    """What went wrong, in words."""

    model_config = ConfigDict(extra="allow")
    detail: str | list[dict[str, object]] = Field(description="What is wrong with the request.")
