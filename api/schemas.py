"""Request and response models of the HTTP API (see ../shared/CONTRACT.md)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_HAS_TEXT = r"[^\s\x00-\x1f\x7f-\x9f]"  # a question needs one character that is neither space nor control


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
    kind: str | None = Field(
        default=None, description="guide (our plain-language guides) or the official material's own kind: statute, "
        "consolidated-statute, case-law, press-release, document",
    )


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


class Turn(BaseModel):
    """An earlier turn of the conversation, as the client keeps it (the server keeps nothing)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=1000, description="What was asked.")
    answer: str | None = Field(default=None, max_length=4000, description="What was answered (may be left out).")
    card_id: str | None = Field(default=None, max_length=100, description="The curated answer given, if any.")
    document_ids: list[Annotated[str, StringConstraints(max_length=300)]] = Field(
        default_factory=list, max_length=20, description="Documents the answer cited."
    )


class AskRequest(BaseModel):
    """A question."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "Kuka päättää harkinta-ajan antamisesta?", "language": None, "audience": "public"},
                {"question": "Vem är nationell rapportör om människohandel?", "language": "sv", "audience": "staff"},
            ]
        },
    )

    question: str = Field(
        min_length=1,
        max_length=1000,
        description="The question, 1 to 1000 characters, with at least one that is neither a space nor a control "
        "character (control characters are dropped).",
        # Documented in the schema; enforced by the validator below, whose message says what is wrong.
        json_schema_extra={"pattern": _HAS_TEXT},
    )
    language: Literal["fi", "sv", "en"] | None = Field(default=None, description="Answer language; null: detect.")
    audience: Literal["public", "staff"] | None = Field(default=None, description="Who asks; null: public.")
    history: list[Turn] = Field(
        default_factory=list,
        max_length=6,
        description="Up to 6 earlier turns, oldest first, held by the client only: never logged or stored.",
    )
    ui_language: Literal["fi", "sv", "en"] | None = Field(
        default=None, description="The language of the asker's interface, for a question too short to tell."
    )
    card_id: str | None = Field(
        default=None, max_length=100, description="A suggested question the asker picked (its curated answer's id)."
    )

    @field_validator("question")
    @classmethod
    def _printable(cls, value: str) -> str:
        """Control characters are dropped (line breaks become spaces); nothing left is an error."""
        cleaned = _CONTROL.sub("", value.replace("\n", " ").replace("\t", " ")).strip()
        if not cleaned:
            raise ValueError("the question has no text besides control characters or spaces")
        return cleaned


class ParallelOut(BaseModel):
    """The same guide passage in the answer's language."""

    passage_id: str
    language: str
    text: str


class CitationOut(BaseModel):
    """The exact passage span that supports one answer sentence: ``text[start:end] == quote``."""

    n: int
    passage_id: str
    document_id: str
    title: str
    section: str | None
    language: str
    url: str | None
    source: str
    quote: str
    start: int
    end: int
    text: str
    parallel: ParallelOut | None = None


class HelpContactOut(BaseModel):
    """One help contact."""

    id: str
    name: str
    text: str
    phone: str | None
    tel: str | None
    email: str | None
    web: str | None
    hours: str | None


class HelpBlockOut(BaseModel):
    """Emergency and helpline contacts, written by code from corpus/contacts.toml."""

    language: str = Field(description="The language the help is written in: the message's own wherever we write it.")
    title: str
    text: str
    contacts: list[HelpContactOut]
    direction: Literal["ltr", "rtl"] = Field(default="ltr", description="Writing direction of the help's language.")


class SuggestionOut(BaseModel):
    """A question to ask next, answered by a curated answer."""

    card_id: str
    question: str


class AskResponse(BaseModel):
    """An extractive answer with citations, or an abstention; the help block when someone may be in danger."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "answer": "Poliisi tai rajatarkastusviranomainen päättää harkinta-ajan antamisesta. [1]",
                    "language": "fi",
                    "abstained": False,
                    "urgent": False,
                    "help": None,
                    "citations": [
                        {
                            "n": 1,
                            "passage_id": "4f3c…",
                            "document_id": "reflection-period-fi",
                            "title": "Harkinta-aika ja oleskeluluvat",
                            "section": "Kuka päättää harkinta-ajasta",
                            "language": "fi",
                            "url": None,
                            "source": "fi/reflection-period.md",
                            "quote": "Poliisi tai rajatarkastusviranomainen päättää harkinta-ajan antamisesta.",
                            "start": 0,
                            "end": 72,
                            "text": "Poliisi tai rajatarkastusviranomainen päättää harkinta-ajan antamisesta. …",
                            "parallel": None,
                        }
                    ],
                    "passages": [],
                    "notice": (
                        "Tämä on automaattinen vastaus virallisesta aineistosta. Se ei ole oikeudellista neuvontaa."
                    ),
                    "audience": "public",
                }
            ]
        }
    )

    answer: str
    language: str
    abstained: bool
    urgent: bool
    help: HelpBlockOut | None
    citations: list[CitationOut]
    passages: list[PassageOut]
    notice: str = Field(description="Automated answer from official material, not legal advice.")
    audience: str
    answer_kind: Literal["card", "extract", "smalltalk", "help", "abstain"]
    card_id: str | None = None
    follow_ups: list[SuggestionOut] = Field(default_factory=list, max_length=4)
    did_you_mean: list[SuggestionOut] = Field(default_factory=list, max_length=3)
    urgency: Literal["now", "exploitation"] | None = None
    indicators: list[str] = Field(default_factory=list, description="Names of the signs found, never any text.")


class SuggestionsResponse(BaseModel):
    """Questions to start a conversation with."""

    suggestions: list[SuggestionOut]


class FeedbackRequest(BaseModel):
    """A rating of one answer: the ids of the passages it cited and up or down. Never the question or answer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"passage_ids": ["4f3c9a0e1b2d"], "rating": "up"}]},
    )

    passage_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        max_length=20, description="Ids of the passages the answer cited (0 to 20, each at most 64 characters)."
    )
    rating: Literal["up", "down"] = Field(description="Whether the answer helped.")


class FeedbackResponse(BaseModel):
    """The rating was stored."""

    stored: bool
