"""What a loader returns: one document's text with its structure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Section:
    """A titled part of a document: a statute section (§), a guide heading, a chapter.

    Attributes:
        title: shown to people, e.g. "52 b § Betänketid för offer för människohandel"; None for untitled text.
        key: a stable anchor, e.g. "52b" or "who-decides"; None when there is none.
        start: offset of the section's first character in ``LoadedDocument.text``.
        end: offset one past its last character.
    """

    title: str | None
    key: str | None
    start: int
    end: int


@dataclass(frozen=True)
class LoadedDocument:
    r"""One source file as plain text, with its sections and metadata.

    Paragraphs inside ``text`` are separated by a blank line ("\n\n"); sections cover ``text`` in order and
    do not overlap (text outside every section is allowed, e.g. a preamble).
    """

    document_id: str
    title: str
    language: str | None
    url: str | None
    source: str
    text: str
    sections: list[Section] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
