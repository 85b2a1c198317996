"""The shapes Majakka returns: data only (see ../shared/CONTRACT.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haystack import Document  # only annotated here: the loaders import this module without Haystack


# The languages Majakka writes and answers in (material in others is indexed, answers come in these).
LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")


@dataclass(frozen=True)
class Passage:
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
    kind: str | None = None
    group: str | None = None
    audience: str | None = None
    section_key: str | None = None
    start: int | None = None
    end: int | None = None

    @classmethod
    def from_document(cls, document: Document, score: float | None = None) -> Passage:
        """Build from a stored Haystack document."""
        meta = document.meta
        return cls(
            passage_id=document.id,
            document_id=str(meta.get("document_id", "")),
            title=str(meta.get("title", "")),
            section=meta.get("section"),
            language=str(meta.get("language", "")),
            url=meta.get("url"),
            source=str(meta.get("source", "")),
            text=document.content or "",
            score=float(score if score is not None else document.score or 0.0),
            kind=meta.get("kind"),
            group=meta.get("group"),
            audience=meta.get("audience"),
            section_key=meta.get("section_key"),
            start=meta.get("start"),
            end=meta.get("end"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ParallelPassage:
    """The same guide passage in another language."""

    passage_id: str
    language: str
    text: str


@dataclass(frozen=True)
class Citation:
    """The passage span that supports one answer sentence."""

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
    parallel: ParallelPassage | None = None


@dataclass(frozen=True)
class HelpContact:
    """One contact of the help block."""

    id: str
    name: str
    text: str
    phone: str | None
    tel: str | None
    email: str | None
    web: str | None
    hours: str | None


@dataclass(frozen=True)
class HelpBlock:
    """Emergency and helpline contacts, written by code from corpus/contacts.toml."""

    language: str
    title: str
    text: str
    contacts: list[HelpContact]
    direction: str = "ltr"  # "rtl" for Arabic and Farsi


@dataclass(frozen=True)
class Suggestion:
    """A question the asker may pick next: a curated answer's id and its question in the answer's language."""

    card_id: str
    question: str


@dataclass(frozen=True)
class Answer:
    """A complete answer (``answer_kind``: card, extract, smalltalk, help or abstain)."""

    answer: str
    language: str
    abstained: bool
    urgent: bool
    help: HelpBlock | None
    citations: list[Citation]
    passages: list[Passage]
    notice: str = ""
    audience: str = "public"
    answer_kind: str = "extract"
    card_id: str | None = None
    follow_ups: list[Suggestion] = field(default_factory=list)
    did_you_mean: list[Suggestion] = field(default_factory=list)
    urgency: str | None = None
    indicators: list[str] = field(default_factory=list)
    flags: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)
